/**
 * The usage ledger: what each task attempt and each run cost, in the registry's database (store
 * migration 4), read by budgets (`launchRun`, the worker's attempt checks), `GET /usage` and the
 * operations view.
 *
 * Units everywhere: times are ISO 8601 UTC text (`2026-12-06T16:44:49.123Z`, so text order is time
 * order on both engines), durations integer milliseconds, costs double-precision numbers in the cost model's
 * unit (`MAESTRO_COST_MODEL`; 0 when no price is set).
 *
 * Table `task_attempts` — one row per task attempt when it ends, written by the worker's `runTask`
 * (every ending: the task ran, came from the cache, was denied by the policy, failed, or was
 * cancelled). Primary key (run_id, task_id, attempt): a retried activity (a worker killed after
 * the write) records once (upsert). Indexed by (namespace, ended_at) and (namespace, workflow,
 * ended_at).
 * | column | meaning |
 * |---|---|
 * | namespace | Maestro namespace of the run |
 * | run_id | the run (= Temporal workflow id) |
 * | workflow, workflow_version | the workflow's name and version |
 * | task_id | task id; a forEach item's is `task[i]` |
 * | uses | exact catalog reference, `tasks/http.request@0.1.0` |
 * | attempt | 1-based attempt number (the interpreter's count) |
 * | runner | `runsOn`: local, container, k8s, serverless |
 * | resource_class | what the attempt is priced by per second: the runner |
 * | queued_at | when Temporal scheduled the activity (NULL when unknown) |
 * | started_at, ended_at | when the attempt began and ended in the worker |
 * | duration_ms | ended_at − started_at |
 * | outcome | succeeded, failed, cancelled, denied (policy), cached (outputs from the task cache) |
 * | error_code | the failure's code (`TASK_FAILED`, `POLICY_DENIED`, `BUDGET_EXCEEDED` …), NULL on success |
 * | cache_hit | 1 when the outputs came from the task cache, else 0 |
 * | cost | duration × price per second of the resource class + connector_calls × price per call (0 for denied and cached attempts' run time) |
 * | connector_calls | connections the attempt opened through the egress guard (HTTP, gRPC, Kafka, NATS, S3, SQL …); a pooled keep-alive connection another attempt opened is not counted again |
 *
 * Table `run_records` — one row per run: inserted when `launchRun` accepts it (status `RUNNING`,
 * `ended_at` NULL: its per-run price counts against the budget from then on), completed by the
 * worker when the run ends (the same end that writes the receipt). A run started outside
 * `launchRun` (a sub-workflow's run) gets its row at its end. Filter `ended_at IS NOT NULL` for
 * finished runs.
 * | column | meaning |
 * |---|---|
 * | run_id | primary key |
 * | namespace, workflow, workflow_version | as above |
 * | status | RUNNING until it ends, then SUCCEEDED, FAILED or CANCELLED |
 * | started_by | the principal's name that started it (NULL when unknown) |
 * | created_at | when the run was accepted (by `launchRun`, else when the workflow began) |
 * | started_at | when its first task attempt began (NULL when none ran) |
 * | ended_at | when it ended (NULL while running) |
 * | duration_ms | ended_at − created_at |
 * | queue_ms | started_at − created_at: admission and concurrency-key queues, schedule-to-start |
 * | error_code | the run's failure code, NULL unless FAILED |
 * | run_price | the per-run price charged when it was accepted |
 * | cost | run_price + the cost of all its task attempts (set when it ends; run_price until then) |
 *
 * A namespace's usage over [from, to) is the cost of the attempts that ended in it plus the run
 * prices of the runs accepted in it ({@link UsageLedger.usageTotal}).
 *
 * Table `usage_daily` — each namespace's usage per UTC day (namespace, day `2026-12-06`, cost):
 * the same sums as the rows above, kept in their transactions, so a budget's period (whole UTC
 * days) is summed from at most 31 rows however many attempts it had.
 *
 * Table `budget_alerts` — the budget warnings sent: (namespace, period_start, threshold 80 | 100,
 * sent_at); its primary key makes each one go out once per namespace and period.
 */
import type { SqlDriver, SqlExecutor, SqlRow, SqlValue } from './sql/driver.js';

