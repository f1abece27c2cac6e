/**
 * Temporal's remote codec protocol (`POST /codec/decode`, `/codec/encode`): the Temporal Web UI
 * sends the payloads it shows or sends and gets them decrypted or encrypted with Maestro's payload
 * codec. One Temporal namespace holds the runs of every Maestro namespace, and an encrypted
 * payload does not say which run it belongs to, so only a caller who may read every Maestro
 * namespace may use it; anyone else gets 403.
 */
import type { Payload } from '@temporalio/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { CodecSettings, DevServerSettings } from '../../config/index.js';
import { MaestroError } from '../../errors/index.js';
import { inNamespace } from '../auth/index.js';
import { caller, type RouteContext, type RouteResult } from '../context.js';

/** A payload as Temporal's codec protocol carries it: proto3 JSON, bytes in base64. */
interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

function fromJson({ metadata = {}, data = '' }: JsonPayload): Payload {
  return { metadata: Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, Buffer.from(value, 'base64')])), data: Buffer.from(data, 'base64') };
}

function toJson({ metadata, data }: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([key, value]) => [key, Buffer.from(value ?? new Uint8Array()).toString('base64')])),
    data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
  };
}

/** The caller may use the codec, for the Temporal namespace the request names. */
function authorize(context: RouteContext): void {
  const principal = caller(context);
  const own = context.deps.config.temporalNamespace;
  // The Temporal CLI (`--codec-endpoint`) sends an empty X-Namespace; the Web UI sends its namespace.
  const namespace = context.req.get('x-namespace') || own;
  if (namespace !== own) throw new MaestroError('FORBIDDEN', `this API holds the keys of Temporal namespace "${own}" only`);
  if (!inNamespace(principal, '*')) {
    throw new MaestroError('FORBIDDEN', `${principal.subject} may not use the payload codec: Temporal namespace "${own}" holds runs of every Maestro namespace, and ${principal.subject} may read only ${principal.namespaces.join(', ') || 'none'}`);
  }
}

async function transcode(context: RouteContext, direction: 'encode' | 'decode'): Promise<RouteResult> {
  authorize(context);
  const { payloads } = context.body as { payloads: JsonPayload[] };
  const codec = context.deps.payloadCodec;
  const done = await codec[direction](payloads.map(fromJson));
  return { status: 200, body: { payloads: done.map(toJson) } };
}

/** `POST /codec/decode`: the payloads decrypted (those not encrypted come back unchanged). */
export function codecDecode(context: RouteContext): Promise<RouteResult> {
  return transcode(context, 'decode');
}

/** `POST /codec/encode`: the payloads encrypted with the current key. */
export function codecEncode(context: RouteContext): Promise<RouteResult> {
  return transcode(context, 'encode');
}

/** The origins allowed to call the codec from a browser: the setting, else the Temporal Web UI's. */
export function codecOrigins(config: Pick<CodecSettings, 'codecCorsOrigins'> & Pick<DevServerSettings, 'temporalUiUrl' | 'uiPort'>): readonly string[] {
  if (config.codecCorsOrigins !== undefined) return config.codecCorsOrigins;
  if (config.temporalUiUrl !== undefined) return [new URL(config.temporalUiUrl).origin];
  return [`http://localhost:${config.uiPort}`, `http://127.0.0.1:${config.uiPort}`];
}

/**
 * CORS for `/codec`: the Temporal Web UI calls it from its own origin, with credentials and the
 * `Authorization` and `X-Namespace` headers, after a preflight. Other origins get no CORS headers,
 * so browsers keep their pages from reading the answer.
 */
export function codecCors(config: Pick<CodecSettings, 'codecCorsOrigins'> & Pick<DevServerSettings, 'temporalUiUrl' | 'uiPort'>): RequestHandler {
  const allowed = new Set(codecOrigins(config));
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.get('origin');
    res.vary('Origin');
    if (origin !== undefined && allowed.has(origin)) {
      res.set({
        'access-control-allow-origin': origin,
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers': 'authorization, content-type, x-namespace',
        'access-control-max-age': '600',
      });
    }
    if (req.method === 'OPTIONS') res.status(204).end();
    else next();
  };
}
