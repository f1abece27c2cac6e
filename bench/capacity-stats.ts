/**
 * Pure helpers of the capacity benchmark (bench/capacity.ts): a process's CPU time from
 * `/proc/<pid>/stat`, CPU per run net of a process's idle cost, the rate stepping's choice, and
 * where a V8 CPU profile (`node --cpu-prof`) spent its time within given windows.
 */

/**
 * Seconds of CPU a process has used, all its threads: `utime + stime` of a `/proc/<pid>/stat`
 * line, in `clockTicks` per second. The command name (field 2) is in parentheses and may hold
 * spaces and parentheses: the fields are counted after its last `)`.
 */
export function procStatCpuSeconds(stat: string, clockTicks: number): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of the line (utime, stime) are the 12th and 13th after the name.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/**
 * CPU milliseconds per run of a process over a measured window: the CPU it used (`cpuSeconds`)
 * minus what it uses idle over as long (`idleCores` × `windowSeconds`: pollers, timers, GC — a
 * cost per second, not per run), over the runs started. NaN without runs.
 */
export function cpuMsPerRun(cpuSeconds: number, idleCores: number, windowSeconds: number, runs: number): number {
  if (runs <= 0) return Number.NaN;
  return (1000 * Math.max(0, cpuSeconds - idleCores * windowSeconds)) / runs;
}

/** One step of the rate stepping: the offered rate and the raw start's p95 there. */
export interface RateStep {
  rate: number;
  startP95: number;
}

/**
 * Whether the stepping goes on after `steps`: while the last step's start p95 stayed under
 * `limitMs` and a higher rate is left to try.
 */
export function keepStepping(steps: readonly RateStep[], limitMs: number, rates: readonly number[]): boolean {
  const last = steps.at(-1);
  return last === undefined || (last.startP95 < limitMs && steps.length < rates.length);
}

/**
 * The highest rate of the stepping at which the raw start's p95 stayed under `limitMs`, every lower
 * step under it too; undefined when even the first step was at or over it.
 */
export function highestRateUnder(steps: readonly RateStep[], limitMs: number): number | undefined {
  let chosen: number | undefined;
  for (const step of steps) {
    if (!(step.startP95 < limitMs)) break;
    chosen = step.rate;
  }
  return chosen;
}

/** The part of a V8 `.cpuprofile` the summary reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  /** Microseconds, on the machine's monotonic clock (what `process.hrtime` reads). */
  startTime: number;
  endTime: number;
  samples: number[];
  /** Microseconds since the sample before (the first: since `startTime`). */
  timeDeltas: number[];
}

/** A window of a profile to count, in microseconds of the monotonic clock. */
export interface Window {
  from: number;
  to: number;
}

/** Where a profile's time went: milliseconds of self time by function and by area, largest first. */
export interface ProfileSummary {
  /** Milliseconds sampled in the windows, idle excluded. */
  totalMs: number;
  functions: { name: string; ms: number; share: number }[];
  areas: { name: string; ms: number; share: number }[];
}

/**
 * The area code belongs to: an npm package (`@scope/name` or `name`), a folder of this repository
 * (`src/api`, `interpreters`), Node's own code (`node:internal`), or V8's entries (`(garbage
 * collector)`, `(program)`).
 */
export function profileArea(url: string, functionName: string, repo: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first = '', second = ''] = url.slice(modules + '/node_modules/'.length).split('/');
    return first.startsWith('@') ? `${first}/${second}` : first;
  }
  if (url.startsWith('node:')) return 'node:internal';
  const path = url.replace(/^file:\/\//, '');
  if (path.startsWith(repo)) {
    const parts = path.slice(repo.length).replace(/^\//, '').split('/');
    return parts.length > 2 ? `${parts[0]}/${parts[1]}` : (parts[0] ?? path);
  }
  return path;
}

/** A code location without the repository's or node_modules' prefix. */
function shortLocation(url: string, repo: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const path = url.replace(/^file:\/\//, '');
  return path.startsWith(repo) ? path.slice(repo.length).replace(/^\//, '') : path;
}

/**
 * Self time of `profiles` (one per thread of a process: its main thread, the workers') inside
 * `windows` (all of it when none is given), by function and by {@link profileArea}, the `top`
 * largest of each. `(idle)` is left out: it is waiting, not work.
 */
export function summarizeCpuProfile(profiles: readonly CpuProfile[], repo: string, windows: readonly Window[] = [], top = 15): ProfileSummary {
  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  let totalUs = 0;
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
    let at = profile.startTime;
    profile.samples.forEach((id, i) => {
      const delta = profile.timeDeltas[i] ?? 0;
      at += delta;
      if (windows.length > 0 && !windows.some((w) => at >= w.from && at <= w.to)) return;
      const frame = byId.get(id);
      if (!frame || frame.functionName === '(idle)') return;
      const area = profileArea(frame.url, frame.functionName, repo);
      const name = frame.url === '' ? area : `${frame.functionName || '(anonymous)'} ${shortLocation(frame.url, repo)}:${frame.lineNumber + 1}`;
      functions.set(name, (functions.get(name) ?? 0) + delta);
      areas.set(area, (areas.get(area) ?? 0) + delta);
      totalUs += delta;
    });
  }
  const ranked = (totals: Map<string, number>) =>
    [...totals]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: totalUs > 0 ? us / totalUs : 0 }));
  return { totalMs: totalUs / 1000, functions: ranked(functions), areas: ranked(areas) };
}
