/**
 * The console's Triggers pages in headless Chromium against the real API: the list shows each
 * trigger's runbook, source and last fire; a trigger's page its recent runs (linked to the run)
 * and pauses it.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hmacSha256Hex } from '../../src/triggers/index.js';
import { LAPTOP_VIEWPORT, launchChromium, prepareConsoleBrowser } from './browser.js';
import { manifest, startHarness, TOKENS, type Harness } from '../api/harness.js';

const SECRET = 'console-hook-secret-0123456789';
const UI_TIMEOUT = 20_000;

let h: Harness;
let browser: Browser;
let runId: string;

beforeAll(async () => {
  await prepareConsoleBrowser();
  process.env.MAESTRO_SECRET_CONSOLE_HOOK = SECRET;
  h = await startHarness({ config: (namespace) => ({ secrets: { 'console-hook': { namespaces: [namespace] } } }) });
  const target = await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }', { name: `console-hooked-${h.namespace}` }));
  const runbook = `apiVersion: maestro/v1\nkind: Runbook\nmetadata: { name: console-rb, namespace: ${h.namespace}, version: 1.0.0, allowList: { roles: [admin] } }\nspec: { inputs: [], workflowRef: "${target.name}@${target.version}" }\n`;
  expect((await h.call('POST', '/runbooks', { yaml: runbook })).status).toBe(201);
  expect((await h.call('POST', '/triggers', { json: { name: 'deploys', namespace: h.namespace, runbook: 'console-rb', auth: { secret: 'console-hook' } } })).status).toBe(201);
  const body = '{"event":"deploy"}';
  const fired = await fetch(`${h.api.url}/hooks/${h.namespace}/deploys`, { method: 'POST', headers: { 'x-maestro-signature': `sha256=${hmacSha256Hex(SECRET, Buffer.from(body))}` }, body });
  runId = ((await fired.json()) as { runIds: string[] }).runIds[0] ?? '';
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  delete process.env.MAESTRO_SECRET_CONSOLE_HOOK;
});

describe('the Triggers pages', () => {
  it('list the trigger with its runbook, source and last fire; its page shows the run and pauses it', async () => {
    const page = await browser.newPage({ viewport: LAPTOP_VIEWPORT });
    await page.goto(`${h.api.url}/console/triggers`);
    await page.getByLabel('API token').fill(TOKENS.operator);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const row = page.getByTestId('triggers').getByRole('row', { name: /deploys/ });
    await expect.poll(() => row.textContent(), { timeout: UI_TIMEOUT }).toContain(`webhook /hooks/${h.namespace}/deploys`);
    expect(await row.textContent()).toContain('console-rb');
    expect(await row.textContent()).not.toContain('never');
    await row.getByRole('link', { name: 'deploys' }).click();
    await expect.poll(() => page.getByTestId('trigger-runs').textContent(), { timeout: UI_TIMEOUT }).toContain(runId);
    expect(await page.getByTestId('trigger-detail').textContent()).toContain('secret console-hook');
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Unpause' }).isVisible(), { timeout: UI_TIMEOUT }).toBe(true);
    expect((await h.call('GET', `/triggers/deploys?namespace=${h.namespace}`)).body.paused).toBe(true);
    await page.getByTestId('trigger-runs').getByRole('link', { name: runId }).click();
    await expect.poll(() => page.url()).toContain(`/console/runs/${runId}`);
    await page.close();
  });
});
