/**
 * The console's Usage page in headless Chromium against the real API: a namespace's totals, its
 * budget bar and its workflows, as `GET /usage` reports them.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAPTOP_VIEWPORT, launchChromium, prepareConsoleBrowser } from './browser.js';
import { manifest, startHarness, TOKENS, type Harness } from '../api/harness.js';

const UI_TIMEOUT = 20_000;

let h: Harness;
let browser: Browser;
let workflow: string;

beforeAll(async () => {
  await prepareConsoleBrowser();
  h = await startHarness({ config: (namespace) => ({ costModel: { perRun: 0.5 }, budgets: { [namespace]: { period: 'month', limit: 2, onExceed: 'fail' } } }) });
  workflow = (await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }'))).name;
  const started = await h.call('POST', '/runs', { json: { workflowRef: `${workflow}@1.0.0`, namespace: h.namespace } });
  await h.waitRun(started.body.runId as string, (r) => r.status === 'SUCCEEDED');
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('the Usage page', () => {
  it("shows a namespace's total, its budget bar and its workflows", async () => {
    const page = await browser.newPage({ viewport: LAPTOP_VIEWPORT });
    await page.goto(`${h.api.url}/console/usage`);
    await page.getByLabel('API token').fill(TOKENS.viewer);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('textbox', { name: 'Namespace' }).fill(h.namespace);
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => page.getByTestId('usage-total').textContent(), { timeout: UI_TIMEOUT }).toBe('0.5');
    expect(page.url()).toContain(`/console/usage?namespace=${h.namespace}`);
    expect(await page.getByRole('meter', { name: 'Budget used' }).getAttribute('value')).toBe('0.25');
    expect(await page.locator('.budget').textContent()).toContain('0.5 of 2 this month (25%); on exceeding: fail');
    expect(await page.getByRole('row', { name: new RegExp(workflow) }).textContent()).toContain('0.5');
    await page.close();
  });
});
