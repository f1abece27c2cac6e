/**
 * The operations view's figures for one namespace and window, computed by SQL aggregates over the
 * usage ledger (`run_records`, one row per finished run; `task_attempts`, one per task attempt)
 * and the admission queue, on SQLite and PostgreSQL alike. No query returns more rows than its
 * `LIMIT` (or one per time bucket), so the work the API does per request is bounded by the window
 * (at most {@link OPERATIONS_MAX_WINDOW_MS}) and never by loading rows into memory.
 *
 * Percentiles are exact nearest-rank percentiles computed in SQL: the rows of a group are ranked
 * by value with `ROW_NUMBER()` (window functions, which both engines have), and the p-th percentile
 * is the value ranked ⌈p·n/100⌉ — a value that occurred, never an interpolation.
 *
 * MTTR (mean time to recovery) is computed per workflow over its runs that ended in the window,
 * in the order they ended: an incident begins with a failed run whose previous run (in the window)
 * did not fail, and ends with the next successful run; its length is the time between the two
 * runs' ends. An incident still open at the window's end counts in `incidents`, not in the mean.
 * Cancelled runs neither begin nor end an incident.
 */
import { MaestroError } from '../errors/index.js';
import type { SqlDriver, SqlRow, SqlValue } from './sql/driver.js';

/** The longest window one query may cover: 31 days. */
export const OPERATIONS_MAX_WINDOW_MS = 31 * 24 * 3_600_000;
/** The most time buckets one query may ask for. */
export const OPERATIONS_MAX_BUCKETS = 500;
/** The smallest time bucket: one minute. */
export const OPERATIONS_MIN_BUCKET_MS = 60_000;
/** Bucket sizes chosen by default, smallest first: the first giving at most {@link DEFAULT_BUCKETS} buckets. */
const BUCKET_LADDER_MS = [60_000, 300_000, 900_000, 3_600_000, 3 * 3_600_000, 6 * 3_600_000, 24 * 3_600_000] as const;
const DAY_MS = 24 * 3_600_000;
/** How many buckets a default bucket size aims at: a readable chart. */
const DEFAULT_BUCKETS = 60;
/** Most workflows listed (by runs in the window). */
export const OPERATIONS_TOP_WORKFLOWS = 50;
/** Most tasks listed (by attempts in the window). */
export const OPERATIONS_TOP_TASKS = 50;
/** Most failing tasks listed (by failed attempts in the window). */
export const OPERATIONS_TOP_FAILING = 10;

/** What {@link readOperations} is asked for. */
export interface OperationsQuery {
  namespace: string;
  /** Start of the window (inclusive): runs and attempts that ended at or after it. */
  from: Date;
  /** End of the window (exclusive). */
  to: Date;
  /** Size of a time bucket of {@link OperationsReport.series}, a whole number of seconds ≥ 60. */
  bucketMs: number;
  /** "Now", for the admission backlog's oldest wait. @default new Date() */
  now?: Date;
}

/** p50 and p95 of a duration, in milliseconds; `null` without a value. */
export interface Percentiles {
  p50Ms: number | null;
  p95Ms: number | null;
}

/** Counts of runs by how they ended, and the share that succeeded. */
export interface RunCounts {
  runs: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** succeeded / (succeeded + failed); `null` when no run succeeded or failed. Cancelled runs do not count. */
  successRate: number | null;
}

/** Recovery from failures (see the module comment). */
export interface Recovery {
  /** Incidents that began in the window. */
  incidents: number;
  /** Of those, how many ended with a successful run in the window. */
  recovered: number;
  /** Mean length of the recovered incidents; `null` when none recovered. */
  mttrMs: number | null;
}

/** One workflow's figures. */
export interface WorkflowFigures extends RunCounts, Percentiles, Recovery {
  workflow: string;
}

/** One task's attempt durations. */
export interface TaskFigures extends Percentiles {
  workflow: string;
  taskId: string;
  attempts: number;
  failures: number;
}

/** A task with failed attempts, and the error codes they failed with (most frequent first). */
export interface FailingTask {
  workflow: string;
  taskId: string;
  attempts: number;
  failures: number;
  codes: { code: string; count: number }[];
}

/** Runs that ended in one time bucket. */
export interface SeriesBucket {
  /** Start of the bucket (ISO 8601). */
  start: string;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** Queue time (admission and concurrency keys) of the bucket's runs. */
  queueP50Ms: number | null;
  queueP95Ms: number | null;
}

