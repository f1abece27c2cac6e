import { spawn, type ChildProcess } from 'node:child_process';

/** Options of {@link spawnPeer}. */
export interface SpawnPeerOptions {
  /** Shown in errors, e.g. `nats-server`. */
  name: string;
  command: string;
  args: string[];
  /** @default process.cwd() */
  cwd?: string;
  /** Added to the parent's environment. @default {} */
  env?: Record<string, string>;
  /** Resolves true once the peer serves; polled until it does. */
  ready: (output: string) => Promise<boolean> | boolean;
  /** @default 60000 */
  startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL. @default 10000 */
  stopTimeoutMs?: number;
}

/** A started peer process. */
export interface SpawnedPeer {
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr interleaved). */
  output(): string;
  /** SIGTERM, then SIGKILL after `stopTimeoutMs`; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
}

/** The peer exited or did not become ready in time; the message carries its last output lines. */
export class PeerStartError extends Error {
  constructor(name: string, reason: string, output: string) {
    super(`${name} did not start: ${reason}\n${output.trim().split('\n').slice(-20).join('\n')}`);
    this.name = 'PeerStartError';
  }
}

const POLL_MS = 100;

/**
 * Starts a peer process and waits until `ready` says it serves.
 *
 * @throws {@link PeerStartError} when the process exits first or is not ready within
 * `startTimeoutMs` (the process is then stopped).
 */
export async function spawnPeer(options: SpawnPeerOptions): Promise<SpawnedPeer> {
  const { name, command, args, cwd, env = {}, ready, startTimeoutMs = 60_000, stopTimeoutMs = 10_000 } = options;
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    // Keep the tail only: a long-running broker logs a lot.
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  // A test process that dies without its afterAll must not leave brokers behind.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (spawnError) throw new PeerStartError(name, `${command} could not be started (${spawnError.message})`, output);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new PeerStartError(name, `it exited (${child.exitCode ?? child.signalCode}) before it was ready`, output);
    }
    if (await ready(output)) return { child, output: () => output, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new PeerStartError(name, `not ready after ${startTimeoutMs} ms`, output);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Runs a one-shot command of a peer's set-up (e.g. formatting storage) to completion.
 *
 * @throws {@link PeerStartError} with its output when it exits non-zero, cannot start, or runs
 * longer than `timeoutMs`.
 */
export function runSetupCommand(name: string, command: string, args: string[], timeoutMs = 120_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new PeerStartError(name, `${command} could not be started (${error.message})`, output));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new PeerStartError(name, `${command} exited with ${code ?? signal}`, output));
    });
  });
}
