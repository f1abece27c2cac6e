/**
 * The console's Runbooks pages in headless Chromium against the real API, worker, Temporal dev
 * server and the repository's policy (embedded PDP): the list greys the runbooks a principal may
 * not trigger with the role needed; a dry-run preview shows the params and every policy decision,
 * including a denial for a principal the policy refuses; an allowed principal then triggers it.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenEntry } from '../../src/api/index.js';
import { launchChromium, openSignedIn, prepareConsoleBrowser } from './browser.js';
import { startHarness, type Harness } from '../api/harness.js';

const UI_TIMEOUT = 20_000;
const PEOPLE = {
  alice: { name: 'alice', token: 'alice-console-token-0123456789', roles: ['operator'], namespaces: ['default'] },
  rita: { name: 'rita', token: 'rita-console-token-0123456789', roles: ['operator', 'release-manager'], namespaces: ['default'] },
} satisfies Record<string, TokenEntry>;

let h: Harness;
let browser: Browser;
let workflowRef = '';

/** A runbook of namespace `default` over `workflowRef`, triggered by `roles`. */
function runbook(name: string, roles: string[]): string {
  return `apiVersion: maestro/v1
kind: Runbook
metadata: { name: ${name}, version: 1.0.0, namespace: default, description: Roll out a service, allowList: { roles: [${roles.join(', ')}] } }
spec:
  inputs:
    - { name: service, type: string, required: true }
    - { name: replicas, type: integer, default: 2 }
  workflowRef: ${workflowRef}
`;
}

beforeAll(async () => {
  await prepareConsoleBrowser();
  h = await startHarness({ policy: true, tokens: Object.values(PEOPLE) });
  // Acting under authority release-management: the policy lets only release managers start it.
  const { name, version } = await h.register(
    [
      'apiVersion: maestro/v1',
      'kind: Workflow',
      `metadata: { name: console-release-${h.namespace}, version: 1.0.0, namespace: default }`,
      'spec:',
      '  policy: { purpose: release, authority: release-management, license: internal }',
      '  parameters:',
      '    - { name: service, type: string, required: true }',
      '    - { name: replicas, type: integer, required: true }',
      '  tasks:',
      '    - { id: roll, uses: tasks/transform.map@0.1.0, with: { rows: [1], expression: "$" } }',
    ].join('\n'),
    'default',
  );
  workflowRef = `${name}@${version}`;
  for (const [rb, roles] of [
    ['console-rollout', ['operator']],
    ['console-admin-only', ['admin']],
  ] as const) {
    const res = await h.call('POST', '/runbooks', { yaml: runbook(rb, [...roles]) });
    expect(res.status, res.text).toBe(201);
  }
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** A page signed in as `who` at console path `path`. */
function signedIn(who: keyof typeof PEOPLE, path: string): Promise<Page> {
  return openSignedIn(browser, h.api.url, PEOPLE[who].token, path);
}

describe('the Runbooks pages', () => {
  it('grey what the caller may not trigger, and preview a trigger the policy refuses without starting it', async () => {
    const page = await signedIn('alice', '/runbooks');
    const table = page.getByTestId('runbooks');
    const greyed = table.getByRole('row', { name: /console-admin-only/ });
    await expect.poll(() => greyed.textContent(), { timeout: UI_TIMEOUT }).toContain('Needs role admin');
    expect(await greyed.getAttribute('data-may-trigger')).toBe('false');
    expect(await greyed.getByRole('link').count()).toBe(0);
    const row = table.getByRole('row', { name: /console-rollout/ });
    expect(await row.getAttribute('data-may-trigger')).toBe('true');
    await row.getByRole('link', { name: 'console-rollout@1.0.0' }).click();
    const form = page.getByRole('form', { name: 'Trigger console-rollout@1.0.0' });
    await expect.poll(() => form.getByLabel('replicas').inputValue(), { timeout: UI_TIMEOUT }).toBe('2');
    await form.getByLabel('service').fill('checkout');
    await form.getByRole('button', { name: 'Preview (dry run)' }).click();
    const plan = page.getByTestId('runbook-plan');
    await expect.poll(() => plan.getAttribute('data-allow'), { timeout: UI_TIMEOUT }).toBe('false');
    const text = (await plan.textContent()) ?? '';
    expect(text).toContain('The policy would refuse this trigger');
    expect(text).toContain('principal "alice" holds none of the roles that act under authority "release-management"');
    expect(text).toContain('checkout');
    // Every task's own decision is there too.
    expect(await plan.getByTestId('plan-tasks').getByRole('row', { name: /roll/ }).locator('[data-decision]').count()).toBe(1);
    // Triggering anyway is refused by the policy, and nothing starts.
    await form.getByRole('button', { name: 'Trigger' }).click();
    await expect.poll(() => page.getByTestId('problem').textContent(), { timeout: UI_TIMEOUT }).toContain('POLICY_DENIED');
    expect(page.url()).toContain('/console/runbooks/default/console-rollout');
    await page.close();
  });

  it('preview an allowed trigger, then trigger it and open the run', async () => {
    const page = await signedIn('rita', '/runbooks/default/console-rollout?version=1.0.0');
    const form = page.getByRole('form', { name: 'Trigger console-rollout@1.0.0' });
    await form.getByLabel('service').fill('payments', { timeout: UI_TIMEOUT });
    await form.getByLabel('replicas').fill('3');
    await form.getByRole('button', { name: 'Preview (dry run)' }).click();
    const plan = page.getByTestId('runbook-plan');
    await expect.poll(() => plan.getAttribute('data-allow'), { timeout: UI_TIMEOUT }).toBe('true');
    expect(await plan.textContent()).toContain('The policy allows this trigger.');
    await form.getByRole('button', { name: 'Trigger' }).click();
    await expect.poll(() => page.url(), { timeout: UI_TIMEOUT }).toMatch(/\/console\/runs\/[^/?]+$/);
    const runId = decodeURIComponent(page.url().split('/').pop() ?? '');
    const run = await h.waitRun(runId, (detail) => detail.status === 'SUCCEEDED');
    expect(run.params).toEqual({ service: 'payments', replicas: 3 });
    expect(run.startedBy).toBe('rita');
    await page.close();
  });
});
