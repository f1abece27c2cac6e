/**
 * The console's receipts, Audit page and accessibility, in headless Chromium against the real API,
 * worker and Temporal dev server: a finished run's page shows its receipt verified by the API (and
 * not verified once the stored receipt is tampered with) and downloads it byte for byte; an
 * auditor filters the audit log and sees the chain verified; the runs list renders only the rows
 * in view and moves between rows with the arrow keys; and axe-core finds no serious or critical
 * violation on any page of the console.
 * Screenshots go to test-results/console/.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { receiptStoreFromConfig } from '../../src/provenance/index.js';
import { launchChromium, openSignedIn, prepareConsoleBrowser, seriousAxeViolations } from './browser.js';
import { manifest, startHarness, TOKENS, type Harness } from '../api/harness.js';

const SCREENSHOTS = join('test-results', 'console');
/** How long the UI may take to reflect a change. */
const UI_TIMEOUT = 20_000;
/** The webhook secret of the trigger whose page is checked. */
const HOOK_SECRET = 'console-audit-hook-0123456789';

let h: Harness;
let browser: Browser;
const refs = { quick: '', slow: '', name: '', version: '' };

beforeAll(async () => {
  await mkdir(SCREENSHOTS, { recursive: true });
  await prepareConsoleBrowser();
  process.env.MAESTRO_SECRET_CONSOLE_AUDIT_HOOK = HOOK_SECRET;
  h = await startHarness({ config: (namespace) => ({ secrets: { 'console-audit-hook': { namespaces: [namespace] } } }) });
  const quick = await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }', { name: `console-quick-${h.namespace}` }));
  Object.assign(refs, { quick: `${quick.name}@${quick.version}`, name: quick.name, version: quick.version });
  const slow = await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1h } }', { name: `console-slow-${h.namespace}` }));
  refs.slow = `${slow.name}@${slow.version}`;
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  delete process.env.MAESTRO_SECRET_CONSOLE_AUDIT_HOOK;
});

/** Starts a run of `workflowRef` as the operator. */
async function startRun(workflowRef: string): Promise<string> {
  const res = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef, namespace: h.namespace } });
  expect(res.status, res.text).toBe(201);
  return res.body.runId as string;
}

/** A run that has ended and has its receipt. */
async function finishedRun(): Promise<string> {
  const runId = await startRun(refs.quick);
  await h.waitRun(runId, (run) => run.status === 'SUCCEEDED');
  await expect.poll(async () => (await h.call('GET', `/runs/${runId}/receipt`)).status, { timeout: UI_TIMEOUT }).toBe(200);
  return runId;
}

describe('receipts in the console', () => {
  it('shows the receipt verified with its key and subjects, downloads it as stored, and shows a tampered one as not verified', async () => {
    const runId = await finishedRun();
    const page = await openSignedIn(browser, h.api.url, TOKENS.operator, `/runs/${runId}`);
    const receipt = page.getByTestId('receipt');
    await expect.poll(() => receipt.getAttribute('data-verified'), { timeout: UI_TIMEOUT }).toBe('true');
    expect(await page.getByTestId('receipt-status').textContent()).toMatch(/Verified offline by the API: signed by key \S+/);
    expect(await receipt.getByRole('table', { name: 'Receipt subjects' }).textContent()).toContain(`run/${runId}`);
    await page.screenshot({ path: join(SCREENSHOTS, 'receipt-verified.png'), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent('download'), receipt.getByRole('button', { name: 'Download receipt' }).click()]);
    expect(download.suggestedFilename()).toBe(`${runId}.sigstore.json`);
    const stored = await receiptStoreFromConfig(h.config).read(runId);
    expect(Buffer.from(await readFile((await download.path()) ?? '')).equals(Buffer.from(stored.bytes))).toBe(true);

    // One character of the signed payload changed in the store: the page says so on its next load.
    const envelope = stored.bundle.dsseEnvelope;
    if (!envelope) throw new Error('the receipt holds no DSSE envelope');
    const { payload } = envelope;
    await receiptStoreFromConfig(h.config).write(runId, { ...stored.bundle, dsseEnvelope: { ...envelope, payload: `${payload.slice(0, 40)}${payload[40] === 'A' ? 'B' : 'A'}${payload.slice(41)}` } });
    await page.reload();
    await expect.poll(() => receipt.getAttribute('data-verified'), { timeout: UI_TIMEOUT }).toBe('false');
    expect(await page.getByTestId('receipt-status').textContent()).toContain('Not verified (BAD_SIGNATURE)');
    expect(await receipt.getByRole('table', { name: 'Receipt subjects' }).count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'receipt-tampered.png'), fullPage: true });
    await page.close();
  });
});

