/**
 * A real OCI registry for the image-signature tests and benchmark: go-containerregistry's
 * `crane registry serve` (in memory), installed through `scripts/crane.mjs` on first use (built from
 * its Go module), on a free loopback port, plain HTTP. `crane` itself loads test images into it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, TOOLS_BIN, runScript } from './install.js';
import { freePort } from './ports.js';
import { spawnPeer } from './spawn-peer.js';

const run = promisify(execFile);
const CRANE = join(TOOLS_BIN, 'crane');

/** A running registry. */
export interface RegistryPeer {
  /** `127.0.0.1:<port>`: the registry part of an image reference (and its `MAESTRO_IMAGE_REGISTRY_INSECURE`). */
  host: string;
  /** Runs `crane args…` (it speaks plain HTTP to a loopback registry by itself); resolves with stdout. */
  crane(args: string[]): Promise<string>;
  /**
   * Pushes a new one-layer image (a file `/marker` holding `marker`) to `<host>/<repository>:<tag>`
   * and returns its manifest digest; distinct markers make distinct images.
   */
  pushImage(repository: string, tag: string, marker: string): Promise<string>;
  /** Stops the registry (its content goes with it). Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a registry, installing crane first when missing.
 * @throws PeerInstallError or PeerStartError with the install's or the server's output.
 * @example
 * const registry = await startRegistry();
 * const digest = await registry.pushImage('tools/jq', '1', 'first');
 */
export async function startRegistry(): Promise<RegistryPeer> {
  await runScript(process.execPath, [join(REPO_ROOT, 'scripts', 'crane.mjs')]);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const dir = await mkdtemp(join(tmpdir(), 'maestro-registry-'));
  const server = await spawnPeer({
    name: 'crane registry serve',
    command: CRANE,
    args: ['registry', 'serve', '--address', host],
    ready: async () => (await fetch(`http://${host}/v2/`).catch(() => undefined))?.ok === true,
    startTimeoutMs: 15_000,
  });
  const crane = async (args: string[]): Promise<string> => (await run(CRANE, args, { maxBuffer: 16 * 1024 * 1024 })).stdout.trim();
  let counter = 0;
  return {
    host,
    crane,
    async pushImage(repository, tag, marker) {
      counter += 1;
      const layerDir = join(dir, `layer-${counter}`);
      await run('mkdir', ['-p', layerDir]);
      await writeFile(join(layerDir, 'marker'), `${marker}\n`);
      const tar = join(dir, `layer-${counter}.tar`);
      await run('tar', ['-C', layerDir, '-cf', tar, 'marker']);
      await crane(['append', '-f', tar, '-t', `${host}/${repository}:${tag}`]);
      return crane(['digest', `${host}/${repository}:${tag}`]);
    },
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
