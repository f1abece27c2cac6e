/**
 * The plan of `maestro apply`: which request registers each manifest document, and in which order
 * — workflows first (a sub-workflow before the workflows that use it), then runbooks (they name a
 * workflow), then schedules and triggers (they name a workflow or a runbook). Pure: the command
 * reads the files and sends the requests.
 */
import semver from 'semver';
import { ManifestError, type ManifestIssue } from '../errors/index.js';
import { isRecord } from '../ir/index.js';
import { DEFAULT_NAMESPACE, parseSubWorkflowUses, subWorkflowUses, type ManifestDocument } from '../manifest/index.js';

/** A validated manifest document (its text is sent as is) and the file it came from. */
export interface ApplyDocument extends ManifestDocument {
  file: string;
}

/** The request that registers one kind: create-or-compare (`POST`) or create-or-replace (`PUT`). */
export interface KindRoute {
  /** Position in the apply order: lower stages are applied first. */
  stage: number;
  method: 'POST' | 'PUT';
  /** The path of a document's request. */
  path(namespace: string, name: string): string;
  /** The `spec` fields that name a document of another kind as `name[@version]` (its namespace's). */
  references: readonly { field: string; kind: string }[];
}

/**
 * How each kind is applied. `POST /workflows` and `POST /runbooks` answer 201 (created), 200
 * (identical) or 409 (the same version with another content); the `PUT`s answer an `outcome`.
 */
export const KIND_ROUTES: Readonly<Record<string, KindRoute>> = {
  Workflow: { stage: 0, method: 'POST', path: () => '/workflows', references: [] },
  Runbook: { stage: 1, method: 'POST', path: () => '/runbooks', references: [{ field: 'workflowRef', kind: 'Workflow' }] },
  Schedule: {
    stage: 2,
    method: 'PUT',
    path: (namespace, name) => `/schedules/${encodeURIComponent(name)}?namespace=${encodeURIComponent(namespace)}`,
    references: [
      { field: 'workflowRef', kind: 'Workflow' },
      { field: 'runbook', kind: 'Runbook' },
    ],
  },
  Trigger: {
    stage: 2,
    method: 'PUT',
    path: (namespace, name) => `/triggers/${encodeURIComponent(name)}?namespace=${encodeURIComponent(namespace)}`,
    references: [{ field: 'runbook', kind: 'Runbook' }],
  },
};

/** A document another one needs: a kind, a name, and a version or semver range (absent: any version). */
interface Reference {
  kind: string;
  name: string;
  range?: string;
}

/** What a document names in its `spec`: sub-workflows, and the `name[@version]` fields of its kind. */
function referencesOf(manifest: ApplyDocument['manifest'], route: KindRoute): Reference[] {
  const spec = (manifest as { spec?: unknown }).spec;
  if (!isRecord(spec)) return [];
  const references: Reference[] = [];
  if (manifest.kind === 'Workflow') {
    for (const uses of subWorkflowUses(manifest.spec.tasks)) {
      const reference = parseSubWorkflowUses(uses);
      if (reference) references.push({ kind: 'Workflow', ...reference });
    }
  }
  for (const { field, kind } of route.references) {
    const value = spec[field];
    if (typeof value !== 'string') continue;
    const [name = '', version] = value.split('@');
    references.push({ kind, name, ...(version === undefined ? {} : { range: version }) });
  }
  return references;
}

/** One document in the plan, with the request that applies it. */
export interface ApplyItem extends ApplyDocument {
  kind: string;
  namespace: string;
  name: string;
  /** `metadata.version`, for the kinds that have one. */
  version?: string;
  method: 'POST' | 'PUT';
  path: string;
  /** Indexes (in the plan) of the documents of the set this one names: sub-workflows, a runbook's workflow, ... */
  needs: number[];
}

/** `Kind namespace/name[@version]`, as `maestro apply` reports a document. */
export function itemLabel(item: Pick<ApplyItem, 'kind' | 'namespace' | 'name' | 'version'>): string {
  return `${item.kind} ${item.namespace}/${item.name}${item.version === undefined ? '' : `@${item.version}`}`;
}

