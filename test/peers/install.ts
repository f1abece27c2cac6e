import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (peers install their tools under `<root>/.tools`). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the installers put binaries: `<repo>/.tools/bin`. */
export const TOOLS_BIN = join(REPO_ROOT, '.tools', 'bin');

/** A peer's installer failed: the message says which script, why, and how to run it by hand. */
export class PeerInstallError extends Error {
  constructor(
    readonly script: string,
    readonly output: string,
    options?: { cause?: unknown },
  ) {
    super(`installing a test peer failed: bash ${script}\n${output.trim().split('\n').slice(-15).join('\n')}`, options);
    this.name = 'PeerInstallError';
  }
}

const running = new Map<string, Promise<void>>();

/**
 * Runs `scripts/peers/<script>` (idempotent: quick when the tool is already there) and waits for it.
 * Concurrent calls for the same script in one process share one run.
 *
 * @throws {@link PeerInstallError} when the script exits non-zero or cannot start.
 */
export function runInstaller(script: string): Promise<void> {
  const existing = running.get(script);
  if (existing) return existing;
  const path = join(REPO_ROOT, 'scripts', 'peers', script);
  const run = new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [path], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', (error) => reject(new PeerInstallError(path, String(error), { cause: error })));
    child.once('close', (code) => (code === 0 ? resolve() : reject(new PeerInstallError(path, `exit code ${code}\n${output}`))));
  });
  running.set(script, run);
  return run;
}