describe('the Audit page', () => {
  it('shows the chain verified and filters the records by run, kind and time', async () => {
    const runId = await startRun(refs.slow);
    await h.waitRun(runId, (run) => run.tasks[0]?.status === 'RUNNING');
    expect((await h.call('POST', `/runs/${runId}/cancel`, { token: 'operator', json: { reason: 'audit page check' } })).status).toBe(202);
    const other = await startRun(refs.slow);
    expect((await h.call('POST', `/runs/${other}/cancel`, { token: 'operator' })).status).toBe(202);

    const page = await openSignedIn(browser, h.api.url, TOKENS.auditor, '/audit');
    await expect.poll(() => page.getByTestId('audit-chain').getAttribute('data-ok'), { timeout: UI_TIMEOUT }).toBe('true');
    expect(await page.getByTestId('audit-chain').textContent()).toContain('Chain verified');
    const rows = page.getByTestId('audit-table').locator('tbody tr[data-seq]');
    await expect.poll(() => rows.count(), { timeout: UI_TIMEOUT }).toBeGreaterThan(1);

    await page.getByLabel('Run').fill(runId);
    await page.getByLabel('Kind').selectOption('cancellation');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.url()).toContain(`runId=${runId}`);
    await expect.poll(() => rows.evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-kind'), tr.getAttribute('data-run-id')])), { timeout: UI_TIMEOUT }).toEqual([['cancellation', runId]]);
    expect(await rows.first().textContent()).toContain('audit page check');

    // A time range that ends before the record leaves nothing.
    await page.getByLabel('Before').fill('2020-01-01T00:00');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('No records match these filters.').waitFor({ timeout: UI_TIMEOUT });
    await page.screenshot({ path: join(SCREENSHOTS, 'audit-filtered.png'), fullPage: true });

    // The API gates the page as it gates the log: an operator sees its refusal.
    const operator = await openSignedIn(browser, h.api.url, TOKENS.operator, '/audit');
    await expect.poll(() => operator.getByTestId('problem').first().textContent(), { timeout: UI_TIMEOUT }).toContain('403');
    await operator.close();
    await page.close();
  });
});

describe('the runs list', () => {
  it('renders only the rows in view of a long page, and moves between rows with the arrow keys, Home and End', async () => {
    const started = await Promise.all(Array.from({ length: 80 }, () => startRun(refs.quick)));
    const page = await openSignedIn(browser, h.api.url, TOKENS.operator, `/?namespace=${h.namespace}&limit=100&sort=run&order=asc`);
    const table = page.getByTestId('runs-table');
    // Every run of the namespace (this test's and the earlier tests'), and the header row.
    await expect.poll(async () => Number(await table.getAttribute('aria-rowcount')), { timeout: UI_TIMEOUT }).toBeGreaterThan(started.length);
    const runs = Number(await table.getAttribute('aria-rowcount')) - 1;
    const rendered = await table.locator('tbody tr[data-run-id]').count();
    expect(rendered).toBeGreaterThan(10);
    expect(rendered).toBeLessThan(60);

    const first = table.locator('tbody tr[data-row-index="0"] a').first();
    await first.focus();
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { closest(s: string): { getAttribute(n: string): string | null } | null } } }).document.activeElement.closest('tr')?.getAttribute('data-row-index'))).toBe('1');
    await page.keyboard.press('End');
    const last = String(runs - 1);
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as { document: { activeElement: { closest(s: string): { getAttribute(n: string): string | null } | null } } }).document.activeElement.closest('tr')?.getAttribute('data-row-index'))).toBe(last);
    // Enter opens the focused run.
    await page.keyboard.press('Enter');
    await page.getByTestId('run-detail').waitFor({ timeout: UI_TIMEOUT });
    await page.close();
    await Promise.all(started.map((runId) => h.waitRun(runId, (run) => run.status === 'SUCCEEDED')));
  });
});

