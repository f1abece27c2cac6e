/**
 * The console by keyboard only, in headless Chromium against the real API, worker and Temporal dev
 * server: on every page with a primary list (workflows, runbooks, the approvals inbox, the task
 * catalog, the audit log, schedules, triggers) the skip link moves the focus to the content, Tab
 * reaches the list, the arrow keys, Home and End move between its rows (a runbook the caller may
 * not trigger is focused as a row), and Enter opens the focused row; a confirmation dialog keeps
 * the focus inside, closes on Escape and gives the focus back to the button that opened it.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openSignedIn, prepareConsoleBrowser } from './browser.js';
import { manifest, startHarness, TOKENS, type Harness } from '../api/harness.js';

/** How long the UI may take to reflect a change. */
const UI_TIMEOUT = 20_000;
/** Tab presses allowed from the content's start to the list (past filters and headings). */
const MAX_TABS = 40;
/** The webhook secret of the triggers listed. */
const HOOK_SECRET = 'console-keys-hook-0123456789';

let h: Harness;
let browser: Browser;

/** What the focused element is: its row's index in a table of `data-testid`, its text, and whether it is in a dialog. */
interface Focused {
  table?: string;
  row?: string;
  text: string;
  inDialog: boolean;
  inMain: boolean;
  /** On an element of the page outside any open dialog (not the document's body). */
  behindDialog: boolean;
  label?: string;
}

/** Where the focus is now. */
function focused(page: Page): Promise<Focused> {
  return page.evaluate(() => {
    type El = { closest(s: string): El | null; getAttribute(n: string): string | null; textContent: string | null; id: string };
    const { document } = globalThis as unknown as { document: { activeElement: El | null; body: El } };
    const active = document.activeElement;
    const table = active?.closest('table[data-testid]')?.getAttribute('data-testid') ?? undefined;
    const row = active?.closest('tbody [data-row-index]')?.getAttribute('data-row-index') ?? undefined;
    return {
      ...(table === undefined ? {} : { table }),
      ...(row === undefined ? {} : { row }),
      text: (active?.textContent ?? '').trim().slice(0, 80),
      inDialog: active?.closest('dialog[open]') != null,
      behindDialog: active != null && active !== document.body && active.closest('dialog[open]') == null,
      inMain: active?.closest('main') != null,
      ...(active?.getAttribute('aria-label') ? { label: active.getAttribute('aria-label') as string } : {}),
    };
  });
}

/** Presses `key` and returns where the focus went. */
async function press(page: Page, key: string): Promise<Focused> {
  await page.keyboard.press(key);
  return focused(page);
}

/** From the top of a fresh load of the page: the skip link, then Tab until the focus is in the body of table `testId`. */
async function tabToList(page: Page, testId: string): Promise<Focused> {
  // A fresh load (the session keeps the sign-in): Tab starts from the top of the page.
  await page.reload();
  await page.locator(`[data-testid="${testId}"] tbody [data-row-index="1"]`).waitFor({ timeout: UI_TIMEOUT });
  const skip = await press(page, 'Tab');
  expect(skip.text).toBe('Skip to content');
  await page.keyboard.press('Enter');
  expect((await focused(page)).inMain).toBe(true);
  const trail: string[] = [];
  for (let tabs = 0; tabs < MAX_TABS; tabs += 1) {
    const at = await press(page, 'Tab');
    if (at.table === testId && at.row !== undefined) return at;
    trail.push(at.label ?? at.text);
  }
  throw new Error(`${MAX_TABS} Tab presses did not reach table ${testId}: ${trail.join(' | ')}`);
}