function issueAt(document: ApplyDocument, path: string, message: string): ManifestIssue {
  return { file: document.file, line: document.line, column: 1, path, message };
}

/**
 * Orders the documents to apply: by kind's stage, each after the documents of the set it names
 * (a workflow's `uses: workflow/<name>@<range>`, a runbook's `workflowRef`, a schedule's or
 * trigger's `workflowRef` / `runbook`; matched by namespace, name and version or range), otherwise
 * in the order given.
 *
 * @throws ManifestError, before anything is applied, for a kind `maestro apply` has no request
 *   for, a document defined twice, or a cycle of sub-workflows.
 */
export function planApply(documents: readonly ApplyDocument[]): ApplyItem[] {
  const issues: ManifestIssue[] = [];
  const items: { item: Omit<ApplyItem, 'needs'>; stage: number; references: Reference[] }[] = [];
  const seen = new Map<string, ApplyDocument>();
  for (const document of documents) {
    const { kind, metadata } = document.manifest as { kind: string; metadata: { name: string; namespace?: string; version?: string } };
    const route = KIND_ROUTES[kind];
    if (!route) {
      issues.push(issueAt(document, 'kind', `maestro apply cannot apply a ${kind}: it applies ${Object.keys(KIND_ROUTES).join(', ')}`));
      continue;
    }
    const namespace = metadata.namespace ?? DEFAULT_NAMESPACE;
    const key = itemLabel({ kind, namespace, name: metadata.name, version: metadata.version });
    const first = seen.get(key);
    if (first) {
      issues.push(issueAt(document, 'metadata.name', `${key} is also defined at ${first.file}:${first.line}`));
      continue;
    }
    seen.set(key, document);
    items.push({
      item: {
        ...document,
        kind,
        namespace,
        name: metadata.name,
        ...(metadata.version === undefined ? {} : { version: metadata.version }),
        method: route.method,
        path: route.path(namespace, metadata.name),
      },
      stage: route.stage,
      references: referencesOf(document.manifest, route),
    });
  }
  if (issues.length > 0) throw new ManifestError(issues);

  // Stable by stage, then a depth-first walk that puts each document after those it names.
  const byStage = items.map((entry, index) => ({ ...entry, index })).sort((a, b) => a.stage - b.stage || a.index - b.index);
  const dependencies = byStage.map((entry) => named(entry.item.namespace, entry.references, byStage.map(({ item }) => item)));
  const order: number[] = [];
  const state = new Map<number, 'visiting' | 'done'>();
  const visit = (at: number, trail: number[]): void => {
    if (state.get(at) === 'done') return;
    if (state.get(at) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(at)), at].map((i) => `${byStage[i]?.item.name}@${byStage[i]?.item.version}`);
      const start = byStage[at]?.item as ApplyDocument;
      issues.push(issueAt(start, 'spec.tasks', `sub-workflow cycle: ${cycle.join(' → ')}; a workflow may not run itself through sub-workflows`));
      return;
    }
    state.set(at, 'visiting');
    for (const next of dependencies[at] ?? []) visit(next, [...trail, at]);
    state.set(at, 'done');
    order.push(at);
  };
  byStage.forEach((_, at) => visit(at, []));
  if (issues.length > 0) throw new ManifestError(issues);

  const position = new Map(order.map((at, planIndex) => [at, planIndex]));
  return order.map((at) => {
    const { item } = byStage[at] as (typeof byStage)[number];
    return { ...item, needs: (dependencies[at] ?? []).map((dependency) => position.get(dependency) as number) };
  });
}

/** Indexes in `all` of the documents of `namespace` that `references` match (by kind, name and version or range). */
function named(namespace: string, references: readonly Reference[], all: readonly { kind: string; namespace: string; name: string; version?: string }[]): number[] {
  const found = new Set<number>();
  for (const reference of references) {
    all.forEach((candidate, index) => {
      if (candidate.kind !== reference.kind || candidate.namespace !== namespace || candidate.name !== reference.name) return;
      if (reference.range === undefined || (candidate.version !== undefined && semver.satisfies(candidate.version, reference.range))) found.add(index);
    });
  }
  return [...found];
}
