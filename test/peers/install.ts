import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (peers install their tools under `<root>/.tools`). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the installers put binaries: `<repo>/.tools/bin`. */
export const TOOLS_BIN = join(REPO_ROOT, '.tools', 'bin');

/** A peer's installer (or another set-up script) failed: the message says which command, why, and how to run it by hand. */
export class PeerInstallError extends Error {
  constructor(
    readonly script: string,
    readonly output: string,
    options?: { cause?: unknown },
  ) {
    super(`setting up a test peer failed: ${script}\n${output.trim().split('\n').slice(-15).join('\n')}`, options);
    this.name = 'PeerInstallError';
  }
}

const running = new Map<string, Promise<void>>();

/**
 * Runs `command args…` in the repository root and waits for it: an idempotent set-up script, quick
 * when its work is already done. Concurrent calls for the same command in one process share one run.
 *
 * @throws {@link PeerInstallError} when the command exits non-zero or cannot start.
 */
export function runScript(command: string, args: readonly string[]): Promise<void> {
  const line = [command, ...args].join(' ');
  const existing = running.get(line);
  if (existing) return existing;
  const run = new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', (error) => reject(new PeerInstallError(line, String(error), { cause: error })));
    child.once('close', (code) => (code === 0 ? resolve() : reject(new PeerInstallError(line, `exit code ${code}\n${output}`))));
  });
  running.set(line, run);
  return run;
}

/**
 * Runs the installer `scripts/peers/<script>` (idempotent: quick when the tool is already there).
 * @throws {@link PeerInstallError} when the script exits non-zero or cannot start.
 */
export function runInstaller(script: string): Promise<void> {
  return runScript('bash', [join(REPO_ROOT, 'scripts', 'peers', script)]);
}
