import { parseDuration } from '../ir/index.js';
import { defineTask, TaskError } from '../sdk/index.js';
import { postJson, retryableStatus } from './http/post-json.js';
import { HttpClient } from './http/send.js';
import type { HttpTaskOptions } from './http-request.js';
import { durationSchema } from './schemas.js';
import { destinationHost } from './shared/destination.js';
import { invalidInput } from './shared/failures.js';
import { secretNameSchema } from './shared/schemas.js';

/** Input of `tasks/notify.slack`. */
export interface NotifySlackInput {
  text: string;
  /** Block Kit blocks, sent as they are. */
  blocks?: Record<string, unknown>[];
  /** Name of the secret holding the incoming-webhook URL. @default 'SLACK_WEBHOOK_URL' */
  webhookSecret?: string;
  /** @default '10s' */
  timeout?: string;
}

/** Output of `tasks/notify.slack`. */
export interface NotifySlackOutput {
  ok: true;
  status: number;
}

/**
 * `tasks/notify.slack`: posts a message to a Slack incoming webhook. The webhook URL is a
 * credential, so it only ever comes from a secret (`webhookSecret`) and never appears in logs,
 * errors or outputs. Slack's 4xx answers (bad payload, archived channel, revoked webhook) fail the
 * task without retry; 429 and 5xx fail it retryably. The request goes through the same egress
 * check as `tasks/http.request`.
 *
 * @example
 * - id: announce
 *   uses: tasks/notify.slack@0.1.0
 *   with: { text: "Deployed ${params.service} ${params.version}", webhookSecret: SLACK_RELEASES_WEBHOOK }
 */
export function createNotifySlackTask({ http = new HttpClient() }: HttpTaskOptions = {}) {
  return defineTask<NotifySlackInput, NotifySlackOutput>({
    name: 'tasks/notify.slack',
    version: '0.1.0',
    description: 'Posts a message to a Slack incoming webhook whose URL is a secret.',
    execution: 'activity',
    input: {
      type: 'object',
      properties: {
        text: { type: 'string', minLength: 1, maxLength: 40_000, description: 'Message text (Slack mrkdwn); the notification fallback when blocks are given.' },
        blocks: { type: 'array', maxItems: 50, items: { type: 'object' }, description: 'Block Kit blocks.' },
        webhookSecret: secretNameSchema('Name of the secret holding the incoming-webhook URL. Default SLACK_WEBHOOK_URL.'),
        timeout: durationSchema('Limit on the whole exchange. Default 10s.'),
      },
      required: ['text'],
      additionalProperties: false,
    },
    output: {
      type: 'object',
      properties: {
        ok: { const: true, description: 'Always true: a message Slack refused fails the task.' },
        status: { type: 'integer', description: 'The webhook\'s HTTP status.' },
      },
      required: ['ok', 'status'],
      additionalProperties: false,
    },
    validate({ timeout }) {
      if (timeout !== undefined && parseDuration(timeout) === undefined) throw invalidInput('timeout', `"${timeout}" is not a duration`);
    },
    async execute(input, ctx) {
      const secret = input.webhookSecret ?? 'SLACK_WEBHOOK_URL';
      const url = await ctx.secrets(secret, { host: destinationHost });
      if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
        throw new TaskError(`the secret ${secret} does not hold an http(s) webhook URL`, { code: 'CONFIG_INVALID', retryable: false });
      }
      const exchange = `post to the Slack webhook in secret ${secret}`;
      const response = await postJson(
        {
          http,
          url,
          body: { text: input.text, ...(input.blocks ? { blocks: input.blocks } : {}) },
          timeoutMs: parseDuration(input.timeout ?? '10s') ?? 10_000,
          exchange,
        },
        ctx,
      );
      if (response.status < 200 || response.status >= 300) {
        throw new TaskError(`${exchange} answered ${response.status}: ${response.text.slice(0, 200)}`, {
          code: 'TASK_FAILED',
          retryable: retryableStatus(response.status),
          details: { status: response.status, body: response.text.slice(0, 200) },
        });
      }
      ctx.logger.info('slack message posted', { status: response.status, secret });
      return { ok: true, status: response.status };
    },
  });
}

/** `tasks/notify.slack` with the default egress policy (public addresses only). */
export const notifySlack = createNotifySlackTask();
