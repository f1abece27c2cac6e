/**
 * What every long-running Maestro process (`maestro worker`, `maestro api`) shares about its life:
 * - the probes it answers beside `/metrics`: `/healthz` (live: the process answers) and `/readyz`
 *   (ready: each dependency it needs is there, and it is not draining). What they say is a contract
 *   with whoever can reach the port, which is more than who may read runs: only ok/not-ready and
 *   the names of the failed checks, never an address, a version or an error text;
 * - its stop signals: the first SIGTERM or SIGINT drains it, a second one ends it at once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants } from 'node:os';

/** The outcome of each readiness check, by name (`temporal`, `store`, `policy`, `draining` …). */
export type ReadinessChecks = Readonly<Record<string, boolean>>;

/** The body of `/readyz` (`Readiness` in contracts/openapi.yaml). */
export interface Readiness {
  status: 'ready' | 'not-ready';
  /** The names of the checks that failed, in the order they were given. */
  missing: string[];
  checks: Record<string, { ok: boolean }>;
}

/** The `/readyz` answer for `checks`: 200 when every check passed, else 503. */
export function readinessReport(checks: ReadinessChecks): { status: 200 | 503; body: Readiness } {
  const missing = Object.entries(checks).filter(([, ok]) => !ok).map(([name]) => name);
  const body: Readiness = { status: missing.length === 0 ? 'ready' : 'not-ready', missing, checks: Object.fromEntries(Object.entries(checks).map(([name, ok]) => [name, { ok }])) };
  return { status: missing.length === 0 ? 200 : 503, body };
}

/** How long one readiness check may take before it counts as failed. */
export const CHECK_TIMEOUT_MS = 2_000;

/**
 * One readiness check: true when `probe` resolves within `timeoutMs`, false when it fails or takes
 * longer. Why it failed is not kept: a probe says which dependency failed, never why (the error
 * names addresses and peers).
 */
export async function passes(probe: () => Promise<unknown>, timeoutMs: number = CHECK_TIMEOUT_MS): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([
      probe().then(
        () => true,
        () => false,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** How long one readiness answer is reused. */
const READINESS_REUSE_MS = 1_000;

/**
 * `read`, called at most once per `reuseMs`: probes that come together (several load balancers,
 * or anyone hammering an open `/readyz`) share one round of checks instead of each costing calls
 * to Temporal, the store and OPA.
 */
export function sharedReadiness(read: () => Promise<ReadinessChecks>, reuseMs: number = READINESS_REUSE_MS): () => Promise<ReadinessChecks> {
  let last: { at: number; checks: Promise<ReadinessChecks> } | undefined;
  return () => {
    const now = Date.now();
    if (last === undefined || now - last.at >= reuseMs) last = { at: now, checks: read() };
    return last.checks;
  };
}

/** The probes of a process; see {@link serveProbe}. */
export interface Probes {
  /** Runs the readiness checks; must not throw (a check that fails is false). */
  readiness(): Promise<ReadinessChecks>;
}

/**
 * Answers `GET /healthz` and `GET /readyz` with `probes`; returns false for any other request,
 * which the caller answers.
 */
export function serveProbe(req: IncomingMessage, res: ServerResponse, probes: Probes): boolean {
  const path = req.url?.split('?')[0];
  if (req.method !== 'GET' || (path !== '/healthz' && path !== '/readyz')) return false;
  const answer = (status: number, body: unknown): void => {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.setHeader('cache-control', 'no-store');
    res.end(JSON.stringify(body));
  };
  if (path === '/healthz') answer(200, { status: 'ok' });
  else {
    probes.readiness().then(
      (checks) => {
        const { status, body } = readinessReport(checks);
        answer(status, body);
      },
      () => answer(503, { status: 'not-ready', missing: ['probe'], checks: { probe: { ok: false } } }),
    );
  }
  return true;
}

/** The signals that stop a process. */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * A signal this soon after the first is the same request come by another path (npx and tsx pass
 * on the signal they get, and Ctrl-C reaches every process of the terminal's group), not a second one.
 */
const SAME_REQUEST_MS = 1000;

/**
 * On the first SIGTERM or SIGINT, calls `drain` and exits 0 once it resolved (1 when it failed);
 * a second signal meanwhile (a second or more after the first) exits at once with 128 + its
 * number (143, 130), as a shell reports a killed process: an operator who cannot wait is not made to.
 *
 * @param name the process, in the lines logged (`worker`, `API`)
 * @example
 * exitAfterDrain('worker', () => worker.shutdown());
 */
export function exitAfterDrain(name: string, drain: () => Promise<void>, log: (line: string) => void = console.error): void {
  let signalledAt: number | undefined;
  const onSignal = (signal: (typeof STOP_SIGNALS)[number]): void => {
    if (signalledAt !== undefined) {
      if (Date.now() - signalledAt < SAME_REQUEST_MS) return;
      log(`maestro: ${signal} again, stopping the ${name} without draining`);
      process.exit(128 + constants.signals[signal]);
    }
    signalledAt = Date.now();
    log(`maestro: ${signal}, draining the ${name} (${signal} again stops it at once)...`);
    drain().then(
      () => process.exit(0),
      (error: unknown) => {
        log(`maestro: draining the ${name} failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
}
