/**
 * Receipt cost per run: build the in-toto/SLSA statement (inputs recomputed through CEL, every
 * output hashed as canonical JSON), sign it (ECDSA P-256, DSSE in a Sigstore bundle) and store it
 * (filesystem, written and renamed into place) — for chains of 3, 10, 100 and 1,000 tasks, in
 * process, in wall time and in the process's CPU time (every thread: the collector's too). Run
 * alone with `tsx bench/receipt.ts`; `bench/run.ts` may call {@link benchReceipt}.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinCatalog } from '../src/tasks/index.js';
import { compileWorkflow } from '../src/compiler/index.js';
import type { CompiledWorkflow, RunState } from '../src/ir/index.js';
import { parseManifest } from '../src/manifest/index.js';
import {
  ReceiptStore,
  buildReceipt,
  createReceiptWriter,
  generateSigningKey,
  localBundleSigner,
  signStatement,
} from '../src/provenance/index.js';
import { FsBlobStore } from '../src/store/index.js';
import { chainManifest } from './compiler-bench.js';
import { summarize, type Summary } from './stats.js';

/** Result for one run size. */
export interface ReceiptBenchResult {
  tasks: number;
  /** buildReceipt, ms. */
  build: Summary;
  /** signStatement (canonical JSON + ECDSA + bundle), ms. */
  sign: Summary;
  /** The whole `writeReceipt` activity body: build + sign + write, ms. */
  write: Summary;
  /** CPU time of the process over each `writeReceipt`, ms: what a loaded machine cannot inflate much. */
  writeCpu: Summary;
  /** Size of the stored bundle, bytes. */
  bundleBytes: number;
}

/** Options of {@link benchReceipt}. */
export interface ReceiptBenchOptions {
  /** @default [3, 10, 100, 1000] */
  sizes?: readonly number[];
  /** @default 50 */
  iterations?: number;
  /** @default 5 */
  warmup?: number;
}

/** A finished run of a `tasks`-long chain: every task succeeded with a small output. */
function fixture(tasks: number): { compiled: CompiledWorkflow; state: RunState } {
  const manifest = parseManifest(chainManifest(tasks), 'bench-receipt.yaml', { catalog: builtinCatalog });
  if (manifest.kind !== 'Workflow') throw new Error('not a workflow');
  const compiled = compileWorkflow(manifest, { catalog: builtinCatalog });
  const start = Date.UTC(2026, 0, 1);
  const state: RunState = {
    runId: `run-bench-${tasks}`,
    workflow: compiled.ir.name,
    version: compiled.ir.version,
    digest: compiled.digest,
    status: 'SUCCEEDED',
    startedAt: new Date(start).toISOString(),
    endedAt: new Date(start + tasks * 10).toISOString(),
    tasks: compiled.ir.tasks.map((task, i) => ({
      id: task.id,
      status: 'SUCCEEDED',
      attempts: 1,
      startedAt: new Date(start + i * 10).toISOString(),
      endedAt: new Date(start + i * 10 + 5).toISOString(),
      outputs: { rows: [i + 2] },
    })),
  };
  return { compiled, state };
}

async function timed(iterations: number, warmup: number, work: () => unknown): Promise<Summary> {
  return (await timedWithCpu(iterations, warmup, work)).wall;
}

/** Wall and process CPU time of each call of `work`, ms. */
async function timedWithCpu(iterations: number, warmup: number, work: () => unknown): Promise<{ wall: Summary; cpu: Summary }> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < warmup + iterations; i += 1) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await work();
    const t1 = performance.now();
    const used = process.cpuUsage(c0);
    if (i >= warmup) {
      wall.push(t1 - t0);
      cpu.push((used.user + used.system) / 1000);
    }
  }
  return { wall: summarize(wall), cpu: summarize(cpu) };
}

/** Times receipt build, sign and write for each run size. */
export async function benchReceipt(options: ReceiptBenchOptions = {}): Promise<ReceiptBenchResult[]> {
  const { sizes = [3, 10, 100, 1000], iterations = 50, warmup = 5 } = options;
  const key = generateSigningKey();
  const signer = localBundleSigner(key);
  const dir = await mkdtemp(join(tmpdir(), 'maestro-bench-receipt-'));
  try {
    const receipts = new ReceiptStore(new FsBlobStore(dir));
    const taskCodeDigests = { 'tasks/transform.map@0.1.0': `sha256:${'11'.repeat(32)}` };
    const write = createReceiptWriter({ receipts, signer, builderId: 'urn:maestro:builder:bench', workerBuildId: 'bench', taskCodeDigests });
    const results: ReceiptBenchResult[] = [];
    for (const tasks of sizes) {
      const { compiled, state } = fixture(tasks);
      const input = { ir: compiled.ir, digest: compiled.digest, params: {}, run: state, workerBuildId: 'bench', builderId: 'urn:maestro:builder:bench', taskCodeDigests };
      const statement = buildReceipt(input);
      const build = await timed(iterations, warmup, () => buildReceipt(input));
      const sign = await timed(iterations, warmup, () => signStatement(statement, signer));
      let runs = 0;
      // A new run id each time: the writer keeps an identical existing receipt, which would skip the signing.
      const written = await timedWithCpu(iterations, warmup, () =>
        write({ runId: `${state.runId}-${(runs += 1)}`, ir: compiled.ir, digest: compiled.digest, params: {}, state: { ...state, runId: `${state.runId}-${runs}` } }),
      );
      const stored = await receipts.read(`${state.runId}-${runs}`);
      results.push({ tasks, build, sign, write: written.wall, writeCpu: written.cpu, bundleBytes: stored.bytes.byteLength });
    }
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const results = await benchReceipt();
  const ms = (s: Summary): string => `${s.median.toFixed(2)} ms (p95 ${s.p95.toFixed(2)})`;
  for (const r of results) {
    console.log(`${r.tasks} tasks: build ${ms(r.build)}, sign ${ms(r.sign)}, build+sign+write ${ms(r.write)}, its CPU ${ms(r.writeCpu)}, bundle ${r.bundleBytes} bytes`);
  }
}
