import semver from 'semver';
import { EgressPolicy } from '../egress/index.js';
import type { TaskDefinition } from '../sdk/index.js';

/** The result of resolving a `uses` reference. */
export type ResolveResult = { ok: true; definition: TaskDefinition } | { ok: false; message: string };

/** `group/name@<semver or range>`: the form of a task reference in `uses`. */
export const USES_PATTERN = /^([a-z][a-z0-9-]*\/[a-z][a-z0-9.-]*)@(.+)$/;

/**
 * Task definitions by name and version. `resolve` picks the highest version satisfying the
 * reference's semver range.
 */
export class Catalog {
  private readonly byName = new Map<string, TaskDefinition[]>();

  /**
   * @param definitions the tasks.
   * @param modules module file of each task defined outside Maestro's `src/tasks`, by task
   * name (your own task modules), for code digests; see {@link Catalog.modules}. @default {}
   */
  constructor(
    definitions: Iterable<TaskDefinition>,
    /** Module file of each task defined outside Maestro's `src/tasks`, by task name. */
    readonly modules: Readonly<Record<string, string>> = {},
    /** Which addresses the tasks may connect to, by namespace (each attempt's `ctx.egress`). @default public addresses only */
    readonly egress: EgressPolicy = new EgressPolicy(),
  ) {
    for (const definition of definitions) {
      const versions = this.byName.get(definition.name) ?? [];
      versions.push(definition);
      versions.sort((a, b) => semver.rcompare(a.version, b.version));
      this.byName.set(definition.name, versions);
    }
  }

  /** Resolves `uses` (e.g. `tasks/http.request@^0.1.0`) to a definition, or says why it cannot. */
  resolve(uses: string): ResolveResult {
    const match = USES_PATTERN.exec(uses);
    if (!match) return { ok: false, message: `"${uses}" is not a task reference of the form group/name@version` };
    const [, name, range] = match as unknown as [string, string, string];
    if (!semver.validRange(range)) return { ok: false, message: `"${range}" is not a semver version or range` };
    const versions = this.byName.get(name);
    if (!versions) {
      return { ok: false, message: `unknown task "${name}"; known tasks: ${[...this.byName.keys()].sort().join(', ')}` };
    }
    const definition = versions.find((candidate) => semver.satisfies(candidate.version, range));
    if (!definition) {
      return {
        ok: false,
        message: `no version of "${name}" satisfies ${range}; available: ${versions.map((v) => v.version).join(', ')}`,
      };
    }
    return { ok: true, definition };
  }

  /**
   * This catalog with `definitions` added: a namespace's view, with the tasks its external workers
   * registered (`POST /tasks`). Same modules and egress policy.
   */
  with(definitions: Iterable<TaskDefinition>): Catalog {
    return new Catalog([...this.list(), ...definitions], this.modules, this.egress);
  }

  /** Every definition, sorted by name then version (newest first). */
  list(): TaskDefinition[] {
    return [...this.byName.keys()].sort().flatMap((name) => this.byName.get(name) ?? []);
  }
}
