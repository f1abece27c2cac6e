/**
 * `npm start` stopped the way process managers stop it: SIGTERM to `npm` reaches Maestro, which
 * drains the API and the worker and exits (the shell `npm` runs the script in used to die alone,
 * leaving Maestro running). Against the test's Temporal server (TEMPORAL_ADDRESS: no dev server).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, inject, it } from 'vitest';

it('stops when npm gets SIGTERM: Maestro shuts down, its API stops answering, npm exits', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'maestro-start-'));
  const npm = spawn('npm', ['start'], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      MAESTRO_TASK_QUEUE: `start-${randomUUID()}`,
      MAESTRO_DATA_DIR: dir,
      MAESTRO_PORT: '0',
      MAESTRO_DEV_TOKEN: 'start-test-token-0123456789abcdef',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = once(npm, 'exit');
  try {
    // The banner's API line, once Maestro is up.
    const apiUrl = () => /API\s+(http:\/\/\S+)/.exec(output)?.[1];
    await expect.poll(apiUrl, { timeout: 120_000, interval: 200 }).toBeDefined();
    const url = apiUrl() as string;
    const health = () => fetch(`${url}/healthz`).then((response) => response.status, () => 'refused');
    expect(await health()).toBe(200);

    npm.kill('SIGTERM');
    await exited;
    await expect.poll(health, { timeout: 20_000, interval: 200 }).toBe('refused');
    expect(output).toContain('maestro: SIGTERM, shutting down...');
  } finally {
    npm.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}, 180_000);
