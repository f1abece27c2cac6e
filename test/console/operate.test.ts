/**
 * Operating from the console, in headless Chromium against the real API, worker and Temporal dev
 * server: an operator starts a run from a workflow's form (a value only the API can refuse comes
 * back on its field, then the run opens); an approver decides a gate from their inbox, which
 * leaves a second approver's inbox as it was, and the run page shows who decided what; an operator
 * pauses and resumes a run and sends it a signal from a payload form generated from the wait's schema;
 * the catalog page of a built-in task shows its schemas, an example and the workflows using it.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openSignedIn, prepareConsoleBrowser } from './browser.js';
import { manifest, startHarness, TOKENS, type Harness } from '../api/harness.js';

/** How long the UI may take to reflect a change. */
const UI_TIMEOUT = 20_000;

let h: Harness;
let browser: Browser;
const refs = { params: '', gated: '', signalled: '' };

beforeAll(async () => {
  await prepareConsoleBrowser();
  h = await startHarness();
  const params = await h.register(
    manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }', {
      name: 'console-params',
      parameters: [
        '    - { name: count, type: integer, required: true }',
        '    - { name: env, type: string, enum: [dev, prod], default: dev }',
        '    - { name: when, type: datetime }',
        '    - { name: tags, type: array, default: [a] }',
        '    - { name: token, type: string, secret: true }',
      ].join('\n'),
    }),
  );
  refs.params = `${params.name}@${params.version}`;
  const gated = await h.register(manifest('    - { id: gate, uses: ops/approval.gate@0.1.0, with: { approvers: [sre-oncall, data-lead], minApprovals: 2, message: Promote the release? } }', { name: 'console-inbox' }));
  refs.gated = `${gated.name}@${gated.version}`;
  const signalled = await h.register(
    manifest(
      [
        '    - { id: release, uses: ops/wait.signal@0.1.0, with: { name: release-approved, timeout: 10m, schema: { type: object, properties: { version: { type: string }, canary: { type: integer, minimum: 1 } }, required: [version] } } }',
        '    - { id: after, uses: tasks/wait.sleep@0.1.0, needs: [release], with: { duration: 1ms } }',
      ].join('\n'),
      { name: 'console-signalled' },
    ),
  );
  refs.signalled = `${signalled.name}@${signalled.version}`;
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** A page signed in as `who` at console path `path`. */
function signedIn(who: keyof typeof TOKENS, path: string): Promise<Page> {
  return openSignedIn(browser, h.api.url, TOKENS[who], path);
}

describe('starting a run from the console', () => {
  it('checks the form, shows the API’s 400 on its field, then opens the new run with the secret redacted', async () => {
    const [name, version] = refs.params.split('@') as [string, string];
    const page = await signedIn('operator', `/workflows/${name}/versions/${version}?namespace=${h.namespace}`);
    await page.getByText('Start a run').click();
    const form = page.getByRole('form', { name: `Start a run of ${refs.params}` });
    await expect.poll(() => form.getByLabel('env').inputValue(), { timeout: UI_TIMEOUT }).toBe('"dev"');
    expect(await form.getByLabel('tags').inputValue()).toContain('"a"');
    expect(await form.getByLabel('token').getAttribute('type')).toBe('password');
    // The browser's own checks: a required field, and an integer that is not one.
    await form.getByRole('button', { name: 'Start run' }).click();
    await expect.poll(() => page.getByTestId('error-count').textContent(), { timeout: UI_TIMEOUT }).toContain('is required');
    await form.getByLabel('count').fill('2.5');
    await form.getByRole('button', { name: 'Start run' }).click();
    await expect.poll(() => page.getByTestId('error-count').textContent(), { timeout: UI_TIMEOUT }).toContain('whole number');
    // Only the API tells a date-time: its 400 lands on the field it names.
    await form.getByLabel('count').fill('3');
    await form.getByLabel('when').fill('next tuesday');
    await form.getByLabel('token').fill('s3cret-value');
    await form.getByRole('button', { name: 'Start run' }).click();
    await expect.poll(() => page.getByTestId('error-when').textContent(), { timeout: UI_TIMEOUT }).toContain('RFC 3339');
    expect(await page.getByTestId('error-count').count()).toBe(0);
    expect(await form.getByLabel('when').getAttribute('aria-invalid')).toBe('true');
    await form.getByLabel('when').fill('2026-01-31T09:30:00Z');
    await form.getByLabel('env').selectOption('"prod"');
    await form.getByLabel('Priority').selectOption('2');
    await form.getByRole('button', { name: 'Start run' }).click();
    await expect.poll(() => page.url(), { timeout: UI_TIMEOUT }).toMatch(/\/console\/runs\/[^/?]+$/);
    const runId = decodeURIComponent(page.url().split('/').pop() ?? '');
    const run = await h.waitRun(runId, (detail) => detail.status === 'SUCCEEDED');
    expect(run.params).toMatchObject({ count: 3, env: 'prod', when: '2026-01-31T09:30:00Z', tags: ['a'], token: '[redacted]' });
    expect(run.priority).toBe(2);
    await expect.poll(() => page.getByTestId('run-detail').textContent(), { timeout: UI_TIMEOUT }).toContain('[redacted]');
    expect(await page.content()).not.toContain('s3cret-value');
    await page.close();
  });
});

