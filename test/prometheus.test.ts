/**
 * deploy/prometheus/ against a real Prometheus (issue 23, SLOs and alerts): Maestro (`maestro api`
 * and a worker process on the test run's Temporal, each with its own `/metrics`) is scraped by
 * Prometheus 3 built from its Go module, with the shipped `prometheus.yml` (targets and token file
 * replaced) and the shipped rules (evaluated every second, `for:` dropped, so alerts fire within the
 * test). After runs that succeed and runs that fail, Prometheus' HTTP API shows both targets up, the
 * recorded ratios those runs imply (run starts: no error; task attempts: about half failed), and the
 * alerts they should raise (a dead target, a high failure ratio).
 * Also: every alert has a severity and a runbook section that exists in docs/operations.md, and the
 * Grafana dashboard (deploy/grafana/) is built on the recorded series, each query valid PromQL.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { anchors } from './helpers/markdown.js';
import { maestroEnv } from './helpers/maestro-process.js';
import { closedPort, freePort, startPrometheus, type PromAlert, type PrometheusPeer } from './peers/index.js';
import { spawnPeer, type SpawnedPeer } from './peers/spawn-peer.js';

const ROOT = join(import.meta.dirname, '..');
const DEPLOY = join(ROOT, 'deploy', 'prometheus');
const RULE_FILES = readdirSync(join(DEPLOY, 'rules')).filter((name) => name.endsWith('.rules.yml'));

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets: { refId: string; expr: string }[];
}
const DASHBOARD = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana', 'maestro.json'), 'utf8')) as { uid: string; title: string; panels: Panel[] };

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; interval?: string; rules: Rule[] }[];
}

/** A rule file of deploy/prometheus/rules, parsed. */
function ruleFile(name: string): RuleFile {
  return parse(readFileSync(join(DEPLOY, 'rules', name), 'utf8')) as RuleFile;
}

