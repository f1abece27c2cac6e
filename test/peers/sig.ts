import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import canonicalize from 'canonicalize';
import { parse } from 'yaml';
import { REPO_ROOT } from './install.js';

/** One batch the stub accepted. */
export interface SigBatch {
  jobId: string;
  items: { id: string; payload: unknown }[];
  /** The `Authorization` header it came with, if any. */
  authorization?: string;
  /** The `traceparent` header it came with, if any. */
  traceparent?: string;
}

/** One claim the stub registered (`Claim` of the contract, its id assigned when the client sent none). */
export interface SigClaim {
  id: string;
  itemId: string;
  statement: string;
  evidence?: string[];
  receipt?: { runId: string; digest: string; uri?: string };
}

/** The SIG stub: `contracts/sig.openapi.yaml` 1.1 (`Sig-Api-Version: 1`), in process. */
export interface SigPeer {
  url: string;
  /** Accepted batches, in arrival order. */
  batches: SigBatch[];
  /** Every accepted item's payload, by id (re-sent items overwrite: ingestion is idempotent). */
  items: Map<string, unknown>;
  /** Claims registered by `POST /claims`, by claim id. */
  claims: Map<string, SigClaim>;
  /** Requests received on /ingest/batch, accepted or not. */
  requests(): number;
  /** Requests received on /claims, accepted or not. */
  claimRequests(): number;
  /** The most /ingest/batch requests that were being handled at once. */
  maxConcurrent(): number;
  /** Answer the next `count` requests (ingest or claims) 429 with `Retry-After: retryAfter` seconds. */
  busyNext(count: number, retryAfter?: number): void;
  /** Hold each request (ingest or claims) this long before answering. */
  setDelay(ms: number): void;
  /** Return a wrong hash for item ids from now on (to test receipt checking). */
  corruptReceipts(on: boolean): void;
  stop(): Promise<void>;
}

type Validators = { batch: ValidateFunction; claims: ValidateFunction };

/** The request schemas of the contract, compiled once. */
function contractValidators(): Validators {
  const document = parse(readFileSync(join(REPO_ROOT, 'contracts', 'sig.openapi.yaml'), 'utf8')) as { components: Record<string, unknown> };
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'sig', components: document.components });
  const get = (name: string): ValidateFunction => {
    const validate = ajv.getSchema(`sig#/components/schemas/${name}`);
    if (!validate) throw new Error(`contracts/sig.openapi.yaml has no schema ${name}`);
    return validate;
  };
  return { batch: get('IngestBatchRequest'), claims: get('ClaimsRequest') };
}

function hashOf(payload: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalize(payload) ?? 'null').digest('hex')}`;
}

/**
 * Starts the SIG stub on 127.0.0.1: validates every request against the contract (400
 * problem+json when it does not conform, or without `Sig-Api-Version: 1`), answers receipts with
 * the canonical payload hashes, registers claims idempotently per claim id, and can be made busy
 * (429 + Retry-After) or slow for back-pressure and cancellation tests.
 */
export async function startSigStub(): Promise<SigPeer> {
  const validators = contractValidators();
  const batches: SigBatch[] = [];
  const items = new Map<string, unknown>();
  const claims = new Map<string, SigClaim>();
  let requests = 0;
  let claimRequests = 0;
  let inFlight = 0;
  let maxConcurrent = 0;
  let busy = { count: 0, retryAfter: 0 };
  let delayMs = 0;
  let corrupt = false;

  const problem = (res: ServerResponse, status: number, title: string, detail?: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/problem+json', ...headers });
    res.end(JSON.stringify({ title, status, ...(detail ? { detail } : {}) }));
  };

  /** The delay, then a busy answer if one is due: true when the request was answered busy. */
  const delayOrBusy = async (res: ServerResponse): Promise<boolean> => {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (busy.count === 0) return false;
    busy = { ...busy, count: busy.count - 1 };
    problem(res, 429, 'busy', 'try again later', { 'retry-after': String(busy.retryAfter) });
    return true;
  };

  const ingest = async (req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> => {
    requests++;
    inFlight++;
    maxConcurrent = Math.max(maxConcurrent, inFlight);
    try {
      if (await delayOrBusy(res)) return;
      if (!validators.batch(body)) return problem(res, 400, 'request does not match IngestBatchRequest', JSON.stringify(validators.batch.errors));
      const batch = body as { items: SigBatch['items'] };
      const jobId = `job-${randomUUID()}`;
      const { authorization, traceparent } = req.headers;
      batches.push({ jobId, items: batch.items, ...(authorization ? { authorization } : {}), ...(typeof traceparent === 'string' ? { traceparent } : {}) });
      for (const item of batch.items) items.set(item.id, item.payload);
      const receipts = batch.items.map((item) => ({ id: item.id, hash: corrupt ? hashOf({ tampered: item.payload }) : hashOf(item.payload) }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jobId, receipts }));
    } finally {
      inFlight--;
    }
  };

  /** Registers every claim or none: idempotent per claim id, 409 when an id names a different claim. */
  const registerClaims = async (res: ServerResponse, body: unknown): Promise<void> => {
    claimRequests++;
    if (await delayOrBusy(res)) return;
    if (!validators.claims(body)) return problem(res, 400, 'request does not match ClaimsRequest', JSON.stringify(validators.claims.errors));
    const sent = (body as { claims: (Omit<SigClaim, 'id'> & { id?: string })[] }).claims.map((claim) => ({ ...claim, id: claim.id ?? `claim-${randomUUID()}` }));
    const conflict = sent.find((claim) => claims.has(claim.id) && canonicalize(claims.get(claim.id)) !== canonicalize(claim));
    if (conflict) return problem(res, 409, 'claim id already registered for a different claim', conflict.id);
    const records = sent.map((claim) => {
      const status = claims.has(claim.id) ? 'unchanged' : 'created';
      claims.set(claim.id, claim);
      return { id: claim.id, itemId: claim.itemId, status, ...(claim.receipt ? { receiptDigest: claim.receipt.digest } : {}) };
    });
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ accepted: records.length, claims: records }));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST') return problem(res, 405, 'method not allowed');
      if (req.headers['sig-api-version'] !== '1') return problem(res, 400, 'unsupported or missing Sig-Api-Version', 'this server speaks version 1');
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
        return problem(res, 400, 'body is not JSON', error.message);
      }
      if (req.url === '/ingest/batch') return void ingest(req, res, body);
      if (req.url === '/claims') return void registerClaims(res, body);
      return problem(res, 404, 'no such route');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    batches,
    items,
    claims,
    requests: () => requests,
    claimRequests: () => claimRequests,
    maxConcurrent: () => maxConcurrent,
    busyNext: (count, retryAfter = 0) => (busy = { count, retryAfter }),
    setDelay: (ms) => (delayMs = ms),
    corruptReceipts: (on) => (corrupt = on),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
