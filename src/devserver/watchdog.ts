/**
 * Keeps the dev server from outliving the process that started it. Whichever way that process
 * ends — a clean exit, SIGKILL to it alone or to its whole process group, the OOM killer — the
 * kernel closes its end of a pipe; a tiny POSIX `sh` watchdog, in its own process group (so the
 * signal that killed its owner's group does not reach it), reads that pipe, and at end of file
 * sends the server SIGTERM, then SIGKILL after a grace period.
 *
 * Why a pipe and a shell: the end of file is delivered by the kernel, so nothing in the dying
 * process has to run; `sh` starts in about a millisecond with under 1 MB of memory (a Node
 * watchdog costs ~40 MB and ~50 ms) and exists wherever the Temporal CLI runs; Linux's
 * parent-death signal (`setpriv --pdeathsig`) would need no extra process but exists only on
 * Linux. If the watchdog itself is killed, the pid file ({@link stopLeftoverServer}) catches the
 * server at the next start.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/**
 * `$1` the server's pid, `$2` tenths of a second between SIGTERM and SIGKILL. The `read` loop
 * returns at end of file only (the owner never writes); `kill -0` stops the wait as soon as the
 * server is gone.
 */
const WATCHDOG_SCRIPT = `
while read -r _; do :; done
kill -TERM "$1" 2>/dev/null || exit 0
n=0
while kill -0 "$1" 2>/dev/null; do
  if [ "$n" -ge "$2" ]; then exec kill -KILL "$1"; fi
  sleep 0.1
  n=$((n + 1))
done
`;

/** A started watchdog. */
export interface Watchdog {
  /** Ends the watchdog without touching the server: for a stop the owner does itself. */
  dismiss(): void;
}

/**
 * Starts a watchdog that stops `pid` (SIGTERM, SIGKILL after `graceMs`) once this process is gone.
 * Call {@link Watchdog.dismiss} before stopping the server yourself, so the watchdog never signals
 * a pid that may have been recycled.
 */
export function startWatchdog(pid: number, graceMs: number): Watchdog {
  const child: ChildProcess = spawn('sh', ['-c', WATCHDOG_SCRIPT, 'maestro-devserver-watchdog', String(pid), String(Math.ceil(graceMs / 100))], {
    // stdin: the pipe whose end of file means "the owner is gone"; Node opens its own end close-on-exec,
    // so no other child of the owner keeps it open.
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  // Not fatal: without a watchdog the pid file still catches a server left by a crash at the next start.
  child.once('error', (error) => console.error(`maestro: the dev server's watchdog (sh) could not start: ${error.message}`));
  return {
    dismiss: () => {
      child.kill('SIGKILL');
    },
  };
}