beforeAll(async () => {
  await prepareConsoleBrowser();
  process.env.MAESTRO_SECRET_KEYS_HOOK = HOOK_SECRET;
  h = await startHarness({ config: (namespace) => ({ secrets: { 'keys-hook': { namespaces: [namespace] } } }) });
  const ns = h.namespace;
  const quick = await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }', { name: `keys-quick-${ns}` }));
  await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 2ms } }', { name: `keys-other-${ns}` }));
  const quickRef = `${quick.name}@${quick.version}`;
  const gated = await h.register(manifest('    - { id: gate, uses: ops/approval.gate@0.1.0, with: { approvers: [sre-oncall], message: Go? } }', { name: `keys-gated-${ns}` }));
  for (const [name, roles] of [
    ['keys-open', 'operator'],
    ['keys-closed', 'data-lead'],
  ] as const) {
    const runbook = `apiVersion: maestro/v1\nkind: Runbook\nmetadata: { name: ${name}, namespace: ${ns}, version: 1.0.0, allowList: { roles: [${roles}] } }\nspec: { inputs: [{ name: service, type: string }], workflowRef: "${quickRef}" }\n`;
    const res = await h.call('POST', '/runbooks', { yaml: runbook });
    expect(res.status, res.text).toBe(201);
  }
  for (const id of ['keys-a', 'keys-b']) {
    const res = await h.call('POST', '/schedules', { token: 'operator', json: { id: `${id}-${ns}`, namespace: ns, workflowRef: quickRef, spec: { cron: ['0 3 * * *'] } } });
    expect(res.status, res.text).toBe(201);
  }
  for (const name of ['keys-hook-a', 'keys-hook-b']) {
    const res = await h.call('POST', '/triggers', { json: { name, namespace: ns, runbook: 'keys-open', auth: { secret: 'keys-hook' } } });
    expect(res.status, res.text).toBe(201);
  }
  for (let gate = 0; gate < 2; gate += 1) {
    const res = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${gated.name}@${gated.version}`, namespace: ns } });
    expect(res.status, res.text).toBe(201);
    await h.waitRun(res.body.runId, (run) => run.status === 'WAITING');
  }
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  delete process.env.MAESTRO_SECRET_KEYS_HOOK;
});

describe('every primary list by keyboard', () => {
  /** Each page, its list, the token that sees it, and where Enter on a row leads. */
  const lists: [path: string, testId: string, token: keyof typeof TOKENS, opens: RegExp][] = [
    ['/workflows', 'workflows', 'operator', /\/console\/workflows\/[^/]+\/versions\//],
    ['/runbooks', 'runbooks', 'operator', /\/console\/runbooks\/[^/]+\/[^/]+/],
    ['/approvals', 'approvals', 'sre', /\/console\/runs\/run-/],
    ['/tasks', 'tasks', 'operator', /\/console\/tasks\/.+/],
    ['/audit', 'audit-table', 'auditor', /\/console\/runs\/run-/],
    ['/schedules', 'schedules', 'operator', /\/console\/schedules\/.+/],
    ['/triggers', 'triggers', 'operator', /\/console\/triggers\/.+/],
  ];

  it.each(lists)('%s: skip link, Tab to the list, arrows, Home, End, and Enter opens a row', async (path, testId, token, opens) => {
    const page = await openSignedIn(browser, h.api.url, TOKENS[token], path);
    try {
      await tabToList(page, testId);
      const rows = await page.locator(`[data-testid="${testId}"] tbody [data-row-index]`).count();
      expect((await press(page, 'Home')).row).toBe('0');
      expect((await press(page, 'ArrowDown')).row).toBe('1');
      expect((await press(page, 'ArrowUp')).row).toBe('0');
      // Up from the first row stays on it.
      expect((await press(page, 'ArrowUp')).row).toBe('0');
      expect((await press(page, 'End')).row).toBe(String(rows - 1));
      expect((await press(page, 'Home')).row).toBe('0');
      // The focus is visible: the focused element draws the console's focus outline.
      const outline = await page.evaluate(() => {
        const { document, getComputedStyle } = globalThis as unknown as { document: { activeElement: unknown }; getComputedStyle(e: unknown): { outlineStyle: string } };
        return getComputedStyle(document.activeElement).outlineStyle;
      });
      expect(outline).not.toBe('none');
      // Enter follows the link of the first row that has one (a runbook the caller may not trigger
      // has none; the audit log's first page, of the harness's set-up, may have none at all).
      const rowsWithLink = page.locator(`[data-testid="${testId}"] tbody [data-row-index]:has(a)`);
      if ((await rowsWithLink.count()) === 0) {
        expect(testId).toBe('audit-table');
        return;
      }
      const linked = Number(await rowsWithLink.first().getAttribute('data-row-index'));
      for (let row = 0; row < linked; row += 1) await page.keyboard.press('ArrowDown');
      expect((await focused(page)).row).toBe(String(linked));
      await page.keyboard.press('Enter');
      await expect.poll(() => page.url(), { timeout: UI_TIMEOUT }).toMatch(opens);
    } finally {
      await page.close();
    }
  });

  it('focuses a runbook the caller may not trigger as a row, telling why it is greyed', async () => {
    const page = await openSignedIn(browser, h.api.url, TOKENS.operator, '/runbooks');
    try {
      await tabToList(page, 'runbooks');
      const greyed = await page.locator('[data-testid="runbooks"] tbody [data-may-trigger="false"]').first().getAttribute('data-row-index');
      let at = await press(page, 'Home');
      for (let presses = 0; presses < 50 && at.row !== greyed; presses += 1) at = await press(page, 'ArrowDown');
      expect(at.row).toBe(greyed);
      expect(at.text).toContain('keys-closed');
      expect(at.text).toContain('data-lead');
    } finally {
      await page.close();
    }
  });
});

describe('dialogs by keyboard', () => {
  it('keeps the focus inside a confirmation, closes it on Escape and returns the focus to its button', async () => {
    const page = await openSignedIn(browser, h.api.url, TOKENS.sre, '/approvals');
    try {
      await tabToList(page, 'approvals');
      let at = await focused(page);
      for (let tabs = 0; tabs < MAX_TABS && !at.label?.startsWith('Approve '); tabs += 1) at = await press(page, 'Tab');
      const opener = at.label;
      await page.keyboard.press('Enter');
      await page.getByTestId('confirm-dialog').waitFor({ timeout: UI_TIMEOUT });
      await expect.poll(async () => (await focused(page)).inDialog, { timeout: UI_TIMEOUT }).toBe(true);
      // Tab and Shift+Tab go through the dialog's controls (and, past the last, the browser's own
      // UI), never the page behind it: that is inert.
      const visited = new Set<string>();
      for (const key of ['Tab', 'Shift+Tab']) {
        for (let presses = 0; presses < 8; presses += 1) {
          const at = await press(page, key);
          expect(at.behindDialog, `${key} reached ${at.label ?? at.text}`).toBe(false);
          if (at.inDialog) visited.add(at.label ?? at.text);
        }
      }
      expect(visited.size).toBeGreaterThan(1);
      await page.keyboard.press('Escape');
      await page.getByTestId('confirm-dialog').waitFor({ state: 'detached', timeout: UI_TIMEOUT });
      await expect.poll(async () => (await focused(page)).label, { timeout: UI_TIMEOUT }).toBe(opener);
      // Nothing was decided: both gates still wait.
      expect(await page.locator('[data-testid="approvals"] tbody [data-row-index]').count()).toBeGreaterThanOrEqual(2);
    } finally {
      await page.close();
    }
  });
});