describe('accessibility', () => {
  it('has no serious or critical axe-core violation on any page', async () => {
    const runId = await finishedRun();
    const scheduleId = `axe-${h.namespace}`;
    expect((await h.call('POST', '/schedules', { token: 'operator', json: { id: scheduleId, namespace: h.namespace, workflowRef: refs.quick, spec: { cron: ['0 3 * * *'] } } })).status).toBe(201);
    const runbook = `apiVersion: maestro/v1\nkind: Runbook\nmetadata: { name: axe-rb, namespace: ${h.namespace}, version: 1.0.0, allowList: { roles: [operator] } }\nspec: { inputs: [{ name: service, type: string, required: true }], workflowRef: "${refs.quick}" }\n`;
    expect((await h.call('POST', '/runbooks', { yaml: runbook })).status).toBe(201);
    expect((await h.call('POST', '/triggers', { json: { name: 'axe-hook', namespace: h.namespace, runbook: 'axe-rb', auth: { secret: 'console-audit-hook' } } })).status).toBe(201);

    /** Every console page, and what shows it is populated. */
    const pages: [path: string, ready: string, token: keyof typeof TOKENS][] = [
      ['/', `tr[data-run-id="${runId}"]`, 'operator'],
      [`/runs/${runId}`, '[data-testid="receipt"][data-verified="true"]', 'operator'],
      ['/workflows', `text=${refs.name}`, 'operator'],
      [`/workflows/${refs.name}/versions/${refs.version}?namespace=${h.namespace}`, '[data-testid="dag-view"][data-layout="done"]', 'operator'],
      ['/runbooks', 'text=axe-rb', 'operator'],
      [`/runbooks/${h.namespace}/axe-rb`, 'form', 'operator'],
      ['/approvals', 'main h1', 'operator'],
      ['/tasks', 'text=tasks/wait.sleep', 'operator'],
      ['/tasks/tasks/wait.sleep', 'main h1', 'operator'],
      ['/schedules', `text=${scheduleId}`, 'operator'],
      [`/schedules/${scheduleId}?namespace=${h.namespace}`, '[data-testid="schedule-state"]', 'operator'],
      ['/triggers', 'text=axe-hook', 'operator'],
      [`/triggers/${h.namespace}/axe-hook`, 'main h1', 'operator'],
      ['/operations', 'main h1', 'operator'],
      [`/usage?namespace=${h.namespace}`, '[data-testid="usage-total"]', 'operator'],
      ['/audit', '[data-testid="audit-chain"][data-ok]', 'auditor'],
      ['/no-such-page', 'main h1', 'operator'],
    ];
    const found: Record<string, unknown> = {};
    const signIn = await browser.newPage();
    await signIn.goto(`${h.api.url}/console/`);
    await signIn.getByRole('heading', { name: 'Sign in to Maestro' }).waitFor({ timeout: UI_TIMEOUT });
    const atSignIn = await seriousAxeViolations(signIn);
    if (atSignIn.length > 0) found['sign-in'] = atSignIn;
    await signIn.close();
    const tabs = new Map<string, Page>();
    for (const [path, ready, token] of pages) {
      let page = tabs.get(token);
      if (!page) {
        page = await openSignedIn(browser, h.api.url, TOKENS[token], path);
        tabs.set(token, page);
      } else {
        await page.goto(`${h.api.url}/console${path}`);
      }
      await page.locator(ready).first().waitFor({ timeout: UI_TIMEOUT });
      const violations = await seriousAxeViolations(page);
      if (violations.length > 0) found[path] = violations;
    }
    for (const page of tabs.values()) await page.close();
    expect(found).toEqual({});
  });
});