/** The operations view of a namespace over a window. */
export interface OperationsReport {
  namespace: string;
  from: string;
  to: string;
  /** Size of each bucket of `series`, in seconds. */
  bucketSeconds: number;
  runs: RunCounts & Percentiles & Recovery;
  /** Runs waiting now, and how long runs that ended in the window waited before they started. */
  queue: Percentiles & {
    /** Runs in the namespace's admission queue now. */
    backlog: number;
    /** How long the oldest of them has waited, in milliseconds; `null` with an empty queue. */
    oldestWaitMs: number | null;
  };
  /** The workflows with the most runs (at most {@link OPERATIONS_TOP_WORKFLOWS}), most first. */
  workflows: WorkflowFigures[];
  /** The tasks with the most attempts (at most {@link OPERATIONS_TOP_TASKS}), most first. */
  tasks: TaskFigures[];
  /** The tasks with the most failed attempts (at most {@link OPERATIONS_TOP_FAILING}), most first. */
  failingTasks: FailingTask[];
  /** Every bucket of the window, oldest first, empty ones included. */
  series: SeriesBucket[];
}

/** The window the API resolves `from`, `to` and `bucket` to. */
export interface OperationsWindow {
  from: Date;
  to: Date;
  bucketMs: number;
}

/**
 * Resolves and checks a window: `to` defaults to `now`, `from` to 24 hours before `to`, and the
 * bucket to the smallest of 1 m, 5 m, 15 m, 1 h, 3 h, 6 h, 1 d giving about 60 buckets at most (the
 * span over the bucket, rounded, at most 60).
 *
 * @throws MaestroError `BAD_REQUEST` for `from` not before `to`, a window longer than 31 days, a
 *   bucket shorter than a minute or not whole seconds, or more than {@link OPERATIONS_MAX_BUCKETS} buckets.
 */
export function resolveOperationsWindow(input: { from?: Date; to?: Date; bucketSeconds?: number }, now: Date): OperationsWindow {
  const to = input.to ?? now;
  const from = input.from ?? new Date(to.getTime() - 24 * 3_600_000);
  const span = to.getTime() - from.getTime();
  if (!(span > 0)) throw new MaestroError('BAD_REQUEST', `the window's from (${from.toISOString()}) must be before its to (${to.toISOString()})`);
  if (span > OPERATIONS_MAX_WINDOW_MS) throw new MaestroError('BAD_REQUEST', `the window spans ${Math.ceil(span / 86_400_000)} days; at most 31 are allowed`);
  if (input.bucketSeconds === undefined) {
    // Rounded: a window a few milliseconds over an hour (`from` only, `to` = the server's now) keeps
    // the hour's 1-minute buckets instead of jumping to 5 minutes.
    const bucketMs = BUCKET_LADDER_MS.find((size) => Math.round(span / size) <= DEFAULT_BUCKETS) ?? DAY_MS;
    return { from, to, bucketMs };
  }
  const bucketMs = input.bucketSeconds * 1000;
  if (!Number.isInteger(input.bucketSeconds) || bucketMs < OPERATIONS_MIN_BUCKET_MS) throw new MaestroError('BAD_REQUEST', `bucket ${input.bucketSeconds} must be a whole number of seconds, at least 60`);
  const buckets = bucketStarts(from, to, bucketMs).length;
  if (buckets > OPERATIONS_MAX_BUCKETS) throw new MaestroError('BAD_REQUEST', `bucket ${input.bucketSeconds} s splits the window into ${buckets} buckets; at most ${OPERATIONS_MAX_BUCKETS} are allowed`);
  return { from, to, bucketMs };
}

/**
 * The starts (epoch ms) of the buckets covering `[from, to)`: multiples of `bucketMs` since the
 * epoch (UTC), the first at or before `from`, so the same bucket has the same start in every window.
 */
export function bucketStarts(from: Date, to: Date, bucketMs: number): number[] {
  const starts: number[] = [];
  for (let start = Math.floor(from.getTime() / bucketMs) * bucketMs; start < to.getTime(); start += bucketMs) starts.push(start);
  return starts;
}

