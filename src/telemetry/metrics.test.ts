import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createProcessMetrics, errorCodeLabel, FOLDED, INSTRUMENTS, LabelGuard, otlpMetricReader, taskLabel } from './metrics.js';

/** Series lines (not comments) of `name` in a Prometheus text. */
function series(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

describe('LabelGuard', () => {
  it('keeps at most the cap of distinct values per label and folds the rest into other, telling each fold', () => {
    const folds: string[] = [];
    const guard = new LabelGuard({ maxLabelValues: 2 }, (metric, label) => folds.push(`${metric}.${label}`));
    expect(guard.bound('m', { uses: 'a' })).toEqual({ uses: 'a' });
    expect(guard.bound('m', { uses: 'b' })).toEqual({ uses: 'b' });
    expect(guard.bound('m', { uses: 'c' })).toEqual({ uses: FOLDED });
    expect(guard.bound('m', { uses: 'a' })).toEqual({ uses: 'a' });
    // Caps are per instrument.
    expect(guard.bound('n', { uses: 'c' })).toEqual({ uses: 'c' });
    expect(folds).toEqual(['m.uses']);
  });

  it('counts a task id with its namespace and workflow, against one cap for the whole metric', () => {
    const guard = new LabelGuard({ maxTasks: 3, maxWorkflows: 10 });
    for (const task of ['a', 'b', 'c', 'd']) guard.bound('m', { namespace: 'n', workflow: 'noisy', task });
    expect(guard.bound('m', { namespace: 'n', workflow: 'noisy', task: 'e' }).task).toBe(FOLDED);
    // The same task id in another workflow is another value: no room for it once the cap is reached.
    expect(guard.bound('m', { namespace: 'n', workflow: 'quiet', task: 'a' }).task).toBe(FOLDED);
    expect(guard.bound('m', { namespace: 'n', workflow: 'noisy', task: 'a' }).task).toBe('a');
  });

  it('cuts a hostile long value', () => {
    expect(String(new LabelGuard().bound('m', { route: 'x'.repeat(10_000) }).route)).toHaveLength(128);
  });
});

describe('labels', () => {
  it('maps unknown error codes to OTHER and drops forEach indexes from task ids', () => {
    expect(errorCodeLabel('TASK_TIMEOUT')).toBe('TASK_TIMEOUT');
    expect(errorCodeLabel('MY_OWN_CODE_42')).toBe('OTHER');
    expect(taskLabel('deploy[17]')).toBe('deploy');
    expect(taskLabel('deploy')).toBe('deploy');
  });
});

describe('process metrics', () => {
  it('a workflow author registering 10,000 task ids grows /metrics no further than the cap, and the folds are counted', async () => {
    const metrics = createProcessMetrics({ maxTasks: 50, env: {} });
    try {
      for (let i = 0; i < 10_000; i++) {
        metrics.add('maestro_task_attempts', 1, { namespace: 'evil', workflow: 'flood', task: `t${i}`, uses: 'tasks/noop@1.0.0', runner: 'local', outcome: 'succeeded', code: '' });
      }
      const text = await metrics.text();
      const attempts = series(text, 'maestro_task_attempts_total');
      expect(attempts).toHaveLength(51); // 50 task ids and `other`
      expect(attempts.find((line) => line.includes('task="other"'))).toMatch(/ 9950$/);
      expect(series(text, 'maestro_metric_labels_folded_total')).toEqual([expect.stringMatching(/metric="maestro_task_attempts",label="task".* 9950$/)]);
      expect(text.length).toBeLessThan(50_000);
    } finally {
      await metrics.shutdown();
    }
  });

  it('appends a foreign exposition, and notes one that fails instead of failing the scrape', async () => {
    const metrics = createProcessMetrics({ env: {} });
    try {
      metrics.addExposition(() => Promise.resolve('# TYPE temporal_num_pollers gauge\ntemporal_num_pollers 2\n'));
      metrics.addExposition(() => Promise.reject(new Error('down')));
      const text = await metrics.text();
      expect(text).toContain('temporal_num_pollers 2');
      expect(text).toContain('# a metrics source failed: Error: down');
    } finally {
      await metrics.shutdown();
    }
  });
});

describe('otlpMetricReader', () => {
  it('exports nothing without an endpoint or OTEL_METRICS_EXPORTER=otlp, or with none', () => {
    expect(otlpMetricReader({})).toBeUndefined();
    expect(otlpMetricReader({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_METRICS_EXPORTER: 'none' })).toBeUndefined();
    expect(otlpMetricReader({ OTEL_METRICS_EXPORTER: 'prometheus', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBeUndefined();
    expect(otlpMetricReader({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://127.0.0.1:4318/v1/metrics' })).toBeDefined();
  });

  it('refuses a protocol it cannot speak, naming it', () => {
    expect(() => otlpMetricReader({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/grpc/);
  });
});

describe('the metric reference', () => {
  it('docs/operations.md lists every instrument with its type and labels', () => {
    const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    for (const [name, spec] of Object.entries(INSTRUMENTS)) {
      expect(doc, name).toContain(`| \`${name}\` | ${spec.kind} | ${spec.labels.join(', ')} |`);
    }
  });
});
