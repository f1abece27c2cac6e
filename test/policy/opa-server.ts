/**
 * A real OPA server for tests and benchmarks: `opa run --server` on a free loopback port, loaded
 * with the Rego bundle scripts/opa.mjs builds (the same policy and revision as the wasm bundle).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { defaultServerBundlePath, resolveOpaBin } from '../../src/policy/index.js';
import { REPO_ROOT } from '../peers/install.js';
import { freePort } from '../peers/ports.js';
import { spawnPeer, type SpawnedPeer } from '../peers/spawn-peer.js';
import { tcpOpen } from '../peers/tcp.js';

let built = false;

/** Installs OPA if needed and (re)builds dist/policy/ when policies/ changed; once per process. */
export function buildPolicyBundles(): void {
  if (built) return;
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'opa.mjs'), 'build'], { cwd: REPO_ROOT, stdio: 'pipe' });
  built = true;
}

/** A running OPA server. */
export interface OpaServer {
  url: string;
  port: number;
  peer: SpawnedPeer;
  stop(): Promise<void>;
}

/**
 * Starts `opa run --server --bundle dist/policy/bundle.tar.gz` on a free port; `bundle: null`
 * starts it with no policy at all.
 */
export async function startOpaServer({ bundle = defaultServerBundlePath() }: { bundle?: string | null } = {}): Promise<OpaServer> {
  buildPolicyBundles();
  const port = await freePort();
  const peer = await spawnPeer({
    name: 'opa',
    command: resolveOpaBin(loadConfig().opaBin),
    args: ['run', '--server', '--addr', `127.0.0.1:${port}`, '--log-level', 'error', '--skip-version-check', ...(bundle === null ? [] : ['--bundle', bundle])],
    // `/health?bundles` answers 200 only once the bundle is activated.
    ready: async () => (await tcpOpen(port)) && (await fetch(`http://127.0.0.1:${port}/health?bundles`)).ok,
    startTimeoutMs: 30_000,
  });
  return { url: `http://127.0.0.1:${port}`, port, peer, stop: () => peer.stop() };
}