describe('deploy/prometheus rules', () => {
  const alerts = RULE_FILES.flatMap((name) => ruleFile(name).groups.flatMap((group) => group.rules.filter((rule) => rule.alert !== undefined)));
  const operations = anchors(readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8'));

  it('cover the SLOs, the backlog, MTTR and the targets', () => {
    expect(new Set(alerts.map((rule) => rule.alert))).toEqual(
      new Set([
        'MaestroRunStartErrorBudgetBurn',
        'MaestroRunStartLatencyBudgetBurn',
        'MaestroTaskFailureRatioHigh',
        'MaestroAdmissionBacklog',
        'MaestroRunQueueSlow',
        'MaestroTriggerConsumerLagging',
        'MaestroSlowRecovery',
        'MaestroScrapeFailing',
        'MaestroWorkerDown',
        'MaestroApiDown',
      ]),
    );
  });

  it.each(alerts.map((rule) => [`${rule.alert} ${rule.labels?.burn_window ?? ''}`, rule] as const))(
    '%s has a severity, a summary and a runbook section in docs/operations.md',
    (_, rule) => {
      expect(['critical', 'warning']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toBeTruthy();
      const [page, fragment] = (rule.annotations?.runbook_url ?? '').split('#');
      expect(page).toBe('docs/operations.md');
      expect([...operations]).toContain(fragment);
    },
  );
});

describe('deploy/grafana dashboard', () => {
  const recorded = new Set(RULE_FILES.flatMap((name) => ruleFile(name).groups.flatMap((group) => group.rules.flatMap((rule) => rule.record ?? []))));

  it('has panels with unique ids, laid out on the 24-column grid, each with a query', () => {
    expect(DASHBOARD.uid).toBe('maestro-slo');
    expect(new Set(DASHBOARD.panels.map((panel) => panel.id)).size).toBe(DASHBOARD.panels.length);
    for (const panel of DASHBOARD.panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
    }
  });

  it('reads only recorded series (and up), so it stays as cheap as the rules', () => {
    const series = DASHBOARD.panels.flatMap((panel) => panel.targets.flatMap((target) => [...target.expr.matchAll(/\b(maestro[:_][\w:]*|up)\b/g)].map((match) => match[1])));
    expect(series.length).toBeGreaterThan(0);
    for (const name of series) expect(name === 'up' || recorded.has(name!), name).toBe(true);
  });
});

/** The admin who registers and starts runs, and the principal Prometheus scrapes as: no namespace. */
const TOKEN = `prometheus-test-${randomUUID()}`;
const SCRAPE_TOKEN = `prometheus-scrape-${randomUUID()}`;
const TOKENS_FILE = stringify({
  tokens: [
    { name: 'admin', token: TOKEN, roles: ['admin'], namespaces: ['*'] },
    { name: 'prometheus', token: SCRAPE_TOKEN, roles: ['metrics'], namespaces: [] },
  ],
});
const WORKFLOW = 'slo-check';
/** One task that fails unless `pass` is true: runs succeed or fail by their params alone. */
const MANIFEST = `apiVersion: maestro/v1
kind: Workflow
metadata: { name: ${WORKFLOW}, version: 1.0.0, owner: platform@summit }
spec:
  policy: { purpose: testing, authority: maestro-tests, license: internal }
  parameters:
    - { name: pass, type: boolean, required: true }
  tasks:
    - { id: check, uses: tasks/schema.validate@0.1.0, cache: { enabled: false }, with: { schema: { const: true }, data: "\${params.pass}" } }
`;

/** The shipped rules, evaluated every second and with no `for:`, so an alert fires within the test. */
function fastRules(name: string): string {
  const file = ruleFile(name);
  for (const group of file.groups) {
    group.interval = '1s';
    for (const rule of group.rules) delete rule.for;
  }
  return stringify(file);
}

/** The shipped prometheus.yml, scraping `api` (with the token file) and `worker` every second. */
function scrapeConfig(api: string, workers: string[]): Record<string, unknown> {
  const config = parse(readFileSync(join(DEPLOY, 'prometheus.yml'), 'utf8')) as {
    global: Record<string, string>;
    rule_files: string[];
    scrape_configs: { job_name: string; authorization?: { credentials_file: string }; static_configs: { targets: string[] }[] }[];
  };
  config.global = { scrape_interval: '1s', evaluation_interval: '1s' };
  config.rule_files = RULE_FILES;
  for (const job of config.scrape_configs) {
    if (job.job_name === 'maestro-api') {
      job.static_configs = [{ targets: [api] }];
      if (job.authorization) job.authorization.credentials_file = 'maestro-token';
    }
    if (job.job_name === 'maestro-worker') job.static_configs = [{ targets: workers }];
  }
  return config;
}

describe('a real Prometheus scraping a running Maestro', () => {
  let dir: string;
  let api: SpawnedPeer | undefined;
  let worker: SpawnedPeer | undefined;
  let prometheus: PrometheusPeer;
  let apiUrl: string;
  let apiTarget: string;
  let workerTarget: string;
  let deadWorker: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'maestro-prometheus-test-'));
    const [apiPort, workerPort] = [await freePort(), await freePort()];
    await writeFile(join(dir, 'tokens.yaml'), TOKENS_FILE, { mode: 0o600 });
    // The API and a worker as production runs them: two processes on one data directory (one
    // process, as `maestro dev`, serves the same metrics on both endpoints).
    const env = maestroEnv({
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      MAESTRO_DATA_DIR: dir,
      MAESTRO_PORT: String(apiPort),
      MAESTRO_WORKER_METRICS_PORT: String(workerPort),
      MAESTRO_TASK_QUEUE: `prometheus-${randomUUID()}`,
      MAESTRO_AUTH_FILE: join(dir, 'tokens.yaml'),
      MAESTRO_LOG_LEVEL: 'warn',
    }) as Record<string, string>;
    apiUrl = `http://127.0.0.1:${apiPort}`;
    apiTarget = `127.0.0.1:${apiPort}`;
    workerTarget = `127.0.0.1:${workerPort}`;
    const serves = (url: string) => async (): Promise<boolean> => {
      try {
        return (await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })).status === 200;
      } catch {
        // Not listening yet.
        return false;
      }
    };
    [api, worker] = await Promise.all([
      spawnPeer({ name: 'maestro api', command: process.execPath, args: ['--import', 'tsx', 'src/cli/main.ts', 'api'], cwd: ROOT, env, ready: serves(`${apiUrl}/healthz`), startTimeoutMs: 120_000 }),
      spawnPeer({ name: 'maestro worker', command: process.execPath, args: ['--import', 'tsx', 'workers/worker.ts'], cwd: ROOT, env, ready: serves(`http://${workerTarget}/metrics`), startTimeoutMs: 120_000 }),
    ]);
    // A second worker target that nothing serves: a scrape that fails.
    deadWorker = `127.0.0.1:${await closedPort()}`;
    prometheus = await startPrometheus({
      config: scrapeConfig(apiTarget, [workerTarget, deadWorker]),
      files: { 'maestro-token': SCRAPE_TOKEN, ...Object.fromEntries(RULE_FILES.map((name) => [name, fastRules(name)])) },
    });
  }, 900_000);

  afterAll(async () => {
    await prometheus?.stop();
    await Promise.all([api?.stop(), worker?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  /** Calls the API as the dev token; returns the JSON body, throwing with it on a non-2xx answer. */
  async function callApi(path: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
    const response = await fetch(`${apiUrl}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...init.headers } });
    const body = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status} ${JSON.stringify(body)}`);
    return body;
  }

  /** Polls `expr` until `accept` holds for its samples; returns them. */
  async function until(expr: string, accept: (samples: { metric: Record<string, string>; value: number }[]) => boolean, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const samples = await prometheus.query(expr);
      if (accept(samples)) return samples;
      if (Date.now() > deadline) throw new Error(`${expr} never satisfied the test; last: ${JSON.stringify(samples)}\n${prometheus.output().slice(-2000)}`);
      await sleep(500);
    }
  }

  /** Starts a run of the workflow and waits for it to end; returns its status. */
  async function run(pass: boolean): Promise<string> {
    const { runId } = await callApi('/runs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workflowRef: `${WORKFLOW}@1.0.0`, params: { pass } }),
    });
    for (;;) {
      const { status } = await callApi(`/runs/${String(runId)}`);
      if (!['QUEUED', 'RUNNING', 'PENDING'].includes(String(status))) return String(status);
      await sleep(200);
    }
  }

  /** Polls the active alerts until `accept` holds for them (or 30 s pass); returns the last ones. */
  async function alertsWhen(accept: (alerts: PromAlert[]) => boolean): Promise<PromAlert[]> {
    const deadline = Date.now() + 30_000;
    let alerts = await prometheus.alerts();
    while (!accept(alerts) && Date.now() < deadline) {
      await sleep(500);
      alerts = await prometheus.alerts();
    }
    return alerts;
  }

  /** The active alerts named `name`. */
  const named = (alerts: PromAlert[], name: string): PromAlert[] => alerts.filter((alert) => alert.labels.alertname === name);

  it('scrapes the API (as a principal of no namespace) and the worker; a target that does not answer raises MaestroScrapeFailing', async () => {
    // That principal reads /metrics and nothing of any namespace.
    const asScraper = (path: string) => fetch(`${apiUrl}${path}`, { headers: { authorization: `Bearer ${SCRAPE_TOKEN}` } });
    expect((await asScraper('/metrics')).status).toBe(200);
    expect((await asScraper('/runs?namespace=default')).status).toBe(403);
    const up = await until('up', (samples) => samples.length === 3);
    expect(Object.fromEntries(up.map(({ metric, value }) => [metric.instance, [metric.job, value]]))).toEqual({
      [apiTarget]: ['maestro-api', 1],
      [workerTarget]: ['maestro-worker', 1],
      [deadWorker]: ['maestro-worker', 0],
    });
    // Before the first scrapes every target was missing, so the down alerts may have fired (with
    // the test's short `for`); once the API and one worker answer, only the dead one alerts.
    const alerts = await alertsWhen(
      (active) => named(active, 'MaestroScrapeFailing').length > 0 && named(active, 'MaestroWorkerDown').length === 0 && named(active, 'MaestroApiDown').length === 0,
    );
    expect(named(alerts, 'MaestroScrapeFailing')).toEqual([
      expect.objectContaining({ state: 'firing', labels: expect.objectContaining({ instance: deadWorker, job: 'maestro-worker', severity: 'warning' }) }),
    ]);
    expect(named(alerts, 'MaestroWorkerDown')).toEqual([]);
    expect(named(alerts, 'MaestroApiDown')).toEqual([]);
  });

  it('records the run-start SLI of real runs: no start failed, and the slow ratio is a ratio', async () => {
    await callApi('/workflows', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: MANIFEST });
    // Prometheus counts a counter's increase from the first scrape that saw it: let it see the
    // series of both outcomes before the runs whose rates the rules compute.
    expect([await run(true), await run(false)]).toEqual(['SUCCEEDED', 'FAILED']);
    await until('maestro_http_request_duration_seconds_count{method="POST",route="/runs"}', (samples) => samples.length > 0);
    await until(`maestro_task_attempts_total{workflow="${WORKFLOW}",outcome=~"succeeded|failed"}`, (samples) => samples.length === 2);
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push(await run(false), await run(true));
    expect(statuses).toEqual(['FAILED', 'SUCCEEDED', 'FAILED', 'SUCCEEDED', 'FAILED', 'SUCCEEDED']);
    await until('sum(maestro_http_request_duration_seconds_count{method="POST",route="/runs"})', (samples) => samples[0]?.value === 8);

    const [errors] = await until('maestro:run_start_errors:ratio_rate5m', (samples) => samples.length === 1 && !Number.isNaN(samples[0]!.value));
    expect(errors?.value).toBe(0);
    const [slow] = await until('maestro:run_start_slow:ratio_rate5m', (samples) => samples.length === 1 && !Number.isNaN(samples[0]!.value));
    expect(slow?.value).toBeGreaterThanOrEqual(0);
    expect(slow?.value).toBeLessThanOrEqual(1);
    expect(named(await prometheus.alerts(), 'MaestroRunStartErrorBudgetBurn')).toEqual([]);
  }, 180_000);

  it("records the task failure ratio of the runs' attempts, and alerts on it", async () => {
    await until(`sum(maestro_task_attempts_total{workflow="${WORKFLOW}"})`, (samples) => samples[0]?.value === 8);
    // 3 failed and 3 succeeded attempts since the series were first scraped: about half, but rate()
    // extrapolates each series over its own samples, and on a loaded machine the two outcomes'
    // scrapes fall unevenly (0.74 seen in CI). What must hold: the successes count against the
    // failures (below 1), and the failures count (above 0). promtool's unit tests pin the arithmetic.
    const [ratio] = await until(`maestro:task_failures:ratio_rate5m{workflow="${WORKFLOW}"}`, (samples) => samples.length === 1 && samples[0]!.value > 0.3);
    expect(ratio?.metric.namespace).toBe('default');
    expect(ratio?.value).toBeLessThan(1);
    const alerts = await alertsWhen((active) => named(active, 'MaestroTaskFailureRatioHigh').length > 0);
    expect(named(alerts, 'MaestroTaskFailureRatioHigh')).toEqual([
      expect.objectContaining({
        state: 'firing',
        labels: expect.objectContaining({ namespace: 'default', workflow: WORKFLOW, severity: 'warning' }),
        annotations: expect.objectContaining({ summary: `Tasks of default/${WORKFLOW} fail often.`, runbook_url: 'docs/operations.md#maestrotaskfailureratiohigh' }),
      }),
    ]);
    const failing = await prometheus.query('maestro:task_failures:increase1h');
    expect(failing.map(({ metric }) => metric)).toEqual([{ __name__: 'maestro:task_failures:increase1h', namespace: 'default', workflow: WORKFLOW, task: 'check', code: 'TASK_FAILED' }]);
  }, 120_000);

  it('answers every query of the Grafana dashboard', async () => {
    for (const panel of DASHBOARD.panels) for (const target of panel.targets) await prometheus.query(target.expr);
  });
});
