/**
 * Container task overhead: start to exit of a no-op container (`true`) through Maestro's container
 * runner (create with limits, mounts and labels, start, stream logs, wait, collect, remove) against
 * `podman run --rm --network none` on the same engine, in the same process, alternating so drift
 * hits both alike. Target: Maestro's median ≤ 1.2 × podman's.
 *
 * Run alone with `tsx bench/container.ts` (`BENCH_CONTAINER_ITERATIONS`, default 20), or call
 * {@link benchContainer} from the bench runner.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { containerRun } from '../src/tasks/index.js';
import { createContainerRunner } from '../src/runners/index.js';
import { createTestContext } from '../src/sdk/index.js';
import { startPodman } from '../test/peers/podman.js';
import { ms, ratio, summarize, type Summary } from './stats.js';

const run = promisify(execFile);

/** Options of {@link benchContainer}. */
export interface ContainerBenchOptions {
  /** Measured runs of each side. @default 20 */
  iterations?: number;
  /** Discarded runs of each side first. @default 3 */
  warmup?: number;
}

/** What {@link benchContainer} measured, in milliseconds. */
export interface ContainerBenchResult {
  maestro: Summary;
  podman: Summary;
  /** Median through Maestro ÷ median of `podman run`. */
  ratio: number;
  target: number;
  pass: boolean;
  /** `podman version` of the engine. */
  engine: string;
  /** Setting podman up (install when missing, config, image) and starting its API service. */
  setupMs: number;
}

/** The target ratio of the issue: Maestro adds at most 20 % to a container's start-to-exit. */
export const CONTAINER_OVERHEAD_TARGET = 1.2;

/** Measures container task overhead; starts (and stops) its own podman API service. */
export async function benchContainer({ iterations = 20, warmup = 3 }: ContainerBenchOptions = {}): Promise<ContainerBenchResult> {
  const setupStarted = performance.now();
  const podman = await startPodman();
  const setupMs = performance.now() - setupStarted;
  try {
    const runner = createContainerRunner({ dockerHost: podman.dockerHost, heartbeatIntervalMs: 60_000 });
    const env = { ...process.env, ...podman.env };
    const engine = (await run('podman', ['version', '--format', '{{.Server.Version}}'], { env })).stdout.trim();
    let n = 0;
    const viaMaestro = async (): Promise<number> => {
      n += 1;
      const ctx = createTestContext({ runId: `bench-${process.pid}-${n}`, taskId: 'noop' });
      const started = performance.now();
      const result = await runner.run(containerRun, { image: podman.image, command: ['true'] }, ctx);
      const elapsed = performance.now() - started;
      if (result.exitCode !== 0) throw new Error(`the no-op container exited ${result.exitCode}`);
      return elapsed;
    };
    const viaPodman = async (): Promise<number> => {
      const started = performance.now();
      await run('podman', ['run', '--rm', '--network', 'none', podman.image, 'true'], { env });
      return performance.now() - started;
    };
    const maestro: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < warmup + iterations; i += 1) {
      // Alternate which side goes first, so neither always follows the other's cleanup.
      const pair = i % 2 === 0 ? [await viaMaestro(), await viaPodman()] : [await viaPodman(), await viaMaestro()].reverse();
      if (i < warmup) continue;
      maestro.push(pair[0] as number);
      direct.push(pair[1] as number);
    }
    const maestroSummary = summarize(maestro);
    const podmanSummary = summarize(direct);
    const measured = maestroSummary.median / podmanSummary.median;
    return {
      maestro: maestroSummary,
      podman: podmanSummary,
      ratio: measured,
      target: CONTAINER_OVERHEAD_TARGET,
      pass: measured <= CONTAINER_OVERHEAD_TARGET,
      engine: `podman ${engine}`,
      setupMs,
    };
  } finally {
    await podman.stop();
  }
}

/** The result as a markdown section. */
export function containerBenchReport(result: ContainerBenchResult): string {
  return [
    `### Container task overhead (${result.engine}, no-op container, n=${result.maestro.n})`,
    '',
    '| path | median ms | p95 ms | min ms | max ms |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| Maestro container runner | ${ms(result.maestro.median)} | ${ms(result.maestro.p95)} | ${ms(result.maestro.min)} | ${ms(result.maestro.max)} |`,
    `| podman run --rm | ${ms(result.podman.median)} | ${ms(result.podman.p95)} | ${ms(result.podman.min)} | ${ms(result.podman.max)} |`,
    '',
    `Ratio ${ratio(result.ratio)} (target ≤ ${result.target}): **${result.pass ? 'PASS' : 'FAIL'}**. Podman set-up and service start: ${ms(result.setupMs)} ms.`,
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const raw = process.env.BENCH_CONTAINER_ITERATIONS;
  const result = await benchContainer(raw ? { iterations: Number(raw) } : {});
  console.log(containerBenchReport(result));
}
