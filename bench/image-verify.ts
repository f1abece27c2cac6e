/**
 * Image verification's added time per task start: a no-op container through the container runner
 * with a signature required (the image's cosign signature read from a real OCI registry, `crane
 * registry serve` on loopback) against the same start with none required, in the same process,
 * rotating the order so drift hits all alike. Two verified variants: with the verified-digest
 * cache (the default: after the first start, only the tag is resolved in the registry) and without
 * it (every start also reads the `.sig` manifest and the payload blob and checks the signature).
 * What verification adds to each start is timed inside that start (the verifier wrapped), since a
 * container start's own spread on a shared machine (hundreds of ms) hides a few ms in a difference
 * of end-to-end medians; the end-to-end medians are reported beside it. Target: added time ≤ 50 ms
 * with a warm registry.
 *
 * Run alone with `tsx bench/image-verify.ts` (`BENCH_IMAGE_VERIFY_ITERATIONS`, default 20), or
 * from the bench runner (`BENCH_SUITES=image-verify`).
 */
import { fileURLToPath } from 'node:url';
import { generateSigningKey } from '../src/provenance/index.js';
import {
  createContainerRunner,
  createRegistryClient,
  createRegistrySignatureVerifier,
  signImageInRegistry,
  type ContainerRunner,
  type ImageVerifier,
} from '../src/runners/index.js';
import { createTestContext } from '../src/sdk/index.js';
import { containerRun } from '../src/tasks/index.js';
import { startPodman } from '../test/peers/podman.js';
import { startRegistry } from '../test/peers/registry.js';
import { ms, summarize, type Summary } from './stats.js';

/** Options of {@link benchImageVerify}. */
export interface ImageVerifyBenchOptions {
  /** Measured starts of each variant. @default 20 */
  iterations?: number;
  /** Discarded starts of each variant first. @default 3 */
  warmup?: number;
}

/** What {@link benchImageVerify} measured, in milliseconds. */
export interface ImageVerifyBenchResult {
  unverified: Summary;
  verifiedCached: Summary;
  verifiedUncached: Summary;
  /** Time spent verifying, inside each verified start: cache on (tag resolved only) and off (full check). */
  verifierCached: Summary;
  verifierUncached: Summary;
  /** Difference of end-to-end medians, verified − unverified (dominated by the start's own spread). */
  endToEndCachedMs: number;
  endToEndUncachedMs: number;
  target: number;
  pass: boolean;
}

/** The target: verification adds at most 50 ms to a task start with a warm registry. */
export const IMAGE_VERIFY_TARGET_MS = 50;

/** Measures image verification per start; starts (and stops) its own podman and registry. */
export async function benchImageVerify({ iterations = 20, warmup = 3 }: ImageVerifyBenchOptions = {}): Promise<ImageVerifyBenchResult> {
  const [podman, registry] = await Promise.all([startPodman(), startRegistry()]);
  const image = `${registry.host}/bench/noop:1`;
  try {
    await podman.podman(['push', '--tls-verify=false', '--quiet', podman.image, image]);
    await podman.podman(['pull', '--tls-verify=false', '--quiet', image]);
    const key = generateSigningKey();
    const client = createRegistryClient({ insecureRegistries: [registry.host] });
    await signImageInRegistry(client, image, key);
    const trustedKeys = async () => [key.publicKey];
    // Each verifier records the time of every call; only the measured starts' calls are kept.
    let measuring = false;
    const timed = (verifier: ImageVerifier, times: number[]): ImageVerifier => async (request) => {
      const started = performance.now();
      const verdict = await verifier(request);
      if (measuring) times.push(performance.now() - started);
      return verdict;
    };
    const cachedTimes: number[] = [];
    const uncachedTimes: number[] = [];
    const cached = timed(createRegistrySignatureVerifier({ client, trustedKeys }), cachedTimes);
    const uncached = timed(createRegistrySignatureVerifier({ client, trustedKeys, cacheTtlMs: 0 }), uncachedTimes);
    const runnerWith = (verifier?: ImageVerifier): ContainerRunner =>
      createContainerRunner({ dockerHost: podman.dockerHost, heartbeatIntervalMs: 60_000, ...(verifier ? { imagePolicy: { requireSignature: true, verifier } } : {}) });
    const variants = [runnerWith(), runnerWith(cached), runnerWith(uncached)];
    const samples: number[][] = [[], [], []];
    let n = 0;
    const start = async (runner: ContainerRunner): Promise<number> => {
      n += 1;
      const ctx = createTestContext({ runId: `bench-verify-${process.pid}-${n}`, taskId: 'noop' });
      const started = performance.now();
      const result = await runner.run(containerRun, { image, command: ['true'] }, ctx);
      if (result.exitCode !== 0) throw new Error(`the no-op container exited ${result.exitCode}`);
      return performance.now() - started;
    };
    for (let i = 0; i < warmup + iterations; i += 1) {
      measuring = i >= warmup;
      for (let j = 0; j < variants.length; j += 1) {
        const index = (i + j) % variants.length;
        const elapsed = await start(variants[index] as ContainerRunner);
        if (i >= warmup) samples[index]?.push(elapsed);
      }
    }
    const [unverified, verifiedCached, verifiedUncached] = samples.map(summarize) as [Summary, Summary, Summary];
    const verifierCached = summarize(cachedTimes);
    const verifierUncached = summarize(uncachedTimes);
    return {
      unverified,
      verifiedCached,
      verifiedUncached,
      verifierCached,
      verifierUncached,
      endToEndCachedMs: verifiedCached.median - unverified.median,
      endToEndUncachedMs: verifiedUncached.median - unverified.median,
      target: IMAGE_VERIFY_TARGET_MS,
      pass: Math.max(verifierCached.median, verifierUncached.median) <= IMAGE_VERIFY_TARGET_MS,
    };
  } finally {
    // Only this name: a bare `untag IMAGE` would strip the shared test image's own name too.
    await podman.podman(['untag', image, image]).catch(() => undefined);
    await Promise.all([podman.stop(), registry.stop()]);
  }
}

/** The result as a markdown section. */
export function imageVerifyReport(result: ImageVerifyBenchResult): string {
  const row = (name: string, summary: Summary): string => `| ${name} | ${ms(summary.median)} | ${ms(summary.p95)} | ${ms(summary.min)} | ${ms(summary.max)} |`;
  return [
    `### Image verification per task start (cosign signature in a loopback OCI registry, podman no-op container, n=${result.unverified.n})`,
    '',
    '| path | median ms | p95 ms | min ms | max ms |',
    '| --- | ---: | ---: | ---: | ---: |',
    row('start, no signature required', result.unverified),
    row('start, verified (cache on)', result.verifiedCached),
    row('start, verified (cache off)', result.verifiedUncached),
    row('verification inside a start, cache on (tag resolved only)', result.verifierCached),
    row('verification inside a start, cache off (full check)', result.verifierUncached),
    '',
    `Added per start (median time verifying): ${ms(result.verifierCached.median)} ms with the cache, ${ms(result.verifierUncached.median)} ms without (target ≤ ${result.target} ms): **${result.pass ? 'PASS' : 'FAIL'}**. Difference of end-to-end medians: ${ms(result.endToEndCachedMs)} / ${ms(result.endToEndUncachedMs)} ms (within the starts' spread).`,
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const raw = process.env.BENCH_IMAGE_VERIFY_ITERATIONS;
  const result = await benchImageVerify(raw ? { iterations: Number(raw) } : {});
  console.log(imageVerifyReport(result));
}
