import { describe, expect, it } from 'vitest';
import { cpuMsPerRun, highestRateUnder, keepStepping, procStatCpuSeconds, profileArea, summarizeCpuProfile, type CpuProfile } from '../bench/capacity-stats.js';

describe('procStatCpuSeconds (a process’s CPU from /proc/<pid>/stat)', () => {
  it('adds utime and stime, counting fields after the command name even when it holds spaces and parentheses', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
    const stat = '4242 (node (tsx) worker) S 1 4242 4242 0 -1 4194304 900 0 3 0 250 50 0 0 20 0 11 0 100 0 0';
    expect(procStatCpuSeconds(stat, 100)).toBe(3);
    expect(procStatCpuSeconds('7 (temporal) R 1 7 7 0 -1 0 0 0 0 0 1000 24 0', 1000)).toBeCloseTo(1.024, 6);
  });
});

describe('cpuMsPerRun (CPU per run net of what a process burns idle)', () => {
  it('takes the idle cost over the window off before dividing by the runs', () => {
    // 2 CPU-seconds over a 10 s window, idling at 0.05 cores: 1.5 s of work for 300 runs.
    expect(cpuMsPerRun(2, 0.05, 10, 300)).toBeCloseTo(5, 9);
  });

  it('never goes below zero, and is NaN without runs', () => {
    expect(cpuMsPerRun(0.1, 0.05, 10, 100)).toBe(0);
    expect(Number.isNaN(cpuMsPerRun(1, 0, 10, 0))).toBe(true);
  });
});

describe('rate stepping (the highest rate raw Temporal starts within the p95 limit)', () => {
  const rates = [5, 10, 20, 40];

  it('steps on while the last step stayed under the limit and a higher rate is left', () => {
    expect(keepStepping([], 50, rates)).toBe(true);
    expect(keepStepping([{ rate: 5, startP95: 12 }], 50, rates)).toBe(true);
    expect(keepStepping([{ rate: 5, startP95: 12 }, { rate: 10, startP95: 50 }], 50, rates)).toBe(false);
    expect(keepStepping(rates.map((rate) => ({ rate, startP95: 10 })), 50, rates)).toBe(false);
  });

  it('picks the last rate before the first step at or over the limit, none when the first already was', () => {
    expect(highestRateUnder([{ rate: 5, startP95: 12 }, { rate: 10, startP95: 30 }, { rate: 20, startP95: 70 }], 50)).toBe(10);
    expect(highestRateUnder(rates.map((rate) => ({ rate, startP95: 10 })), 50)).toBe(40);
    expect(highestRateUnder([{ rate: 5, startP95: 50 }], 50)).toBeUndefined();
    expect(highestRateUnder([{ rate: 5, startP95: Number.NaN }], 50)).toBeUndefined();
  });
});

describe('summarizeCpuProfile (where a process spent its CPU during the load)', () => {
  const repo = '/repo';
  const frame = (id: number, functionName: string, url: string, lineNumber = 0) => ({ id, callFrame: { functionName, url, lineNumber } });
  const profile: CpuProfile = {
    nodes: [
      frame(1, '(root)', ''),
      frame(2, 'launchRun', 'file:///repo/src/runs/launch.ts', 41),
      frame(3, 'encode', 'file:///repo/node_modules/@temporalio/common/lib/encoding.js', 9),
      frame(4, '(idle)', ''),
      frame(5, '(garbage collector)', ''),
      frame(6, 'emit', 'node:events'),
    ],
    startTime: 1_000,
    endTime: 2_000,
    // Sample times: 1100, 1200, 1300, 1400, 1500, 1600.
    samples: [2, 3, 4, 5, 2, 6],
    timeDeltas: [100, 100, 100, 100, 100, 100],
  };

  it('sums self time by function and by area across threads, idle left out', () => {
    const summary = summarizeCpuProfile([profile, profile], repo);
    expect(summary.totalMs).toBeCloseTo(1, 9);
    expect(summary.functions[0]).toEqual({ name: 'launchRun src/runs/launch.ts:42', ms: 0.4, share: 0.4 });
    expect(summary.areas.map((a) => a.name).sort()).toEqual(['(garbage collector)', '@temporalio/common', 'node:internal', 'src/runs']);
  });

  it('counts only samples inside the windows', () => {
    const summary = summarizeCpuProfile([profile], repo, [{ from: 1_150, to: 1_250 }, { from: 1_500, to: 1_500 }]);
    expect(summary.totalMs).toBeCloseTo(0.2, 9);
    expect(summary.functions.map((f) => f.name)).toEqual(['encode @temporalio/common/lib/encoding.js:10', 'launchRun src/runs/launch.ts:42']);
  });

  it('names areas by package, repository folder, Node or V8', () => {
    expect(profileArea('file:///repo/node_modules/express/lib/router.js', 'handle', repo)).toBe('express');
    expect(profileArea('file:///repo/interpreters/dag-interpreter.ts', 'run', repo)).toBe('interpreters');
    expect(profileArea('node:internal/http2/core', 'request', repo)).toBe('node:internal');
    expect(profileArea('', '(program)', repo)).toBe('(program)');
    expect(profileArea('', 'writev', repo)).toBe('(native)');
  });
});
