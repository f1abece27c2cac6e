/**
 * Policy decision latency: the embedded wasm PDP vs a real OPA server on loopback, one decision at
 * a time, plus the full gate (decision + hash-chained append to the SQLite audit log) that each
 * task pays. Targets: embedded p99 < 1 ms; the gate adding < 5% to the 10-step run.
 *
 * `tsx bench/policy.ts [decisions]` prints a table; `benchPolicy()` returns the figures for
 * bench/run.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPdp, createPolicyGate, type PolicyDecisionPoint, type PolicyInput } from '../src/policy/index.js';
import { openAuditLog } from '../src/store/index.js';
import { TYPICAL_INPUT } from '../test/policy/cases.js';
import { startOpaServer } from '../test/policy/opa-server.js';
import { quantile } from './stats.js';

/** Latency of one series, in milliseconds. */
export interface PolicyLatency {
  n: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
  /** p99 of this process's CPU time per call: the cost itself, without waits for a core. */
  cpuP99: number;
}

/** What {@link benchPolicy} measured. */
export interface PolicyBenchResult {
  decisions: number;
  /** `pdp.decide()` in-process (wasm). */
  embedded: PolicyLatency;
  /** `pdp.decide()` against `opa run --server` on 127.0.0.1 (keep-alive). */
  remote: PolicyLatency;
  /** `gate.admit()` with the embedded PDP, until its record is written: decision plus append to the SQLite audit log. */
  embeddedGateSqlite: PolicyLatency;
  /**
   * `gate.admit()` of a task's first attempt that acts on its run-start decision (decided and
   * recorded beforehand, unmeasured): the record's lookup plus the append of the reuse, until written.
   */
  embeddedGateReused: PolicyLatency;
  targets: { embeddedP99Under1ms: boolean };
  /** 1-minute load average before and after: tail latencies on a shared 2-core machine follow it. */
  loadAverage: { start: number; end: number };
}

/** Options of {@link benchPolicy}. */
export interface PolicyBenchOptions {
  /** @default 10000 */
  decisions?: number;
  /** Unmeasured decisions first (JIT and wasm tier-up). @default 2000 */
  warmup?: number;
}

async function measure(count: number, warmup: number, once: (i: number) => Promise<unknown>): Promise<PolicyLatency> {
  for (let i = 0; i < warmup; i += 1) await once(i);
  const samples: number[] = new Array<number>(count);
  const cpu: number[] = new Array<number>(count);
  for (let i = 0; i < count; i += 1) {
    const cpuStart = process.cpuUsage();
    const started = performance.now();
    await once(i);
    samples[i] = performance.now() - started;
    const used = process.cpuUsage(cpuStart);
    cpu[i] = (used.user + used.system) / 1000;
  }
  samples.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return {
    n: count,
    p50: quantile(samples, 0.5),
    p99: quantile(samples, 0.99),
    mean: samples.reduce((sum, x) => sum + x, 0) / count,
    max: samples[count - 1] ?? Number.NaN,
    cpuP99: quantile(cpu, 0.99),
  };
}

/** Varies the run id so no layer can answer from a cache. */
function input(i: number): PolicyInput {
  return { ...TYPICAL_INPUT, run: { ...TYPICAL_INPUT.run, runId: `bench-${i}` } };
}

/** {@link input} for the runs whose start decisions the attempts act on (run ids of their own). */
function startInput(i: number): PolicyInput {
  return { ...TYPICAL_INPUT, run: { ...TYPICAL_INPUT.run, runId: `bench-start-${i}` } };
}

/**
 * Runs the policy benchmark: starts an OPA server on a free port, measures, stops it.
 *
 * @example
 * const result = await benchPolicy({ decisions: 10_000 });
 */
export async function benchPolicy({ decisions = 10_000, warmup = 2000 }: PolicyBenchOptions = {}): Promise<PolicyBenchResult> {
  const loadStart = loadavg()[0] ?? Number.NaN;
  const opa = await startOpaServer();
  const dir = await mkdtemp(join(tmpdir(), 'maestro-bench-policy-'));
  let embedded: PolicyDecisionPoint | undefined;
  let remote: PolicyDecisionPoint | undefined;
  try {
    embedded = await createPdp({ policyMode: 'embedded' });
    remote = await createPdp({ policyMode: 'remote', opaUrl: opa.url });
    const embeddedPdp = embedded;
    const remotePdp = remote;
    const embeddedLatency = await measure(decisions, warmup, (i) => embeddedPdp.decide(input(i)));
    const remoteLatency = await measure(decisions, warmup, (i) => remotePdp.decide(input(i)));
    const log = await openAuditLog({ dataDir: dir });
    const gate = createPolicyGate({ pdp: embeddedPdp, log });
    const gateLatency = await measure(decisions, warmup, async (i) => (await gate.admit(input(i))).recorded);
    // Each sample's run-start decision, recorded first as the API records them (ids by sample).
    const startDecisions: string[] = [];
    for (let i = 0; i < warmup + decisions; i += 500) {
      const inputs = Array.from({ length: Math.min(500, warmup + decisions - i) }, (_, j) => startInput(i + j));
      startDecisions.push(...(await gate.checkAll(inputs)).map((decision) => decision.decisionId));
    }
    const reusedLatency = await measure(decisions, warmup, async (i) => {
      const sample = i < warmup ? i : warmup + i;
      const admission = await gate.admit(startInput(sample), { decisionId: startDecisions[sample] ?? '', attempt: 1 });
      if (!admission.reused) throw new Error(`bench policy: the run-start decision was not acted on: ${admission.decidedAgain ?? 'no reason'}`);
      return admission.recorded;
    });
    await log.close();
    return {
      decisions,
      embedded: embeddedLatency,
      remote: remoteLatency,
      embeddedGateSqlite: gateLatency,
      embeddedGateReused: reusedLatency,
      targets: { embeddedP99Under1ms: embeddedLatency.p99 < 1 },
      loadAverage: { start: loadStart, end: loadavg()[0] ?? Number.NaN },
    };
  } finally {
    await remote?.close();
    await embedded?.close();
    await opa.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A markdown table of the result. */
export function policyMarkdown(result: PolicyBenchResult): string {
  const row = (label: string, l: PolicyLatency): string =>
    `| ${label} | ${l.p50.toFixed(3)} | ${l.p99.toFixed(3)} | ${l.mean.toFixed(3)} | ${l.max.toFixed(2)} | ${l.cpuP99.toFixed(3)} |`;
  return [
    `Policy decisions, ${result.decisions} each, one at a time (ms)`,
    '',
    '| PDP | p50 | p99 | mean | max | CPU p99 |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    row('embedded (wasm, in-process)', result.embedded),
    row('remote (OPA server, loopback)', result.remote),
    row('gate: embedded + SQLite audit append', result.embeddedGateSqlite),
    row('gate: first attempt acting on its run-start decision', result.embeddedGateReused),
    '',
    `embedded p99 < 1 ms: ${result.targets.embeddedP99Under1ms ? 'yes' : 'NO'} (load average ${result.loadAverage.start.toFixed(1)} → ${result.loadAverage.end.toFixed(1)})`,
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const decisions = Number(process.argv[2] ?? 10_000);
  const result = await benchPolicy({ decisions });
  console.log(policyMarkdown(result));
  console.log(JSON.stringify(result));
}
