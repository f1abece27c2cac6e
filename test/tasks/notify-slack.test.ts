/**
 * tasks/notify.slack against a Slack-webhook receiver.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotifySlackTask, HttpClient, notifySlack } from '../../src/tasks/index.js';
import { peerContext, TEST_EGRESS } from '../helpers/egress.js';
import { closedPort, startBlackHole, startSlackWebhook, type BlackHolePeer, type SlackPeer } from '../peers/index.js';
import { expectCancelled, runTask, taskFailure } from './helpers.js';

let slack: SlackPeer;
let hole: BlackHolePeer;
const secrets: Record<string, string> = {};
/** The receiver is on loopback, which the test namespace allow-lists. */
const task = createNotifySlackTask({ http: new HttpClient(TEST_EGRESS) });
const ctx = () => peerContext({ secrets });

beforeAll(async () => {
  [slack, hole] = await Promise.all([startSlackWebhook(), startBlackHole()]);
  secrets['SLACK_WEBHOOK_URL'] = slack.webhookUrl;
  secrets['DEAD_WEBHOOK'] = `http://127.0.0.1:${await closedPort()}/services/x`;
  secrets['SILENT_WEBHOOK'] = `http://${hole.address}/services/x`;
  secrets['NOT_A_URL'] = 'slack, please';
});

afterAll(async () => {
  await Promise.all([slack?.stop(), hole?.stop()]);
});

describe('tasks/notify.slack', () => {
  it('posts the message to the webhook from the secret', async () => {
    const output = await runTask(task, { text: 'Deployed *api* 1.2.0', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }] }, ctx());
    expect(output).toEqual({ ok: true, status: 200 });
    expect(slack.messages.at(-1)).toEqual({ text: 'Deployed *api* 1.2.0', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }] });
  });

  it('never shows the webhook URL in logs or errors', async () => {
    const context = ctx();
    await runTask(task, { text: 'hello' }, context);
    slack.failNext(1, 404);
    const error = await taskFailure(runTask(task, { text: 'hello' }, context));
    const shown = JSON.stringify({ logs: context.logs, message: error.message, details: error.details });
    expect(shown).not.toContain('s3cr3tW3bh00kT0k3n');
    expect(shown).toContain('SLACK_WEBHOOK_URL');
  });

  it.each([
    [404, false],
    [410, false],
    [429, true],
    [500, true],
  ])('fails on %i, retryable %s', async (status, retryable) => {
    slack.failNext(1, status);
    const error = await taskFailure(runTask(task, { text: 'x' }, ctx()));
    expect(error).toMatchObject({ code: 'TASK_FAILED', retryable, details: { status } });
  });

  it.each([
    ['empty text', { text: '' }, 'text: must NOT have fewer than 1 characters'],
    ['a webhook URL in the input', { text: 'x', webhook: 'http://127.0.0.1/' }, 'webhook: is not an allowed property'],
    ['blocks that are not objects', { text: 'x', blocks: ['a'] }, 'blocks[0]: must be object'],
  ])('refuses %s before posting', async (_, input, message) => {
    const before = slack.requests();
    const error = await taskFailure(runTask(task, input, ctx()));
    expect(error.code).toBe('TASK_INPUT_INVALID');
    expect(error.message).toContain(message);
    expect(slack.requests()).toBe(before);
  });

  it('fails as CONFIG_INVALID when the secret is not a URL', async () => {
    const error = await taskFailure(runTask(task, { text: 'x', webhookSecret: 'NOT_A_URL' }, ctx()));
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', retryable: false });
    expect(error.message).not.toContain('slack, please');
  });

  it('reports an unreachable webhook as PEER_UNAVAILABLE, retryable', async () => {
    const error = await taskFailure(runTask(task, { text: 'x', webhookSecret: 'DEAD_WEBHOOK' }, ctx()));
    expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true });
  });

  it('stops with the cancellation reason while the webhook does not answer', async () => {
    await expectCancelled((c) => runTask(task, { text: 'x', webhookSecret: 'SILENT_WEBHOOK' }, c), { secrets });
  });

  it('goes through the egress check: loopback is refused where not allow-listed', async () => {
    const before = slack.requests();
    const error = await taskFailure(runTask(notifySlack, { text: 'x' }, ctx()));
    expect(error).toMatchObject({ code: 'EGRESS_DENIED', retryable: false });
    expect(slack.requests()).toBe(before);
  });
});
