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

/** One export the stub recorded (`ExportRequest` of the contract, 1.2.0). */
export interface SigExport {
  exportId: string;
  namespace: string;
  runId: string;
  taskId: string;
  kind: 'outputs' | 'disclosure';
  outputs?: unknown;
  bundle?: { digest: string; size: number; uri?: string };
  receipt: { runId: string; digest: string; uri?: string };
}

/** What the stub's `POST /policy/evaluate` answers: a status and the body's text, as sent. */
export interface SigPolicyAnswer {
  status: number;
  body: string;
}

/**
 * The SIG API versions the stub serves: N (`contracts/sig.openapi.yaml`) and its two predecessors
 * (`contracts/sig/<version>.openapi.yaml`), newest first.
 */
export const SIG_API_VERSIONS = ['1.2.0', '1.1.0', '1.0.0'] as const;
/** One of {@link SIG_API_VERSIONS}. */
export type SigApiVersion = (typeof SIG_API_VERSIONS)[number];

/**
 * The SIG stub, in process: `contracts/sig.openapi.yaml` (1.2.0, `Sig-Api-Version: 1`) at `url`,
 * and each version of {@link SIG_API_VERSIONS} under its own path prefix (`urlFor`), answering
 * only the operations that version's contract has, validated against that version's schemas.
 */