/** How a task attempt ended. */
export type AttemptOutcome = 'succeeded' | 'failed' | 'cancelled' | 'denied' | 'cached';

/** One row of `task_attempts` (see the file's header for each column). */
export interface TaskAttemptRecord {
  namespace: string;
  runId: string;
  workflow: string;
  workflowVersion: string;
  /** `task[i]` for a forEach item. */
  taskId: string;
  uses: string;
  attempt: number;
  runner: string;
  resourceClass: string;
  /** @default undefined — unknown */
  queuedAt?: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  outcome: AttemptOutcome;
  /** @default undefined — it succeeded */
  errorCode?: string;
  cacheHit: boolean;
  cost: number;
  connectorCalls: number;
}

/** A run as `launchRun` accepts it. */
export interface RunStartRecord {
  namespace: string;
  runId: string;
  workflow: string;
  workflowVersion: string;
  startedBy: string;
  createdAt: string;
  /** The per-run price charged now. */
  runPrice: number;
}

/** A run as it ends, from the worker. */
export interface RunEndRecord {
  namespace: string;
  runId: string;
  workflow: string;
  workflowVersion: string;
  status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  /** When the workflow began: the `created_at` of a run that has no row yet. */
  workflowStartedAt: string;
  endedAt: string;
  /** @default undefined — it did not fail */
  errorCode?: string;
  /** The per-run price of a run that has no row yet (one `launchRun` did not accept). */
  runPrice: number;
}

/**
 * What {@link UsageLedger.recordRunEnd} saw besides writing: for a run that succeeded, the run of its
 * workflow (same namespace) that ended last before it, whose failure makes this success a recovery.
 */
