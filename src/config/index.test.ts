import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { extendConfig, loadConfig } from './index.js';

function configFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'maestro-config-')), 'maestro.yaml');
  writeFileSync(file, text);
  return file;
}

function errorOf(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    expect({ ...loadConfig({}) }).toEqual({
      temporalPort: 7233,
      temporalNamespace: 'default',
      taskQueue: 'maestro',
      dataDir: resolve('.maestro'),
      artifactDir: resolve('.maestro', 'artifacts'),
      releasesDir: resolve('.maestro', 'releases'),
      port: 8080,
      host: '127.0.0.1',
      uiPort: 8233,
      largeOutputBytes: 262_144,
      logLevel: 'info',
      egressAllow: {},
      fileRoots: [],
      secrets: {},
      secretsSource: 'env',
      subWorkflowMaxDepth: 5,
      costModel: {},
      budgets: {},
      workerMetricsPort: 9464,
      workerMetricsHost: '127.0.0.1',
      metricsMaxWorkflows: 500,
      metricsMaxTasks: 2000,
      metricsMaxLabelValues: 200,
      workerDrainTimeoutMs: 30_000,
      apiDrainDelayMs: 0,
      apiDrainTimeoutMs: 10_000,
    });
  });

  it('reads every variable, and the artifact folder follows the data folder', () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: 'temporal.example:7233',
      MAESTRO_TEMPORAL_NAMESPACE: 'ops',
      MAESTRO_TASK_QUEUE: 'q1',
      MAESTRO_DATA_DIR: '/var/maestro',
      MAESTRO_TEMPORAL_BIN: '/opt/temporal',
      MAESTRO_PORT: '9000',
      MAESTRO_HOST: '0.0.0.0',
      MAESTRO_TEMPORAL_UI_PORT: '0',
      MAESTRO_TEMPORAL_UI_URL: 'https://temporal-ui.example',
      MAESTRO_LARGE_OUTPUT_BYTES: '1024',
      MAESTRO_LOG_LEVEL: 'DEBUG',
    });
    expect(config).toMatchObject({
      temporalAddress: 'temporal.example:7233',
      temporalNamespace: 'ops',
      taskQueue: 'q1',
      dataDir: '/var/maestro',
      artifactDir: '/var/maestro/artifacts',
      temporalBin: '/opt/temporal',
      port: 9000,
      host: '0.0.0.0',
      uiPort: 0,
      temporalUiUrl: 'https://temporal-ui.example',
      largeOutputBytes: 1024,
      logLevel: 'debug',
    });
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ MAESTRO_PORT: '', TEMPORAL_ADDRESS: ' ' }).port).toBe(8080);
  });

  it.each([
    ['MAESTRO_PORT', 'eighty'],
    ['MAESTRO_PORT', '70000'],
    ['MAESTRO_LARGE_OUTPUT_BYTES', '0'],
    ['MAESTRO_LOG_LEVEL', 'loud'],
    ['MAESTRO_TEMPORAL_UI_URL', 'not a url'],
    ['TEMPORAL_ADDRESS', 'localhost'],
  ])('rejects %s=%s, naming the variable', (variable, value) => {
    const error = errorOf(() => loadConfig({ [variable]: value }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(new RegExp(`^${variable} must be`));
  });

  it('reads MAESTRO_CONFIG, resolves its paths against the file, and lets the environment win', () => {
    const file = configFile('taskQueue: from-file\nport: 9001\ndataDir: state\n');
    const config = loadConfig({ MAESTRO_CONFIG: file, MAESTRO_PORT: '9002' });
    expect(config.taskQueue).toBe('from-file');
    expect(config.port).toBe(9002);
    expect(config.dataDir).toBe(join(file, '..', 'state'));
  });

  it('rejects unknown keys and bad values in the config file, naming the file and key', () => {
    const unknown = configFile('taskQeue: typo\n');
    expect(errorOf(() => loadConfig({ MAESTRO_CONFIG: unknown })).message).toContain(`${unknown}: unknown setting "taskQeue"`);
    const bad = configFile('uiPort: high\n');
    expect(errorOf(() => loadConfig({ MAESTRO_CONFIG: bad })).message).toContain(`${bad}: uiPort must be an integer`);
    expect(errorOf(() => loadConfig({ MAESTRO_CONFIG: '/no/such/maestro.yaml' })).message).toContain('cannot be read');
  });

  it('serializes with JSON.stringify to the settings themselves', () => {
    const config = loadConfig({ MAESTRO_TASK_QUEUE: 'q' });
    expect(JSON.parse(JSON.stringify(config))).toEqual({ ...config });
  });
});

describe('extendConfig', () => {
  it('applies checked changes and keeps the rest', () => {
    const base = loadConfig({ MAESTRO_TASK_QUEUE: 'q' });
    const extended = extendConfig(base, { temporalAddress: '127.0.0.1:7233', dataDir: '/tmp/m' });
    expect(extended).toMatchObject({ temporalAddress: '127.0.0.1:7233', taskQueue: 'q', artifactDir: '/tmp/m/artifacts' });
    expect(errorOf(() => extendConfig(base, { port: -1 })).message).toMatch(/^port must be an integer/);
  });
});