export interface SigPeer {
  /** The newest version (N). */
  url: string;
  /** The base URL of one API version: `<url>/v<version>`. */
  urlFor(version: SigApiVersion): string;
  /** Accepted batches, in arrival order. */
  batches: SigBatch[];
  /** Every accepted item's payload, by id (re-sent items overwrite: ingestion is idempotent). */
  items: Map<string, unknown>;
  /** Claims registered by `POST /claims`, by claim id. */
  claims: Map<string, SigClaim>;
  /** Exports recorded by `POST /export`, by export id. */
  exports: Map<string, SigExport>;
  /** Requests received on /export, accepted or not. */
  exportRequests(): number;
  /** Record the next `count` exports but answer 500, as a SIG whose answer is lost would. */
  loseExportAnswers(count: number): void;
  /** The bodies `POST /policy/evaluate` received, in order, and their `Authorization` headers. */
  evaluations: { body: Record<string, unknown>; authorization?: string }[];
  /**
   * How `POST /policy/evaluate` answers from now on: a function of the request body. The default
   * denies `purpose: marketing` and allows anything else, under `policyVersion: sig-policy-7`.
   */
  setPolicy(answer: (body: Record<string, unknown>) => SigPolicyAnswer): void;
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

/** The contract file of one SIG API version. */
export function sigContractFile(version: SigApiVersion): string {
  return version === SIG_API_VERSIONS[0] ? join(REPO_ROOT, 'contracts', 'sig.openapi.yaml') : join(REPO_ROOT, 'contracts', 'sig', `${version}.openapi.yaml`);
}

interface OpenApiDocument {
  info: { version: string };
  paths: Record<string, { post?: { requestBody?: { content?: { 'application/json'?: { schema?: { $ref?: string } } } } } }>;
  components: Record<string, unknown>;
}

/** Per version, the request validator of each POST path its contract has, compiled once. */
function contractValidators(): Map<SigApiVersion, Map<string, ValidateFunction>> {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  return new Map(
    SIG_API_VERSIONS.map((version) => {
      const file = sigContractFile(version);
      const document = parse(readFileSync(file, 'utf8')) as OpenApiDocument;
      if (document.info.version !== version) throw new Error(`${file} is version ${document.info.version}, not ${version}`);
      ajv.addSchema({ $id: `sig-${version}`, components: document.components });
      const routes = Object.entries(document.paths).map(([path, item]): [string, ValidateFunction] => {
        const ref = item.post?.requestBody?.content?.['application/json']?.schema?.$ref;
        const validate = ref === undefined ? undefined : ajv.getSchema(`sig-${version}${ref}`);
        if (!validate) throw new Error(`${file}: POST ${path} has no request schema`);
        return [path, validate];
      });
      return [version, new Map(routes)];
    }),
  );
}

const defaultPolicy = (body: Record<string, unknown>): SigPolicyAnswer =>
  body['purpose'] === 'marketing'
    ? { status: 200, body: JSON.stringify({ decision: 'deny', reason: 'SIG: purpose "marketing" is not permitted', policyVersion: 'sig-policy-7' }) }
    : { status: 200, body: JSON.stringify({ decision: 'allow', reason: 'ok', policyVersion: 'sig-policy-7' }) };

function hashOf(payload: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalize(payload) ?? 'null').digest('hex')}`;
}

/**
 * Starts the SIG stub on 127.0.0.1: validates every request against its version's contract (400
 * problem+json when it does not conform, or without `Sig-Api-Version: 1`; 404 for an operation the
 * version does not have), answers receipts with the canonical payload hashes, registers claims and
 * exports idempotently per id, decides policy questions, and can be made busy (429 + Retry-After)
 * or slow for back-pressure and cancellation tests.
 */
export async function startSigStub(): Promise<SigPeer> {
  const validators = contractValidators();
  const exports = new Map<string, SigExport>();
  const evaluations: SigPeer['evaluations'] = [];
  let exportRequests = 0;
  let lostExportAnswers = 0;
  let policy = defaultPolicy;
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

  const ingest = async (req: IncomingMessage, res: ServerResponse, body: unknown, validate: ValidateFunction): Promise<void> => {
    requests++;
    inFlight++;
    maxConcurrent = Math.max(maxConcurrent, inFlight);
    try {
      if (await delayOrBusy(res)) return;
      if (!validate(body)) return problem(res, 400, 'request does not match IngestBatchRequest', JSON.stringify(validate.errors));
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

  /**
   * Registers every claim or none: idempotent per claim id, 409 when an id names a different claim.
   * 1.0.0 answers only how many it accepted (its claims have no client ids or receipt links).
   */
  const registerClaims = async (res: ServerResponse, body: unknown, validate: ValidateFunction, version: SigApiVersion): Promise<void> => {
    claimRequests++;
    if (await delayOrBusy(res)) return;
    if (!validate(body)) return problem(res, 400, 'request does not match ClaimsRequest', JSON.stringify(validate.errors));
    const sent = (body as { claims: (Omit<SigClaim, 'id'> & { id?: string })[] }).claims.map((claim) => ({ ...claim, id: claim.id ?? `claim-${randomUUID()}` }));
    const conflict = sent.find((claim) => claims.has(claim.id) && canonicalize(claims.get(claim.id)) !== canonicalize(claim));
    if (conflict) return problem(res, 409, 'claim id already registered for a different claim', conflict.id);
    const records = sent.map((claim) => {
      const status = claims.has(claim.id) ? 'unchanged' : 'created';
      claims.set(claim.id, claim);
      return { id: claim.id, itemId: claim.itemId, status, ...(claim.receipt ? { receiptDigest: claim.receipt.digest } : {}) };
    });
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end(JSON.stringify(version === '1.0.0' ? { accepted: records.length } : { accepted: records.length, claims: records }));
  };

  /** Records an export: idempotent per export id, 409 when the id names different content. */
  const recordExport = async (res: ServerResponse, body: unknown, validate: ValidateFunction): Promise<void> => {
    exportRequests++;
    if (await delayOrBusy(res)) return;
    if (!validate(body)) return problem(res, 400, 'request does not match ExportRequest', JSON.stringify(validate.errors));
    const sent = body as SigExport;
    const before = exports.get(sent.exportId);
    if (before !== undefined && canonicalize(before) !== canonicalize(sent)) return problem(res, 409, 'export id already recorded for different content', sent.exportId);
    exports.set(sent.exportId, sent);
    if (lostExportAnswers > 0) {
      lostExportAnswers--;
      return problem(res, 500, 'the export was recorded, but the answer is lost');
    }
    res.writeHead(before === undefined ? 201 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ exportId: sent.exportId, status: before === undefined ? 'created' : 'unchanged', receiptDigest: sent.receipt.digest }));
  };

  const evaluate = async (req: IncomingMessage, res: ServerResponse, body: unknown, validate: ValidateFunction): Promise<void> => {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (!validate(body)) return problem(res, 400, 'request does not match PolicyEvaluateRequest', JSON.stringify(validate.errors));
    const { authorization } = req.headers;
    evaluations.push({ body: body as Record<string, unknown>, ...(authorization ? { authorization } : {}) });
    const answer = policy(body as Record<string, unknown>);
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.body);
  };

  /** The version and the path below it: `/v1.0.0/claims` is 1.0.0's `/claims`; no prefix is N. */
  const route = (url: string): { version: SigApiVersion; path: string } => {
    const prefixed = /^\/v(\d+\.\d+\.\d+)(\/.*)$/.exec(url);
    const version = SIG_API_VERSIONS.find((v) => v === prefixed?.[1]);
    return version === undefined || prefixed === null ? { version: SIG_API_VERSIONS[0], path: url } : { version, path: prefixed[2] as string };
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
      const { version, path } = route(req.url ?? '/');
      const validate = validators.get(version)?.get(path);
      if (validate === undefined) return problem(res, 404, 'no such route', `SIG API ${version} has no POST ${path}`);
      if (path === '/ingest/batch') return void ingest(req, res, body, validate);
      if (path === '/claims') return void registerClaims(res, body, validate, version);
      if (path === '/export') return void recordExport(res, body, validate);
      if (path === '/policy/evaluate') return void evaluate(req, res, body, validate);
      return problem(res, 404, 'no such route');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    urlFor: (version) => `http://127.0.0.1:${port}/v${version}`,
    exports,
    exportRequests: () => exportRequests,
    loseExportAnswers: (count) => (lostExportAnswers = count),
    evaluations,
    setPolicy: (answer) => (policy = answer),
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