/** The share that succeeded of runs that succeeded or failed; `null` when there are none. */
export function successRate(succeeded: number, failed: number): number | null {
  return succeeded + failed === 0 ? null : succeeded / (succeeded + failed);
}

/** Run statuses as the ledger records them. */
const SUCCEEDED = 'SUCCEEDED';
const FAILED = 'FAILED';
const CANCELLED = 'CANCELLED';
/** Outcomes of task attempts that failed, in the ledger: an error, or a policy denial. */
const ATTEMPT_FAILED = `('failed', 'denied')`;

/** Milliseconds since the epoch of an ISO 8601 text column, in each dialect. */
function epochMs(db: SqlDriver, column: string): string {
  return db.dialect === 'sqlite' ? `CAST(ROUND((julianday(${column}) - 2440587.5) * 86400000) AS INTEGER)` : `FLOOR(EXTRACT(EPOCH FROM CAST(${column} AS timestamptz)) * 1000)`;
}

/** The bucket (start / bucketMs) a time column falls in. `bucketMs` is a checked integer. */
function bucketOf(db: SqlDriver, column: string, bucketMs: number): string {
  return db.dialect === 'sqlite' ? `(${epochMs(db, column)} / ${bucketMs})` : `FLOOR(${epochMs(db, column)} / ${bucketMs})`;
}

/** A number column as the drivers return it (PostgreSQL's bigint and numeric arrive as text). */
function num(value: unknown): number {
  return Number(value ?? 0);
}

function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** Options of {@link groupedPercentiles}. */
interface GroupedQuery {
  table: 'run_records' | 'task_attempts';
  /** The group's key expressions, aliased `k0`, `k1` … in the result. */
  keys: string[];
  /** The value whose p50 and p95 are computed (NULLs are left out of them). */
  value: string;
  /** Extra aggregates over every row of the group, `expression AS name`. */
  aggregates: string[];
  /** Order of the groups, and how many are returned. @default every group, in key order */
  order?: string;
  limit?: number;
}

/**
 * One SQL statement computing, per group of the table's rows in the namespace and window, the
 * extra aggregates and the nearest-rank p50 and p95 of `value`: rows are ranked by value within
 * the group (NULLs last in both engines), and the row ranked ⌈p·n/100⌉ carries the percentile,
 * `(p·n + 99) / 100` in integer arithmetic.
 */
function groupedPercentiles(query: GroupedQuery): string {
  const keys = query.keys.map((key, index) => `${key} AS k${index}`).join(', ');
  const partition = query.keys.map((_, index) => `k${index}`).join(', ');
  return `WITH base AS (
      SELECT ${keys}, ${query.value} AS v, t.${query.table === 'run_records' ? 'status' : 'outcome'} FROM ${query.table} t
      WHERE t.namespace = $1 AND t.ended_at >= $2 AND t.ended_at < $3),
    ranked AS (
      SELECT base.*,
        ROW_NUMBER() OVER (PARTITION BY ${partition} ORDER BY CASE WHEN v IS NULL THEN 1 ELSE 0 END, v) AS rn,
        COUNT(v) OVER (PARTITION BY ${partition}) AS n
      FROM base)
    SELECT ${partition}, ${query.aggregates.join(', ')},
      MAX(CASE WHEN rn = (n * 50 + 99) / 100 THEN v END) AS p50,
      MAX(CASE WHEN rn = (n * 95 + 99) / 100 THEN v END) AS p95
    FROM ranked GROUP BY ${partition}
    ORDER BY ${query.order ?? partition}${query.limit === undefined ? '' : ` LIMIT ${query.limit}`}`;
}

const RUN_COUNTS = [
  'COUNT(*) AS runs',
  `SUM(CASE WHEN status = '${SUCCEEDED}' THEN 1 ELSE 0 END) AS succeeded`,
  `SUM(CASE WHEN status = '${FAILED}' THEN 1 ELSE 0 END) AS failed`,
  `SUM(CASE WHEN status = '${CANCELLED}' THEN 1 ELSE 0 END) AS cancelled`,
];

function runCounts(row: SqlRow): RunCounts {
  const succeeded = num(row.succeeded);
  const failed = num(row.failed);
  return { runs: num(row.runs), succeeded, failed, cancelled: num(row.cancelled), successRate: successRate(succeeded, failed) };
}

function percentiles(row: SqlRow | undefined): Percentiles {
  return { p50Ms: numOrNull(row?.p50), p95Ms: numOrNull(row?.p95) };
}

