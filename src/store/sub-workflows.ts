/**
 * Resolving `uses: workflow/<name>@<version-or-range>` references in the registry: inside one
 * namespace only (another namespace's workflows are never considered, nor named in a message),
 * the highest registered version satisfying the range, with its IR.
 */
import semver from 'semver';
import { parseSubWorkflowUses, type SubWorkflowResolution, type SubWorkflows } from '../manifest/index.js';
import type { Store } from './types.js';

/**
 * Resolves each reference in `namespace`; a reference that resolves nowhere maps to the reason.
 *
 * @example
 * const workflows = await resolveSubWorkflows(store, 'ops', ['workflow/rollback@^1']);
 * parseManifest(text, file, { catalog, workflows });
 */
export async function resolveSubWorkflows(store: Store, namespace: string, uses: readonly string[]): Promise<SubWorkflows> {
  const resolved = new Map<string, SubWorkflowResolution>();
  if (uses.length === 0) return resolved;
  const records = await store.listWorkflows([namespace]);
  for (const text of uses) resolved.set(text, await resolveOne(store, namespace, text, records));
  return resolved;
}

async function resolveOne(store: Store, namespace: string, uses: string, records: Awaited<ReturnType<Store['listWorkflows']>>): Promise<SubWorkflowResolution> {
  const reference = parseSubWorkflowUses(uses);
  if (!reference) return { ok: false, message: `"${uses}" is not a workflow reference of the form workflow/<name>@<version-or-range>` };
  const { name, range } = reference;
  if (!semver.validRange(range)) return { ok: false, message: `"${range}" is not a semver version or range` };
  const versions = records.filter((record) => record.name === name).map((record) => record.version);
  if (versions.length === 0) return { ok: false, message: `no workflow "${name}" is registered in namespace ${namespace}` };
  const version = semver.maxSatisfying(versions, range);
  if (version === null) return { ok: false, message: `no version of workflow "${name}" in namespace ${namespace} satisfies ${range}; registered: ${versions.join(', ')}` };
  const entry = await store.getWorkflow(namespace, name, version);
  if (!entry) return { ok: false, message: `workflow ${name}@${version} is not registered in namespace ${namespace}` };
  return { ok: true, ref: { namespace, name, version, digest: entry.digest }, ir: entry.ir };
}
