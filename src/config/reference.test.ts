import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { CONFIG_FILE_ENV, SECTIONS, loadConfig, settingsMarkdown, settingsReference } from './index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Names of the environment Maestro gives a task's container or Job: set by Maestro, never read by it. */
const TASK_ENVIRONMENT = ['MAESTRO_RUN_ID', 'MAESTRO_TASK_ID', 'MAESTRO_ATTEMPT', 'MAESTRO_OUTPUTS'];
/** Secret values of the `env` secrets source, `MAESTRO_SECRET_<NAME>`: named by the secret, not a setting. */
const SECRET_VALUE = /^MAESTRO_SECRET_/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('the settings reference', () => {
  const reference = settingsReference();

  it('declares every MAESTRO_* and TEMPORAL_* variable named in src/, workers/ and interpreters/', () => {
    const texts = ['src', 'workers', 'interpreters'].flatMap((dir) => sourceFiles(join(ROOT, dir))).map((file) => readFileSync(file, 'utf8'));
    const named = new Set(texts.flatMap((text) => [...text.matchAll(/\b(?:MAESTRO|TEMPORAL)_[A-Z0-9_]*[A-Z0-9]\b/g)].map((match) => match[0])));
    // Code constants spelled like variables (search attributes, predicate types, labels) are not read from the environment.
    const constants = new Set(texts.flatMap((text) => [...text.matchAll(/\bconst ((?:MAESTRO|TEMPORAL)_[A-Z0-9_]+)\s*=/g)].map((match) => match[1])));
    const declared = new Set([CONFIG_FILE_ENV, ...reference.flatMap((row) => [row.env, ...(row.deprecatedEnv === undefined ? [] : [row.deprecatedEnv])])]);
    const undeclared = [...named].filter((name) => !declared.has(name) && !constants.has(name) && !TASK_ENVIRONMENT.includes(name) && !SECRET_VALUE.test(name));
    expect(undeclared).toEqual([]);
    expect(TASK_ENVIRONMENT.filter((name) => !named.has(name))).toEqual([]);
  });

  it('names each variable once, with a description', () => {
    const variables = reference.flatMap((row) => [row.env, ...(row.deprecatedEnv === undefined ? [] : [row.deprecatedEnv])]);
    expect(variables.length).toBe(new Set(variables).size);
    expect(reference.filter((row) => row.description.trim().length < 10).map((row) => row.key)).toEqual([]);
  });

  it('gives every setting that always has a value a default its schema accepts', () => {
    const loaded: Readonly<Record<string, unknown>> = loadConfig({});
    for (const section of SECTIONS) {
      const values = Object.fromEntries(Object.keys(section.schema.properties).filter((key) => key in loaded).map((key) => [key, loaded[key]]));
      expect([...Value.Errors(section.schema, values)].map((error) => `${section.name}${error.path}: ${error.message}`)).toEqual([]);
    }
  });

  it('prints a Markdown table row for every setting, with its default, secrets marked', () => {
    const markdown = settingsMarkdown();
    for (const row of reference) expect(markdown).toContain(`| \`${row.env}\``);
    expect(markdown).toContain('| `MAESTRO_PORT` | `port` | `8080` |');
    expect(markdown).toContain('| `MAESTRO_EGRESS_ALLOW` (deprecated: `MAESTRO_HTTP_ALLOW`) | `egressAllow` | `{}` |');
    expect(markdown).toMatch(/\| `MAESTRO_POLICY_TIMEOUT_MS` \| `policyTimeoutMs` \| unset: 500 \|/);
    expect(markdown).toMatch(/\| `MAESTRO_DATABASE_URL` .* Secret\. \|/);
  });
});