/**
 * Per workflow, its incidents, how many recovered and their summed length (see the module
 * comment): runs that succeeded or failed are ordered by end; a run whose status differs from the
 * previous one's is a change; a failed change begins an incident and the next change (a success)
 * ends it.
 */
function recoverySql(db: SqlDriver): string {
  return `WITH ordered AS (
      SELECT workflow, status, ended_at, run_id,
        LAG(status) OVER (PARTITION BY workflow ORDER BY ended_at, run_id) AS previous
      FROM run_records
      WHERE namespace = $1 AND ended_at >= $2 AND ended_at < $3 AND status IN ('${SUCCEEDED}', '${FAILED}')),
    changes AS (
      SELECT workflow, status, ended_at,
        LEAD(ended_at) OVER (PARTITION BY workflow ORDER BY ended_at, run_id) AS next_end
      FROM ordered WHERE previous IS NULL OR previous <> status)
    SELECT workflow, COUNT(*) AS incidents, COUNT(next_end) AS recovered,
      SUM(CASE WHEN next_end IS NULL THEN 0 ELSE ${epochMs(db, 'next_end')} - ${epochMs(db, 'ended_at')} END) AS repair_ms
    FROM changes WHERE status = '${FAILED}' GROUP BY workflow`;
}

function recovery(incidents: number, recovered: number, repairMs: number): Recovery {
  return { incidents, recovered, mttrMs: recovered === 0 ? null : Math.round(repairMs / recovered) };
}

/**
 * Runs the queries: at once on PostgreSQL (each on a pooled connection); one after the other on
 * SQLite, yielding to the event loop between them, because better-sqlite3 runs a statement on the
 * API's one thread — other requests are served between the queries of a long report.
 */
async function allQueries<T extends (() => Promise<SqlRow[]>)[]>(db: SqlDriver, queries: [...T]): Promise<{ [K in keyof T]: SqlRow[] }> {
  if (db.dialect === 'postgres') return (await Promise.all(queries.map((query) => query()))) as { [K in keyof T]: SqlRow[] };
  const results: SqlRow[][] = [];
  for (const query of queries) {
    results.push(await query());
    await new Promise((resolve) => setImmediate(resolve));
  }
  return results as { [K in keyof T]: SqlRow[] };
}