export interface RunEndRecorded {
  /** @default undefined — the run did not succeed, or its workflow has no earlier finished run */
  previous?: { runId: string; status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED'; endedAt: string };
}

/** One row of `run_records` (see the file's header for each column). */
export interface RunRecord {
  namespace: string;
  runId: string;
  workflow: string;
  workflowVersion: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  startedBy?: string;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  queueMs?: number;
  errorCode?: string;
  runPrice: number;
  cost: number;
}

/** A namespace's budget as {@link UsageLedger.chargeRunStart} checks it. */
export interface BudgetWindow {
  /** Most the namespace may spend in [from, to). */
  limit: number;
  from: string;
  to: string;
}

/** Outcome of {@link UsageLedger.chargeRunStart}. */
export interface RunCharge {
  /** False when the run's price would take the usage over the limit: nothing was recorded. */
  charged: boolean;
  /** The namespace's usage in the window before this run (0 without a window). */
  usage: number;
}

/** Sums over a group of attempts. */
export interface UsageSums {
  cost: number;
  attempts: number;
  /** Sum of the attempts' durations. */
  durationMs: number;
  connectorCalls: number;
}

/** What {@link UsageLedger.usageReport} returns. */
export interface UsageReport {
  namespace: string;
  from: string;
  to: string;
  /** Attempts' cost plus the run prices. */
  total: number;
  /** Runs accepted in the window and the prices they were charged. */
  runs: { count: number; cost: number };
  /** The attempts' sums, all together. */
  attempts: UsageSums;
  /** By workflow: the attempts' sums, the runs accepted and their prices (`runCost`). */
  byWorkflow: (UsageSums & { workflow: string; runs: number; runCost: number })[];
  /** By task (exact `uses`). */
  byTask: (UsageSums & { uses: string })[];
  /** By resource class (the runner). */
  byResourceClass: (UsageSums & { resourceClass: string })[];
}

/** The ledger's reads and writes; the {@link Store} has them. */
export interface UsageLedger {
  /** Records (or records again, replacing) one attempt's row. */
  recordTaskAttempt(record: TaskAttemptRecord): Promise<void>;
  /**
   * Records a run as accepted, charging its price; with a budget window, only when the
   * namespace's usage in it plus the price stays within the limit, decided under a lock per
   * namespace so that concurrent starts (from any number of API replicas) are charged one by one.
   * A run id recorded already is not charged again (`charged` true).
   */
  chargeRunStart(record: RunStartRecord, budget?: BudgetWindow): Promise<RunCharge>;
  /** Takes back the charge of a run that did not start (its row, while it has not ended). */
  releaseRunCharge(runId: string): Promise<void>;
  /**
   * Completes a run's row at its end (inserts it for a run without one); idempotent. For a run that
   * succeeded, also reads the run of its workflow that ended last before it (index
   * `run_records_by_workflow`), in the same transaction.
   */
  recordRunEnd(record: RunEndRecord): Promise<RunEndRecorded>;
  /** A namespace's usage in [from, to): attempts that ended in it plus run prices charged in it. */
  usageTotal(namespace: string, from: string, to: string): Promise<number>;
  /** Sums of a namespace's usage in [from, to). */
  usageReport(namespace: string, from: string, to: string): Promise<UsageReport>;
  /** A run's attempt rows, by task id then attempt. */
  listTaskAttempts(runId: string): Promise<TaskAttemptRecord[]>;
  getRunRecord(runId: string): Promise<RunRecord | undefined>;
  /**
   * Claims the warning at `threshold` percent of a namespace's budget for the period starting at
   * `periodStart`: true for the one caller (of any process) that claimed it first.
   */
  claimBudgetAlert(namespace: string, periodStart: string, threshold: number): Promise<boolean>;
  /**
   * Deletes attempts that ended before `before` and runs that ended before it; returns how many
   * rows went. Running runs stay.
   */
  pruneUsage(before: Date): Promise<number>;
}

const ATTEMPT_COLUMNS = [
  'run_id',
  'task_id',
  'attempt',
  'namespace',
  'workflow',
  'workflow_version',
  'uses',
  'runner',
  'resource_class',
  'queued_at',
  'started_at',
  'ended_at',
  'duration_ms',
  'outcome',
  'error_code',
  'cache_hit',
  'cost',
  'connector_calls',
] as const;

/** Rows one DELETE of {@link UsageLedger.pruneUsage} removes (see the task log's prune). */
const PRUNE_BATCH = 5000;

function optionalText(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}

function optionalNumber(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

function attemptFromRow(row: SqlRow): TaskAttemptRecord {
  const queuedAt = optionalText(row.queued_at);
  const errorCode = optionalText(row.error_code);
  return {
    namespace: String(row.namespace),
    runId: String(row.run_id),
    workflow: String(row.workflow),
    workflowVersion: String(row.workflow_version),
    taskId: String(row.task_id),
    uses: String(row.uses),
    attempt: Number(row.attempt),
    runner: String(row.runner),
    resourceClass: String(row.resource_class),
    ...(queuedAt === undefined ? {} : { queuedAt }),
    startedAt: String(row.started_at),
    endedAt: String(row.ended_at),
    durationMs: Number(row.duration_ms),
    outcome: String(row.outcome) as AttemptOutcome,
    ...(errorCode === undefined ? {} : { errorCode }),
    cacheHit: Number(row.cache_hit) === 1,
    cost: Number(row.cost),
    connectorCalls: Number(row.connector_calls),
  };
}

function runFromRow(row: SqlRow): RunRecord {
  const optional = {
    startedBy: optionalText(row.started_by),
    startedAt: optionalText(row.started_at),
    endedAt: optionalText(row.ended_at),
    durationMs: optionalNumber(row.duration_ms),
    queueMs: optionalNumber(row.queue_ms),
    errorCode: optionalText(row.error_code),
  };
  return {
    namespace: String(row.namespace),
    runId: String(row.run_id),
    workflow: String(row.workflow),
    workflowVersion: String(row.workflow_version),
    status: String(row.status) as RunRecord['status'],
    createdAt: String(row.created_at),
    runPrice: Number(row.run_price),
    cost: Number(row.cost),
    ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)),
  };
}

function sums(row: SqlRow): UsageSums {
  return { cost: Number(row.cost ?? 0), attempts: Number(row.attempts ?? 0), durationMs: Number(row.duration_ms ?? 0), connectorCalls: Number(row.connector_calls ?? 0) };
}

const SUMS = 'COALESCE(SUM(cost), 0) AS cost, COUNT(*) AS attempts, COALESCE(SUM(duration_ms), 0) AS duration_ms, COALESCE(SUM(connector_calls), 0) AS connector_calls';

/** The UTC day (`2026-12-06`) of an ISO 8601 UTC time. */
function dayOf(time: string): string {
  return new Date(time).toISOString().slice(0, 10);
}

