/**
 * The task graph: ids and `needs` as written, checked for duplicate ids, unknown and self needs,
 * and cycles. Read leniently from the raw document, so that these checks run even when other
 * parts of the manifest are invalid.
 */
import { isRecord } from '../ir/index.js';
import type { Reporter } from './issues.js';
import type { Path } from './path.js';
import { didYouMean } from './suggest.js';

/** One task as the graph sees it, with its position in `spec.tasks` and in its `needs`. */
export interface GraphTask {
  id: string;
  index: number;
  needs: { id: string; index: number }[];
}

/** The checked graph, for questions expressions ask. */
export interface TaskGraph {
  /** Every task id declared. */
  ids: ReadonlySet<string>;
  /** True when `candidate` is a transitive dependency (a needs-ancestor) of `task`. */
  isUpstream(task: string, candidate: string): boolean;
}

/** Reads ids and needs from `spec.tasks` as written; entries without a string id are skipped. */
export function readGraph(tasks: unknown): GraphTask[] {
  if (!Array.isArray(tasks)) return [];
  const graph: GraphTask[] = [];
  tasks.forEach((task: unknown, index) => {
    if (!isRecord(task) || typeof task.id !== 'string') return;
    const needs = Array.isArray(task.needs) ? task.needs : [];
    graph.push({
      id: task.id,
      index,
      needs: needs.flatMap((need: unknown, i) => (typeof need === 'string' ? [{ id: need, index: i }] : [])),
    });
  });
  return graph;
}

/**
 * Reports duplicate ids (at the later one), needs naming unknown tasks or the task itself, and
 * each dependency cycle once, printed `a → b → c → a` (each task needs the next) and located at
 * the needs entry of the cycle's first-declared task.
 */
export function checkGraph(tasks: readonly GraphTask[], base: Path, reporter: Reporter): TaskGraph {
  const byId = new Map<string, GraphTask>();
  for (const task of tasks) {
    const first = byId.get(task.id);
    if (first) {
      const line = reporter.source.at([...base, first.index, 'id']).line;
      reporter.report([...base, task.index, 'id'], `duplicate task id "${task.id}" (first declared at line ${line})`);
    } else byId.set(task.id, task);
  }
  const ids = new Set(byId.keys());
  for (const task of tasks) {
    for (const need of task.needs) {
      const path = [...base, task.index, 'needs', need.index];
      if (need.id === task.id) reporter.report(path, `task "${task.id}" needs itself`);
      else if (!ids.has(need.id)) reporter.report(path, `task "${task.id}" needs unknown task "${need.id}"${didYouMean(need.id, ids)}`);
    }
  }
  for (const cycle of findCycles(tasks, byId)) {
    const [first, second] = cycle;
    const need = first?.needs.find((candidate) => candidate.id === second?.id);
    if (!first || !need) continue;
    const ring = [...cycle, first].map((task) => task.id).join(' → ');
    reporter.report([...base, first.index, 'needs', need.index], `dependency cycle: ${ring} (each task needs the next)`);
  }

  const ancestors = new Map<string, Set<string>>();
  return {
    ids,
    isUpstream(task, candidate) {
      let upstream = ancestors.get(task);
      if (!upstream) {
        upstream = collectUpstream(task, byId);
        ancestors.set(task, upstream);
      }
      return upstream.has(candidate);
    },
  };
}

function collectUpstream(task: string, byId: ReadonlyMap<string, GraphTask>): Set<string> {
  const upstream = new Set<string>();
  const pending = [task];
  for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
    for (const need of byId.get(id)?.needs ?? []) {
      if (!upstream.has(need.id)) {
        upstream.add(need.id);
        pending.push(need.id);
      }
    }
  }
  return upstream;
}

/**
 * Every distinct cycle a depth-first walk of the needs finds, each rotated to start at its
 * first-declared task. Self-needs are reported on their own and left out.
 */
function findCycles(tasks: readonly GraphTask[], byId: ReadonlyMap<string, GraphTask>): GraphTask[][] {
  const state = new Map<string, 'active' | 'done'>();
  const stack: GraphTask[] = [];
  const cycles = new Map<string, GraphTask[]>();
  const visit = (task: GraphTask): void => {
    state.set(task.id, 'active');
    stack.push(task);
    for (const need of task.needs) {
      const next = byId.get(need.id);
      if (!next || next === task) continue;
      if (state.get(next.id) === 'active') {
        const cycle = stack.slice(stack.indexOf(next));
        const start = cycle.reduce((best, candidate, i) => ((cycle[best]?.index ?? 0) <= candidate.index ? best : i), 0);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        cycles.set(rotated.map((t) => t.id).join('\u0000'), rotated);
      } else if (!state.has(next.id)) visit(next);
    }
    stack.pop();
    state.set(task.id, 'done');
  };
  for (const task of byId.values()) if (!state.has(task.id)) visit(task);
  return [...cycles.values()];
}