describe('the approvals inbox', () => {
  it('approves from one approver’s inbox, leaves the other’s unchanged, and the run page shows who decided what', async () => {
    const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: refs.gated, namespace: h.namespace } });
    const runId = started.body.runId as string;
    await h.waitRun(runId, (run) => run.status === 'WAITING');
    const sre = await signedIn('sre', '/approvals');
    await expect.poll(() => sre.getByTestId('approvals-count').textContent(), { timeout: UI_TIMEOUT }).toBe('1');
    const row = sre.getByTestId('approvals').locator(`tr[data-run-id="${runId}"]`);
    expect(await row.textContent()).toContain('Promote the release?');
    expect(await row.textContent()).toContain('0 of 2 approvals');
    await row.getByRole('button', { name: `Approve gate of run ${runId}` }).click();
    const dialog = sre.getByTestId('confirm-dialog');
    await dialog.getByLabel('Comment').fill('release notes checked');
    await dialog.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => sre.getByTestId('approval-result').textContent(), { timeout: UI_TIMEOUT }).toContain(`Approved gate of run ${runId}`);
    await expect.poll(() => sre.getByTestId('approvals-empty').isVisible(), { timeout: UI_TIMEOUT }).toBe(true);
    await expect.poll(() => sre.getByTestId('approvals-count').count(), { timeout: UI_TIMEOUT }).toBe(0);
    // The second approver still has the gate, now with one approval of two.
    const lead = await signedIn('lead', '/approvals');
    const leadRow = lead.getByTestId('approvals').locator(`tr[data-run-id="${runId}"]`);
    await expect.poll(() => leadRow.textContent(), { timeout: UI_TIMEOUT }).toContain('1 of 2 approvals');
    expect(await lead.getByTestId('approvals-count').textContent()).toBe('1');
    await leadRow.getByRole('link', { name: runId }).click();
    const decisions = lead.getByTestId('run-approvals');
    await expect.poll(() => decisions.textContent(), { timeout: UI_TIMEOUT }).toContain('sre');
    expect(await decisions.textContent()).toContain('approved');
    expect(await decisions.textContent()).toContain('release notes checked');
    await sre.close();
    await lead.close();
  });
});

describe('run controls', () => {
  it('pause and resume behind a confirmation, and send a signal from a form of its schema', async () => {
    const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: refs.signalled, namespace: h.namespace } });
    const runId = started.body.runId as string;
    await h.waitRun(runId, (run) => run.status === 'WAITING');
    const page = await signedIn('operator', `/runs/${runId}`);
    const detail = page.getByTestId('run-detail');
    const dialog = page.getByTestId('confirm-dialog');
    await page.getByRole('button', { name: 'Pause run' }).click({ timeout: UI_TIMEOUT });
    expect(await dialog.textContent()).toContain('No new task starts until the run is resumed');
    await dialog.getByRole('button', { name: 'Pause run' }).click();
    await expect.poll(() => detail.getAttribute('data-status'), { timeout: UI_TIMEOUT }).toBe('PAUSED');
    await page.getByRole('button', { name: 'Resume run' }).click();
    await dialog.getByRole('button', { name: 'Resume run' }).click();
    await expect.poll(() => detail.getAttribute('data-status'), { timeout: UI_TIMEOUT }).toBe('WAITING');
    await page.getByRole('button', { name: 'Send signal release-approved' }).click();
    expect(await dialog.textContent()).toContain('(release) takes the payload');
    await dialog.getByLabel('version').fill('v2');
    await dialog.getByLabel('canary').fill('0');
    await dialog.getByRole('button', { name: 'Send signal' }).click();
    // The schema's minimum is the API's to enforce: its 400 stays in the dialog, the task keeps waiting.
    await expect.poll(() => dialog.getByTestId('problem').textContent(), { timeout: UI_TIMEOUT }).toContain('SIGNAL_PAYLOAD_INVALID');
    await dialog.getByLabel('canary').fill('2');
    await dialog.getByRole('button', { name: 'Send signal' }).click();
    await expect.poll(() => page.getByTestId('action-result').textContent(), { timeout: UI_TIMEOUT }).toContain('Signal "release-approved" delivered to release');
    const run = await h.waitRun(runId, (state) => state.status === 'SUCCEEDED');
    expect(run.tasks.find((task: { id: string }) => task.id === 'release').outputs).toEqual({ version: 'v2', canary: 2 });
    const audit = await h.auditLog.list({ runId });
    expect(audit.map((record) => record.kind)).toEqual(expect.arrayContaining(['pause', 'signal']));
    await page.close();
  });
});

describe('the task catalog', () => {
  it('shows a built-in task’s versions, input schema, a uses: example and the workflows that use it', async () => {
    const page = await signedIn('viewer', '/tasks');
    const row = page.getByTestId('tasks').getByRole('row', { name: /ops\/approval\.gate/ });
    await expect.poll(() => row.textContent(), { timeout: UI_TIMEOUT }).toContain('0.1.0');
    await row.getByRole('link', { name: 'ops/approval.gate' }).click();
    const snippet = page.getByTestId('uses-snippet');
    await expect.poll(() => snippet.textContent(), { timeout: UI_TIMEOUT }).toContain('uses: ops/approval.gate@0.1.0');
    expect(await snippet.textContent()).toContain('approvers: <array of string>');
    const input = page.getByTestId('task-input');
    expect(await input.getByRole('row', { name: /^approvers/ }).textContent()).toContain('yes');
    expect(await input.getByRole('row', { name: /^allowSelfApproval/ }).textContent()).toContain('false');
    expect(await page.getByTestId('task-output').textContent()).toContain('approvals');
    expect(await page.getByTestId('task-view').textContent()).toContain('built into Maestro');
    const usedBy = page.getByTestId('task-used-by');
    expect(await usedBy.textContent()).toContain(refs.gated);
    await usedBy.getByRole('link', { name: refs.gated }).click();
    await expect.poll(() => page.url()).toContain(`/console/workflows/${refs.gated.replace('@', '/versions/')}`);
    await page.close();
  });
});
