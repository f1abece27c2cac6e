import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { settingsReference } from '../config/index.js';

const run = promisify(execFile);

describe('maestro config settings', () => {
  it('prints the settings reference as Markdown, and as JSON rows with --json', async () => {
    const [markdown, json] = await Promise.all([run(process.execPath, ['bin/maestro.js', 'config', 'settings']), run(process.execPath, ['bin/maestro.js', 'config', 'settings', '--json'])]);
    expect(markdown.stdout).toMatch(/^# Maestro settings\n/);
    expect(markdown.stdout).toContain('| `MAESTRO_TASK_QUEUE` | `taskQueue` | `maestro` | Task queue the worker polls and runs are started on. |');
    expect(JSON.parse(json.stdout)).toEqual(settingsReference());
  });
});
