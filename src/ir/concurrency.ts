/**
 * Concurrency keys (`spec.concurrency`, irVersion 3): the protocol between the run-start path, the
 * runs and the per-key lock workflow that holds up to `limit` run ids and a FIFO queue. Workflow-safe:
 * the interpreter and the lock workflow import it, and so do the API and the CLI.
 *
 * The run-start path acquires the key with the `acquire` update (Update-with-Start: the lock starts
 * on first use, and one lock serialises every start of its key, whichever API replica sends it); a
 * run started QUEUED sends `confirm` and waits for `granted`; every run sends `release` when it ends;
 * the lock watches its holders and drops those Temporal ended without a release (terminated, lost).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { ExpressionError, resolveTemplates } from './expr.js';
import type { ConcurrencyConflict, ConcurrencySpec, WorkflowIR } from './types.js';

/** Workflow type of the per-key lock. */
export const CONCURRENCY_LOCK_WORKFLOW = 'concurrencyLock';

/** Workflow ids of locks start with this, then `<namespace>:<sha256 of the key>`. */
export const CONCURRENCY_LOCK_PREFIX = 'maestro-concurrency:';

/** The longest evaluated key, in characters. */
export const CONCURRENCY_KEY_MAX = 256;

/** Input of the lock workflow (also carried over by its continue-as-new). */
export interface LockInput {
  /** The Maestro namespace whose runs share the lock. */
  namespace: string;
  /** The evaluated key (shown to operators; the workflow id carries its hash). */
  key: string;
  /** Carried over by continue-as-new. */
  holders?: LockHolder[];
  /** Carried over by continue-as-new. */
  queue?: LockWaiter[];
}

/** A run holding the key. */
export interface LockHolder {
  runId: string;
  /** When the lock granted it (workflow time, epoch ms): a holder Temporal does not know after a grace period is dropped. */
  since: number;
}

/** A run waiting for the key, and the limit it asked for. */
export interface LockWaiter {
  runId: string;
  limit: number;
}

/** Argument of the `acquire` update. */
export interface AcquireRequest {
  runId: string;
  /** 1 to `CONCURRENCY_LIMIT_MAX`. */
  limit: number;
  onConflict: ConcurrencyConflict;
}

/** What `acquire` answers. */
export interface AcquireResult {
  /** `granted`: the run holds the key; `queued`: it waits; `rejected`: it must not start. */
  outcome: 'granted' | 'queued' | 'rejected';
  /** The runs holding the key (before this one, when it was granted). */
  holders: string[];
  /** 1-based place in the queue when queued. */
  position?: number;
  /** Holders the caller must cancel (`cancel-running`): the new run waits for them at the head of the queue. */
  cancel?: string[];
}

/** What a lock shows: who holds it and who waits, in order. */
export interface LockView {
  namespace: string;
  key: string;
  holders: string[];
  queue: string[];
}

/** Takes the key, or queues for it, or is refused, as `onConflict` says. Rejects a malformed request without touching history. */
export const acquireUpdate = defineUpdate<AcquireResult, [AcquireRequest]>('acquire');
/** A run that started QUEUED says it exists; the lock answers with `granted` when it holds the key. */
export const confirmSignal = defineSignal<[{ runId: string; limit: number }]>('confirm');
/** A run ended (or left the queue): its place goes to the next. */
export const releaseSignal = defineSignal<[{ runId: string }]>('release');
/** Sent by the lock to a run: it now holds the key. */
export const grantedSignal = defineSignal('concurrencyGranted');
/** The lock's holders and queue. */
export const lockQuery = defineQuery<LockView>('lock');

/**
 * Evaluates a workflow's concurrency key over the run's params.
 * @throws ExpressionError when the key does not evaluate to a non-empty string of at most {@link CONCURRENCY_KEY_MAX} characters.
 */
export function concurrencyKeyOf(ir: WorkflowIR & { concurrency: ConcurrencySpec }, params: Record<string, unknown>): string {
  const integers = new Set(ir.parameters.filter((p) => p.type === 'integer').map((p) => p.name));
  const value = resolveTemplates(ir.concurrency.key, { params, tasks: {} }, integers);
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new ExpressionError(`concurrency.key must evaluate to a string, got ${value === null ? 'null' : typeof value}`, ir.concurrency.key);
  }
  const key = String(value);
  if (key === '' || key.length > CONCURRENCY_KEY_MAX) {
    throw new ExpressionError(`concurrency.key must evaluate to 1 to ${CONCURRENCY_KEY_MAX} characters, got ${key.length}`, ir.concurrency.key);
  }
  return key;
}
