/**
 * Sub-workflow tasks (`uses: workflow/<name>@<version-or-range>`): what a task's reference resolved
 * to in the registry, and the checks of a task against it — its `with` against the child's declared
 * parameters, recursion, and the size of what the parent embeds. Resolution itself (the registry
 * read) happens where workflows are registered; these checks are pure.
 */
import { isRecord, type SubWorkflowRef, type WorkflowIR } from '../ir/index.js';
import type { Reporter } from './issues.js';
import type { Path } from './path.js';
import { didYouMean } from './suggest.js';
import type { TaskManifest } from './types.js';
import { enumProblem, valueProblem } from './values.js';

/** The group of `uses` naming a registered workflow instead of a catalog task. */
export const SUB_WORKFLOW_GROUP = 'workflow/';

/** `workflow/<name>@<version-or-range>`. */
const SUB_WORKFLOW_USES = /^workflow\/([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)@(\S+)$/;

/**
 * Most bytes (JSON) the sub-workflow IRs embedded in one workflow take together: the parent's IR is
 * its runs' start input, and Temporal refuses a payload over 2 MiB.
 */
export const MAX_EMBEDDED_IR_BYTES = 1024 * 1024;

/** Whether a task's `uses` names a registered workflow. */
export function isSubWorkflowUses(uses: string): boolean {
  return uses.startsWith(SUB_WORKFLOW_GROUP);
}

/** The name and the version or range of a `workflow/<name>@<range>` reference; undefined when malformed. */
export function parseSubWorkflowUses(uses: string): { name: string; range: string } | undefined {
  const match = SUB_WORKFLOW_USES.exec(uses);
  return match ? { name: match[1] as string, range: match[3] as string } : undefined;
}

/** What one `uses: workflow/…` resolved to in the parent's namespace, or why it did not. */
export type SubWorkflowResolution = { ok: true; ref: SubWorkflowRef; ir: WorkflowIR } | { ok: false; message: string };

/** Resolutions by `uses` text, looked up in the registry before the manifest is checked. */
export type SubWorkflows = ReadonlyMap<string, SubWorkflowResolution>;

/** Every distinct `workflow/…` reference of a manifest's tasks (read leniently from the raw document). */
export function subWorkflowUses(tasks: unknown): string[] {
  if (!Array.isArray(tasks)) return [];
  const uses = tasks.flatMap((task: unknown) => (isRecord(task) && typeof task.uses === 'string' && isSubWorkflowUses(task.uses) ? [task.uses] : []));
  return [...new Set(uses)];
}

/**
 * Checks a sub-workflow task against what its reference resolved to: the reference exists in the
 * parent's namespace, does not lead back to the parent (by name, through any depth of embedded
 * sub-workflows), and its `with` fits the child's parameters — no unknown name, every required one
 * given (or defaulted), and each value written out of the declared type and in its `enum`
 * (`${...}` values are checked once evaluated, when the child starts).
 *
 * @param parent the name of the workflow being checked.
 */
export function checkSubWorkflowTask(task: TaskManifest, path: Path, parent: string, resolution: SubWorkflowResolution, reporter: Reporter): void {
  const usesPath = [...path, 'uses'];
  if (!resolution.ok) {
    reporter.report(usesPath, resolution.message);
    return;
  }
  const cycle = pathTo(parent, resolution.ir);
  if (cycle) {
    reporter.report(usesPath, `recursion: ${[parent, ...cycle].join(' → ')}: a workflow may not run itself through sub-workflows`, undefined, 'SUBWORKFLOW_RECURSION');
    return;
  }
  const { name, version } = resolution.ref;
  const declared = new Map(resolution.ir.parameters.map((p) => [p.name, p]));
  const given = task.with ?? {};
  for (const [key, value] of Object.entries(given)) {
    const spec = declared.get(key);
    if (!spec) {
      reporter.report([...path, 'with', key], `workflow ${name}@${version} has no parameter "${key}"${didYouMean(key, declared.keys())}`);
      continue;
    }
    if (typeof value === 'string' && value.includes('${')) continue;
    const problem = valueProblem(spec.type, value) ?? (spec.enum ? enumProblem(spec.enum, value) : undefined);
    if (problem) reporter.report([...path, 'with', key], `parameter "${key}" of ${name}@${version} ${problem}`);
  }
  const missing = [...declared.values()].filter((p) => p.required && p.default === undefined && !Object.hasOwn(given, p.name)).map((p) => p.name);
  if (missing.length > 0) {
    reporter.report(task.with === undefined ? usesPath : [...path, 'with'], `workflow ${name}@${version} requires ${missing.map((m) => `"${m}"`).join(', ')} in "with"`);
  }
}

/**
 * The names from `ir` down to a workflow named `target` through embedded sub-workflows, or
 * undefined when none leads there.
 */
function pathTo(target: string, ir: WorkflowIR): string[] | undefined {
  if (ir.name === target) return [ir.name];
  for (const child of Object.values(ir.workflows ?? {})) {
    const rest = pathTo(target, child);
    if (rest) return [ir.name, ...rest];
  }
  return undefined;
}

/**
 * Reports the first sub-workflow task past which the embedded IRs (each distinct one once) would
 * take more than {@link MAX_EMBEDDED_IR_BYTES}.
 */
export function checkEmbeddedSize(tasks: readonly { task: TaskManifest; path: Path }[], workflows: SubWorkflows, reporter: Reporter): void {
  const seen = new Set<string>();
  let bytes = 0;
  for (const { task, path } of tasks) {
    const resolution = workflows.get(task.uses);
    if (!resolution?.ok || seen.has(resolution.ref.digest)) continue;
    seen.add(resolution.ref.digest);
    bytes += JSON.stringify(resolution.ir).length;
    if (bytes > MAX_EMBEDDED_IR_BYTES) {
      reporter.report([...path, 'uses'], `the sub-workflows embedded so far take ${bytes} bytes, more than the limit of ${MAX_EMBEDDED_IR_BYTES}`, undefined, 'PAYLOAD_TOO_LARGE');
      return;
    }
  }
}
