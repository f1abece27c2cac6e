import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A Slack incoming-webhook receiver: records each message it accepts. */
export interface SlackPeer {
  /** The webhook URL (keep it in a secret: its path is the credential). */
  webhookUrl: string;
  /** Messages accepted, in order (the JSON bodies). */
  messages: Record<string, unknown>[];
  /** Requests received, accepted or not. */
  requests(): number;
  /** Answer the next `count` requests with `status` (Slack's 4xx/429/5xx behaviours). */
  failNext(count: number, status: number): void;
  stop(): Promise<void>;
}

const SECRET_PATH = '/services/T0MAESTRO/B0TESTS/s3cr3tW3bh00kT0k3n';

/**
 * Starts a webhook receiver on 127.0.0.1 that behaves like Slack's: 200 `ok` for a JSON body with
 * `text`, 400 `invalid_payload` otherwise, 404 `no_service` for any other path.
 */
export async function startSlackWebhook(): Promise<SlackPeer> {
  const messages: Record<string, unknown>[] = [];
  let requests = 0;
  let failures: { count: number; status: number } = { count: 0, status: 500 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reply = (status: number, text: string): void => {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(text);
      };
      if (failures.count > 0) {
        failures = { ...failures, count: failures.count - 1 };
        return reply(failures.status, failures.status === 429 ? 'rate_limited' : 'service_error');
      }
      if (req.method !== 'POST' || req.url !== SECRET_PATH) return reply(404, 'no_service');
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (error) {
        // Slack answers malformed JSON with invalid_payload; so does this peer.
        if (!(error instanceof SyntaxError)) throw error;
        return reply(400, 'invalid_payload');
      }
      if (typeof body !== 'object' || body === null || typeof (body as { text?: unknown }).text !== 'string') return reply(400, 'invalid_payload');
      messages.push(body as Record<string, unknown>);
      return reply(200, 'ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    webhookUrl: `http://127.0.0.1:${port}${SECRET_PATH}`,
    messages,
    requests: () => requests,
    failNext: (count, status) => (failures = { count, status }),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