/** Whether an ISO time is a UTC midnight: the bound of a window {@link usage_daily} can sum. */
function isMidnight(time: string): boolean {
  return new Date(time).toISOString().endsWith('T00:00:00.000Z');
}

/** Adds `cost` (negative: takes it back) to a namespace's usage of the day of `time`. */
async function addDaily(tx: SqlExecutor, namespace: string, time: string, cost: number): Promise<void> {
  if (cost === 0) return;
  await tx.run(
    `INSERT INTO usage_daily (namespace, day, cost) VALUES ($1, $2, $3)
       ON CONFLICT (namespace, day) DO UPDATE SET cost = usage_daily.cost + excluded.cost`,
    [namespace, dayOf(time), cost],
  );
}

async function usageIn(db: SqlExecutor, namespace: string, from: string, to: string): Promise<number> {
  if (isMidnight(from) && isMidnight(to)) {
    // Budget periods are whole UTC days: their usage is the daily totals', a few rows however busy.
    const [daily] = await db.all('SELECT COALESCE(SUM(cost), 0) AS usage FROM usage_daily WHERE namespace = $1 AND day >= $2 AND day < $3', [namespace, dayOf(from), dayOf(to)]);
    return Number(daily?.usage ?? 0);
  }
  const [row] = await db.all(
    `SELECT (SELECT COALESCE(SUM(cost), 0) FROM task_attempts WHERE namespace = $1 AND ended_at >= $2 AND ended_at < $3)
          + (SELECT COALESCE(SUM(run_price), 0) FROM run_records WHERE namespace = $1 AND created_at >= $2 AND created_at < $3) AS usage`,
    [namespace, from, to],
  );
  return Number(row?.usage ?? 0);
}

