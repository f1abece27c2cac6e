import { describe, expect, it } from 'vitest';
import { buildJob, buildSecret, jobLabels, jobName, k8sNamespaceFor, parseCollectorLog } from './job.js';

const attempt = { runId: 'run-1', taskId: 'deploy', attempt: 2, namespace: 'default' };
const small = { name: 'small', cpu: 0.5, memoryBytes: 512 * 1024 * 1024, timeoutMs: 90_500 };

describe('jobName', () => {
  it('is a DNS-1123 label of at most 63 characters, stable per attempt and distinct across attempts', () => {
    const long = { ...attempt, taskId: 'Very_Long task id '.repeat(10) + '[17]' };
    for (const ref of [attempt, long]) {
      const name = jobName(ref);
      expect(name.length).toBeLessThanOrEqual(63);
      expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(jobName(ref)).toBe(name);
    }
    expect(jobName(attempt)).not.toBe(jobName({ ...attempt, attempt: 3 }));
    expect(jobName(attempt)).not.toBe(jobName({ ...attempt, namespace: 'team-a' }));
  });
});

describe('k8sNamespaceFor', () => {
  it('maps configured namespaces and prefixes the rest', () => {
    expect(k8sNamespaceFor('team-a', { 'team-a': 'jobs-a' })).toBe('jobs-a');
    expect(k8sNamespaceFor('team-b', { 'team-a': 'jobs-a' })).toBe('maestro-team-b');
  });
});

describe('jobLabels', () => {
  it('keeps valid values and shortens invalid ones to a valid value with a hash', () => {
    const labels = jobLabels({ ...attempt, runId: `${'x'.repeat(80)}/weird id`, taskId: 'each[3]' });
    for (const value of Object.values(labels)) expect(value).toMatch(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);
    expect(labels['maestro.dev/run-id']?.length).toBeLessThanOrEqual(63);
    expect(jobLabels(attempt)['maestro.dev/run-id']).toBe('run-1');
  });
});

describe('buildJob', () => {
  it('sets backoffLimit 0, the deadline from the class, and references secrets instead of inlining them', () => {
    const job = buildJob({
      workload: { image: 'img:1', secrets: [{ name: 'api-key', as: 'env' }, { name: 'tls', as: 'file', path: '/etc/tls/key' }], network: true, readOnlyRootFilesystem: false },
      resources: small,
      attempt,
      k8sNamespace: 'maestro-default',
      ttlSecondsAfterFinished: 60,
      secretName: 'maestro-deploy-x',
    });
    expect(job.spec).toMatchObject({ backoffLimit: 0, ttlSecondsAfterFinished: 60, activeDeadlineSeconds: 91 });
    const pod = job.spec?.template.spec;
    const container = pod?.containers[0];
    expect(container?.resources).toEqual({ requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '500m', memory: '512Mi' } });
    expect(container?.env).toContainEqual({ name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'maestro-deploy-x', key: 's0' } } });
    expect(container?.volumeMounts).toEqual([{ name: 'secrets', mountPath: '/etc/tls/key', subPath: 's1', readOnly: true }]);
    expect(pod?.volumes).toEqual([{ name: 'secrets', secret: { secretName: 'maestro-deploy-x', defaultMode: 0o444, items: [{ key: 's1', path: 's1' }] } }]);
    expect(job.spec?.template.metadata?.labels).toMatchObject({ 'maestro.dev/network': 'allowed', 'maestro.dev/job': jobName(attempt) });
  });

  it('encodes secret values only in the Secret', () => {
    const secret = buildSecret('s', 'ns', attempt, ['a', 'b']);
    expect(secret.data).toEqual({ s0: 'YQ==', s1: 'Yg==' });
  });
});

describe('parseCollectorLog', () => {
  it('reads files back from the listing, base64 wrapped over lines', () => {
    const long = Buffer.alloc(200, 7);
    const wrapped = long.toString('base64').match(/.{1,76}/g) ?? [];
    const files = parseCollectorLog(['=== 5 a.txt', 'aGVsbG8=', `=== 200 dir/with space.bin`, ...wrapped, '=== 0 empty', '=== end', ''].join('\n'));
    expect(files.map((file) => [file.path, file.data.toString('base64')])).toEqual([
      ['a.txt', 'aGVsbG8='],
      ['dir/with space.bin', long.toString('base64')],
      ['empty', ''],
    ]);
  });

  it('refuses a listing cut short, or a file whose bytes do not match its size (TASK_FAILED, not retryable)', () => {
    expect(() => parseCollectorLog('=== 5 a.txt\naGVsbG8=\n')).toThrow(expect.objectContaining({ code: 'TASK_FAILED', retryable: false }));
    expect(() => parseCollectorLog('=== 6 a.txt\naGVsbG8=\n=== end\n')).toThrow(/has 5 of its 6 bytes/);
  });
});
