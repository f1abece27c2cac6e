/**
 * The console's Operations page in headless Chromium against the real API: over seeded real runs
 * (a steady workflow; one that fails, then recovers), it shows the headline figures, the tables,
 * and SVG charts with one bar or point per value, each with its value in a `<title>`.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDuration } from '../../console/src/format.js';
import { LAPTOP_VIEWPORT, launchChromium, prepareConsoleBrowser } from './browser.js';
import { startHarness, TOKENS, type Harness } from '../api/harness.js';
import { FLAKY_TASK_MODULE, seedOperationsRuns, type OperationsRuns } from '../api/operations-runs.js';

const UI_TIMEOUT = 20_000;

let h: Harness;
let browser: Browser;
let runs: OperationsRuns;

beforeAll(async () => {
  await prepareConsoleBrowser();
  h = await startHarness({ config: { taskModules: [FLAKY_TASK_MODULE] } });
  runs = await seedOperationsRuns(h);
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** How many elements match `selector` inside the chart `testId` (0 when the chart is absent). */
function countIn(page: Page, testId: string, selector: string): Promise<number> {
  return page.getByTestId(testId).locator(selector).count();
}

describe('the Operations page', () => {
  it('shows the figures of the seeded runs and draws them as charts', async () => {
    const page = await browser.newPage({ viewport: LAPTOP_VIEWPORT });
    await page.goto(`${h.api.url}/console/operations?namespace=${h.namespace}&window=1h`);
    await page.getByLabel('API token').fill(TOKENS.viewer);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const figures = page.getByTestId('ops-figures');
    await expect.poll(() => page.getByTestId('ops-success-rate').textContent(), { timeout: UI_TIMEOUT }).toContain('80.0 %');
    const [failed, recovered] = runs.recovering;
    const mttrMs = Date.parse(recovered.endedAt ?? '') - Date.parse(failed.endedAt ?? '');
    expect(await page.getByTestId('ops-mttr').textContent()).toContain(`${formatDuration(mttrMs)} (1 of 1 incidents recovered)`);
    expect(await page.getByTestId('ops-runs').textContent()).toContain('5 (4 succeeded, 1 failed, 0 cancelled)');
    expect(await page.getByTestId('ops-backlog').textContent()).toContain('0 queued');
    expect(await figures.textContent()).toContain('Queue time p50 / p95');

    const failing = page.getByTestId('ops-failing-tasks').getByRole('row', { name: new RegExp(`${runs.names.recovering}/deploy`) });
    expect(await failing.textContent()).toContain('TASK_FAILED × 3');
    const steadyRow = page.getByTestId('ops-workflows').getByRole('row', { name: new RegExp(runs.names.steady) });
    expect(await steadyRow.textContent()).toContain('100 %');

    // The charts: the page's own API answer says how many bars and points each must draw.
    const now = Date.now();
    const window = `from=${new Date(now - 3_600_000).toISOString()}&to=${new Date(now).toISOString()}`;
    const report = (await h.call('GET', `/operations?namespace=${h.namespace}&${window}`, { token: 'viewer' })).body as {
      series: { succeeded: number; failed: number; cancelled: number; queueP50Ms: number | null; queueP95Ms: number | null }[];
    };
    const outcomeBars = report.series.reduce((sum, bucket) => sum + [bucket.succeeded, bucket.failed, bucket.cancelled].filter((n) => n > 0).length, 0);
    expect(await countIn(page, 'chart-runs', 'rect.bar')).toBe(outcomeBars);
    expect(await countIn(page, 'chart-success', 'circle.point')).toBe(report.series.filter((bucket) => bucket.succeeded + bucket.failed > 0).length);
    expect(await countIn(page, 'chart-queue', 'circle.point')).toBe(report.series.reduce((sum, bucket) => sum + (bucket.queueP50Ms === null ? 0 : 2), 0));
    expect(await countIn(page, 'chart-workflow-durations', 'rect.bar')).toBe(4);
    expect(await countIn(page, 'chart-mttr', 'rect.bar')).toBe(1);
    expect(await countIn(page, 'chart-failing-tasks', 'rect.bar')).toBe(1);
    // Accessible: each chart is an image named by its title, its values in tooltips, its axes labelled.
    expect(await page.getByRole('img', { name: /Runs over time/ }).count()).toBe(1);
    expect(await page.getByTestId('chart-failing-tasks').locator('rect.bar title').textContent()).toBe(`${runs.names.recovering}/deploy: failed attempts 3`);
    expect(await page.getByTestId('chart-runs').locator('text.chart-label').allTextContents()).toEqual(['Time', 'Runs']);

    // Another window: the custom one before the runs shows none.
    await page.getByLabel('Window', { exact: true }).selectOption('custom');
    await page.getByLabel('From', { exact: true }).fill('2026-01-01T00:00');
    await page.getByLabel('To', { exact: true }).fill('2026-01-02T00:00');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => page.getByTestId('ops-runs').textContent(), { timeout: UI_TIMEOUT }).toContain('0 (0 succeeded');
    expect(await countIn(page, 'chart-runs', 'rect.bar')).toBe(0);
    expect(page.url()).toContain('window=custom');
    await page.close();
  });

  it('shows a problem for a namespace the caller is not a member of', async () => {
    const page = await browser.newPage({ viewport: LAPTOP_VIEWPORT });
    await page.goto(`${h.api.url}/console/operations?namespace=elsewhere`);
    await page.getByLabel('API token').fill(TOKENS.viewer);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: UI_TIMEOUT }).toContain('FORBIDDEN');
    expect(await page.getByTestId('ops-figures').count()).toBe(0);
    await page.close();
  });
});