/** The ledger's statements over an open, migrated database (migration 4). */
export function createUsageLedger(db: SqlDriver): UsageLedger {
  return {
    async recordTaskAttempt(record) {
      const values: SqlValue[] = [
        record.runId,
        record.taskId,
        record.attempt,
        record.namespace,
        record.workflow,
        record.workflowVersion,
        record.uses,
        record.runner,
        record.resourceClass,
        record.queuedAt ?? null,
        record.startedAt,
        record.endedAt,
        Math.round(record.durationMs),
        record.outcome,
        record.errorCode ?? null,
        record.cacheHit ? 1 : 0,
        record.cost,
        record.connectorCalls,
      ];
      const placeholders = values.map((_, index) => `$${index + 1}`).join(', ');
      // The common case — a first write of an attempt that costs nothing — is one statement: the
      // daily totals do not change. A row written again, or one with a cost, takes the transaction.
      if (record.cost === 0) {
        const inserted = await db.run(`INSERT INTO task_attempts (${ATTEMPT_COLUMNS.join(', ')}) VALUES (${placeholders}) ON CONFLICT (run_id, task_id, attempt) DO NOTHING`, values);
        if (inserted === 1) return;
      }
      const updates = ATTEMPT_COLUMNS.slice(3).map((column) => `${column} = excluded.${column}`);
      await db.transaction(async (tx) => {
        // A row written again (a retried activity) replaces its cost in the daily totals.
        const [before] = await tx.all('SELECT namespace, ended_at, cost FROM task_attempts WHERE run_id = $1 AND task_id = $2 AND attempt = $3', [record.runId, record.taskId, record.attempt]);
        await tx.run(
          `INSERT INTO task_attempts (${ATTEMPT_COLUMNS.join(', ')}) VALUES (${placeholders})
             ON CONFLICT (run_id, task_id, attempt) DO UPDATE SET ${updates.join(', ')}`,
          values,
        );
        if (before !== undefined) await addDaily(tx, String(before.namespace ?? record.namespace), String(before.ended_at), -Number(before.cost));
        await addDaily(tx, record.namespace, record.endedAt, record.cost);
      });
    },

    async chargeRunStart(record, budget) {
      // Nothing to read and nothing to add to the daily totals (no budget, a free run): one
      // statement instead of a transaction of three, on every run start of such a namespace.
      if (budget === undefined && record.runPrice === 0) {
        await db.run(
          `INSERT INTO run_records (run_id, namespace, workflow, workflow_version, status, started_by, created_at, run_price, cost)
             VALUES ($1, $2, $3, $4, 'RUNNING', $5, $6, 0, 0) ON CONFLICT (run_id) DO NOTHING`,
          [record.runId, record.namespace, record.workflow, record.workflowVersion, record.startedBy, record.createdAt],
        );
        return { charged: true, usage: 0 };
      }
      return db.transaction(async (tx) => {
        if (budget !== undefined) await tx.lock(`maestro_budget:${record.namespace}`);
        const existing = await tx.all('SELECT run_id FROM run_records WHERE run_id = $1', [record.runId]);
        const usage = budget === undefined ? 0 : await usageIn(tx, record.namespace, budget.from, budget.to);
        if (existing.length > 0) return { charged: true, usage };
        if (budget !== undefined && usage + record.runPrice > budget.limit) return { charged: false, usage };
        await tx.run(
          `INSERT INTO run_records (run_id, namespace, workflow, workflow_version, status, started_by, created_at, run_price, cost)
             VALUES ($1, $2, $3, $4, 'RUNNING', $5, $6, $7, $7)`,
          [record.runId, record.namespace, record.workflow, record.workflowVersion, record.startedBy, record.createdAt, record.runPrice],
        );
        await addDaily(tx, record.namespace, record.createdAt, record.runPrice);
        return { charged: true, usage };
      });
    },

    releaseRunCharge(runId) {
      return db.transaction(async (tx) => {
        const [row] = await tx.all('DELETE FROM run_records WHERE run_id = $1 AND ended_at IS NULL RETURNING namespace, created_at, run_price', [runId]);
        if (row !== undefined) await addDaily(tx, String(row.namespace), String(row.created_at), -Number(row.run_price));
      });
    },

    recordRunEnd(record) {
      return db.transaction(async (tx) => {
        const [existing] = await tx.all('SELECT created_at, run_price FROM run_records WHERE run_id = $1', [record.runId]);
        const [attempts] = await tx.all('SELECT MIN(started_at) AS started_at, COALESCE(SUM(cost), 0) AS cost FROM task_attempts WHERE run_id = $1', [record.runId]);
        const createdAt = existing === undefined ? record.workflowStartedAt : String(existing.created_at);
        const runPrice = existing === undefined ? record.runPrice : Number(existing.run_price);
        // A run `launchRun` did not charge (a sub-workflow's) is charged its price now.
        if (existing === undefined) await addDaily(tx, record.namespace, createdAt, runPrice);
        const startedAt = optionalText(attempts?.started_at);
        const cost = runPrice + Number(attempts?.cost ?? 0);
        const durationMs = Math.max(0, Date.parse(record.endedAt) - Date.parse(createdAt));
        const queueMs = startedAt === undefined ? null : Math.max(0, Date.parse(startedAt) - Date.parse(createdAt));
        const values: SqlValue[] = [
          record.runId,
          record.namespace,
          record.workflow,
          record.workflowVersion,
          record.status,
          createdAt,
          startedAt ?? null,
          record.endedAt,
          durationMs,
          queueMs,
          record.errorCode ?? null,
          runPrice,
          cost,
        ];
        await tx.run(
          `INSERT INTO run_records (run_id, namespace, workflow, workflow_version, status, created_at, started_at, ended_at, duration_ms, queue_ms, error_code, run_price, cost)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, started_at = excluded.started_at, ended_at = excluded.ended_at,
               duration_ms = excluded.duration_ms, queue_ms = excluded.queue_ms, error_code = excluded.error_code, cost = excluded.cost`,
          values,
        );
        if (record.status !== 'SUCCEEDED') return {};
        const [previous] = await tx.all(
          `SELECT run_id, status, ended_at FROM run_records
             WHERE namespace = $1 AND workflow = $2 AND ended_at IS NOT NULL AND ended_at < $3 AND run_id <> $4
             ORDER BY ended_at DESC LIMIT 1`,
          [record.namespace, record.workflow, record.endedAt, record.runId],
        );
        return previous === undefined ? {} : { previous: { runId: String(previous.run_id), status: String(previous.status) as 'SUCCEEDED' | 'FAILED' | 'CANCELLED', endedAt: String(previous.ended_at) } };
      });
    },

    usageTotal: (namespace, from, to) => usageIn(db, namespace, from, to),

    async usageReport(namespace, from, to) {
      const window = 'namespace = $1 AND ended_at >= $2 AND ended_at < $3';
      const params = [namespace, from, to];
      const [all] = await db.all(`SELECT ${SUMS} FROM task_attempts WHERE ${window}`, params);
      const byWorkflow = await db.all(`SELECT workflow, ${SUMS} FROM task_attempts WHERE ${window} GROUP BY workflow`, params);
      const byTask = await db.all(`SELECT uses, ${SUMS} FROM task_attempts WHERE ${window} GROUP BY uses ORDER BY cost DESC, uses`, params);
      const byClass = await db.all(`SELECT resource_class, ${SUMS} FROM task_attempts WHERE ${window} GROUP BY resource_class ORDER BY cost DESC, resource_class`, params);
      const runs = await db.all(
        'SELECT workflow, COUNT(*) AS runs, COALESCE(SUM(run_price), 0) AS run_cost FROM run_records WHERE namespace = $1 AND created_at >= $2 AND created_at < $3 GROUP BY workflow',
        params,
      );
      const workflows = new Map<string, UsageReport['byWorkflow'][number]>();
      const entry = (workflow: string): UsageReport['byWorkflow'][number] => {
        const found = workflows.get(workflow) ?? { workflow, cost: 0, attempts: 0, durationMs: 0, connectorCalls: 0, runs: 0, runCost: 0 };
        workflows.set(workflow, found);
        return found;
      };
      for (const row of byWorkflow) Object.assign(entry(String(row.workflow)), sums(row));
      for (const row of runs) Object.assign(entry(String(row.workflow)), { runs: Number(row.runs), runCost: Number(row.run_cost) });
      const attempts = sums(all ?? {});
      const runCount = runs.reduce((total, row) => total + Number(row.runs), 0);
      const runCost = runs.reduce((total, row) => total + Number(row.run_cost), 0);
      return {
        namespace,
        from,
        to,
        total: attempts.cost + runCost,
        runs: { count: runCount, cost: runCost },
        attempts,
        byWorkflow: [...workflows.values()].sort((a, b) => b.cost + b.runCost - (a.cost + a.runCost) || a.workflow.localeCompare(b.workflow)),
        byTask: byTask.map((row) => ({ uses: String(row.uses), ...sums(row) })),
        byResourceClass: byClass.map((row) => ({ resourceClass: String(row.resource_class), ...sums(row) })),
      };
    },

    async listTaskAttempts(runId) {
      const rows = await db.all(`SELECT * FROM task_attempts WHERE run_id = $1 ORDER BY task_id, attempt`, [runId]);
      return rows.map(attemptFromRow);
    },

    async getRunRecord(runId) {
      const [row] = await db.all('SELECT * FROM run_records WHERE run_id = $1', [runId]);
      return row === undefined ? undefined : runFromRow(row);
    },

    async claimBudgetAlert(namespace, periodStart, threshold) {
      const inserted = await db.run(
        'INSERT INTO budget_alerts (namespace, period_start, threshold, sent_at) VALUES ($1, $2, $3, $4) ON CONFLICT (namespace, period_start, threshold) DO NOTHING',
        [namespace, periodStart, threshold, new Date().toISOString()],
      );
      return inserted > 0;
    },

    async pruneUsage(before) {
      // In batches, each its own statement, as the task log prunes (SQLite runs on one thread).
      const cutoff = before.toISOString();
      let deleted = 0;
      for (const [table, key] of [
        ['task_attempts', 'run_id, task_id, attempt'],
        ['run_records', 'run_id'],
      ] as const) {
        for (;;) {
          const batch = await db.run(`DELETE FROM ${table} WHERE (${key}) IN (SELECT ${key} FROM ${table} WHERE ended_at < $1 LIMIT ${PRUNE_BATCH})`, [cutoff]);
          deleted += batch;
          if (batch < PRUNE_BATCH) break;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      // Bookkeeping, not counted: the daily totals and warnings of periods that began before the
      // cutoff (a period ends at most 31 days after it began).
      const periodCutoff = new Date(before.getTime() - 31 * 86_400_000).toISOString();
      await db.run('DELETE FROM budget_alerts WHERE period_start < $1', [periodCutoff]);
      await db.run('DELETE FROM usage_daily WHERE day < $1', [dayOf(periodCutoff)]);
      return deleted;
    },
  };
}