/** The figures of one namespace and window, from `db` (the store's database, its migrations applied). */
export async function readOperations(db: SqlDriver, { namespace, from, to, bucketMs, now = new Date() }: OperationsQuery): Promise<OperationsReport> {
  const window: SqlValue[] = [namespace, from.toISOString(), to.toISOString()];
  const failedAttempt = `CASE WHEN outcome IN ${ATTEMPT_FAILED} THEN 1 ELSE 0 END`;
  const [totals, queueRows, workflowRows, recoveryRows, taskRows, failingRows, seriesRows, backlogRows] = await allQueries(db, [
    () => db.all(groupedPercentiles({ table: 'run_records', keys: ['1'], value: 't.duration_ms', aggregates: RUN_COUNTS }), window),
    () => db.all(groupedPercentiles({ table: 'run_records', keys: ['1'], value: 't.queue_ms', aggregates: ['COUNT(*) AS runs'] }), window),
    () => db.all(groupedPercentiles({ table: 'run_records', keys: ['t.workflow'], value: 't.duration_ms', aggregates: RUN_COUNTS, order: 'runs DESC, k0', limit: OPERATIONS_TOP_WORKFLOWS }), window),
    () => db.all(recoverySql(db), window),
    () => db.all(
      groupedPercentiles({ table: 'task_attempts', keys: ['t.workflow', 't.task_id'], value: 't.duration_ms', aggregates: ['COUNT(*) AS attempts', `SUM(${failedAttempt}) AS failures`], order: 'attempts DESC, k0, k1', limit: OPERATIONS_TOP_TASKS }),
      window,
    ),
    () => db.all(failingTasksSql(failedAttempt), window),
    () => db.all(groupedPercentiles({ table: 'run_records', keys: [bucketOf(db, 't.ended_at', bucketMs)], value: 't.queue_ms', aggregates: RUN_COUNTS }), window),
    () => db.all(`SELECT COUNT(*) AS backlog, MIN(enqueued_at) AS oldest FROM admissions WHERE namespace = $1 AND state = 'queued'`, [namespace]),
  ]);
  const byWorkflow = new Map(recoveryRows.map((row) => [String(row.workflow), row]));
  let incidents = 0;
  let recovered = 0;
  let repairMs = 0;
  for (const row of recoveryRows) {
    incidents += num(row.incidents);
    recovered += num(row.recovered);
    repairMs += num(row.repair_ms);
  }
  const total = totals[0];
  const oldest = backlogRows[0]?.oldest;
  const series = new Map(seriesRows.map((row) => [num(row.k0) * bucketMs, row]));
  return {
    namespace,
    from: from.toISOString(),
    to: to.toISOString(),
    bucketSeconds: bucketMs / 1000,
    runs: { ...runCounts(total ?? {}), ...percentiles(total), ...recovery(incidents, recovered, repairMs) },
    queue: {
      backlog: num(backlogRows[0]?.backlog),
      oldestWaitMs: oldest === null || oldest === undefined ? null : Math.max(0, now.getTime() - Date.parse(String(oldest))),
      ...percentiles(queueRows[0]),
    },
    workflows: workflowRows.map((row) => {
      const workflow = String(row.k0);
      const repair = byWorkflow.get(workflow);
      return { workflow, ...runCounts(row), ...percentiles(row), ...recovery(num(repair?.incidents), num(repair?.recovered), num(repair?.repair_ms)) };
    }),
    tasks: taskRows.map((row) => ({ workflow: String(row.k0), taskId: String(row.k1), attempts: num(row.attempts), failures: num(row.failures), ...percentiles(row) })),
    failingTasks: failingTasks(failingRows),
    series: bucketStarts(from, to, bucketMs).map((start) => {
      const row = series.get(start);
      return {
        start: new Date(start).toISOString(),
        succeeded: num(row?.succeeded),
        failed: num(row?.failed),
        cancelled: num(row?.cancelled),
        queueP50Ms: numOrNull(row?.p50),
        queueP95Ms: numOrNull(row?.p95),
      };
    }),
  };
}

/**
 * The tasks with the most failed attempts (at most {@link OPERATIONS_TOP_FAILING}), one row per
 * task and error code of its failed attempts. `MATERIALIZED`: SQLite would otherwise evaluate
 * the top tasks again for every attempt it joins (minutes over 100,000 attempts).
 */
function failingTasksSql(failedAttempt: string): string {
  return `WITH failing AS MATERIALIZED (
      SELECT workflow, task_id, COUNT(*) AS attempts, SUM(${failedAttempt}) AS failures
      FROM task_attempts WHERE namespace = $1 AND ended_at >= $2 AND ended_at < $3
      GROUP BY workflow, task_id HAVING SUM(${failedAttempt}) > 0
      ORDER BY failures DESC, workflow, task_id LIMIT ${OPERATIONS_TOP_FAILING})
    SELECT f.workflow, f.task_id, f.attempts, f.failures, COALESCE(a.error_code, '') AS code, COUNT(*) AS count
    FROM failing f JOIN task_attempts a
      ON a.namespace = $1 AND a.ended_at >= $2 AND a.ended_at < $3 AND a.workflow = f.workflow AND a.task_id = f.task_id AND a.outcome IN ${ATTEMPT_FAILED}
    GROUP BY f.workflow, f.task_id, f.attempts, f.failures, COALESCE(a.error_code, '')`;
}

/** Groups the rows of {@link failingTasksSql} by task, most failures first, codes most frequent first. */
function failingTasks(rows: readonly SqlRow[]): FailingTask[] {
  const tasks = new Map<string, FailingTask>();
  for (const row of rows) {
    const key = JSON.stringify([row.workflow, row.task_id]);
    let task = tasks.get(key);
    if (!task) {
      task = { workflow: String(row.workflow), taskId: String(row.task_id), attempts: num(row.attempts), failures: num(row.failures), codes: [] };
      tasks.set(key, task);
    }
    task.codes.push({ code: String(row.code) || 'UNKNOWN', count: num(row.count) });
  }
  const ordered = [...tasks.values()].sort((a, b) => b.failures - a.failures || a.workflow.localeCompare(b.workflow) || a.taskId.localeCompare(b.taskId));
  for (const task of ordered) task.codes.sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
  return ordered;
}
