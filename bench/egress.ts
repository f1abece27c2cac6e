/**
 * The egress guard's cost per connection: a TCP connection to a loopback server opened through
 * `EgressGuard.socket` (resolve, check against the allow-list and Maestro's own endpoints, connect
 * to the checked address) against plain `net.connect`, to an IP literal and to a name (`localhost`,
 * resolved by both paths), interleaved round-robin in one process so drift hits both alike. Run
 * alone with `tsx bench/egress.ts`; `bench/run.ts` calls {@link benchEgress}.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { egressPolicyOf } from '../src/tasks/index.js';
import { loadConfig } from '../src/config/index.js';
import { EgressGuard } from '../src/egress/index.js';
import { summarize, type Summary } from './stats.js';

/** Connection set-up time, ms, for one host form. */
export interface EgressBenchResult {
  host: string;
  unguarded: Summary;
  guarded: Summary;
}

/** Options of {@link benchEgress}. */
export interface EgressBenchOptions {
  /** @default 2000 */
  iterations?: number;
  /** @default 200 */
  warmup?: number;
}

function opened(socket: Socket): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      const elapsed = performance.now() - started;
      socket.destroy();
      resolve(elapsed);
    });
    socket.once('error', reject);
  });
}

/** Measures connection set-up through the guard and without it. */
export async function benchEgress({ iterations = 2000, warmup = 200 }: EgressBenchOptions = {}): Promise<EgressBenchResult[]> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // What a worker configured like the tests enforces: loopback allow-listed, default endpoints guarded.
  const guard = new EgressGuard(egressPolicyOf(loadConfig({ MAESTRO_EGRESS_ALLOW: '{"default":["127.0.0.0/8","::1/128"]}' })), 'default');
  const results: EgressBenchResult[] = [];
  try {
    for (const host of ['127.0.0.1', 'localhost']) {
      const unguarded: number[] = [];
      const guarded: number[] = [];
      for (let i = 0; i < warmup + iterations; i++) {
        const plain = await opened(connect({ host, port, family: 4 }));
        const checked = await opened(guard.socket({ host, port }));
        if (i < warmup) continue;
        unguarded.push(plain);
        guarded.push(checked);
      }
      results.push({ host, unguarded: summarize(unguarded), guarded: summarize(guarded) });
    }
  } finally {
    server.close();
  }
  return results;
}

/** The suite's markdown table. */
export function egressMarkdown(results: readonly EgressBenchResult[]): string {
  const us = (value: number): string => (value * 1000).toFixed(0);
  return [
    '| host | unguarded median µs | guarded median µs | guard cost µs (median) | unguarded p95 µs | guarded p95 µs |',
    '| --- | --: | --: | --: | --: | --: |',
    ...results.map((r) => `| ${r.host} | ${us(r.unguarded.median)} | ${us(r.guarded.median)} | ${us(r.guarded.median - r.unguarded.median)} | ${us(r.unguarded.p95)} | ${us(r.guarded.p95)} |`),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(egressMarkdown(await benchEgress()));
}
