import { parseDuration } from '../ir/index.js';
import { defineTask, TaskError } from '../sdk/index.js';
import { HttpClient } from './http/send.js';
import type { HttpTaskOptions } from './http-request.js';
import { invalidInput } from './shared/failures.js';
import { sigConnection, sigConnectionProperties, sigPost, type SigConnectionInput } from './sig/client.js';
import { receiptHash } from './sig/receipts.js';

/** A link from a claim to the signed Maestro run receipt that backs it (`ReceiptLink` of the contract). */
export interface SigReceiptLink {
  runId: string;
  /** `sha256:<hex>` of the receipt bundle, as `GET /runs/{runId}/receipt` serves it. */
  digest: string;
  uri?: string;
}

/** One claim to register (`Claim` of the contract). */
export interface SigClaimInput {
  /** Idempotency key. @default derived from the claim's content, so a re-sent claim is the same claim */
  id?: string;
  itemId: string;
  statement: string;
  evidence?: string[];
  /** @default the task's `receipt` */
  receipt?: SigReceiptLink;
}

/** Input of `connectors/sig.claims` (the endpoint, token, re-sends and timeout as {@link SigConnectionInput}). */
export interface SigClaimsInput extends SigConnectionInput {
  claims: SigClaimInput[];
  /** Receipt linked to every claim that names none of its own. @default none */
  receipt?: SigReceiptLink;
}

/** SIG's record of one registered claim (`ClaimRecord` of the contract). */
export interface SigClaimRecord {
  id: string;
  itemId: string;
  /** `unchanged` when SIG had registered the same claim under this id before. */
  status: 'created' | 'unchanged';
  receiptDigest?: string;
}

/** Output of `connectors/sig.claims`. */
export interface SigClaimsOutput {
  accepted: number;
  /** One record per claim, in input order. */
  claims: SigClaimRecord[];
}

/** The contract's `ClaimsRequest.claims.maxItems`. */
const MAX_CLAIMS = 500;
const ID_PATTERN = '^[A-Za-z0-9._:/-]+$';
const DIGEST_PATTERN = '^sha256:[0-9a-f]{64}$';

const receiptLinkSchema = {
  type: 'object',
  properties: {
    runId: { type: 'string', minLength: 1, maxLength: 256, description: 'The run whose receipt backs the claim.' },
    digest: { type: 'string', pattern: DIGEST_PATTERN, description: 'sha256 of the receipt bundle (GET /runs/{runId}/receipt).' },
    uri: { type: 'string', minLength: 1, description: 'Where the receipt can be fetched.' },
  },
  required: ['runId', 'digest'],
  additionalProperties: false,
};

/**
 * `connectors/sig.claims`: registers claims about ingested items with SIG (`POST /claims` of
 * `contracts/sig.openapi.yaml` 1.1), each linked to the signed run receipt that backs it. One
 * request for all claims (at most 500); registration is idempotent per claim id, and a claim
 * without an id gets one derived from its content, so an attempt retried after a lost answer
 * registers nothing twice. A busy SIG (429/503) is waited out and the request re-sent; an
 * unreachable one fails as `PEER_UNAVAILABLE` (retryable); an id already used for a different
 * claim fails for good (409).
 *
 * @example
 * - id: claim
 *   uses: connectors/sig.claims@0.1.0
 *   with:
 *     receipt: { runId: "${params.sourceRun}", digest: "${params.receiptDigest}" }
 *     claims: [{ itemId: case-42, statement: "disclosed under order 7", evidence: ["${tasks.package.outputs.sha256}"] }]
 */
export function createSigClaimsTask({ http = new HttpClient() }: HttpTaskOptions = {}) {
  return defineTask<SigClaimsInput, SigClaimsOutput>({
    name: 'connectors/sig.claims',
    version: '0.1.0',
    description: 'Registers claims about ingested items with SIG (POST /claims), each linked to a signed run receipt.',
    execution: 'activity',
    input: {
      type: 'object',
      properties: {
        claims: {
          type: 'array',
          minItems: 1,
          maxItems: MAX_CLAIMS,
          description: 'Claims to register, in one request.',
          items: {
            type: 'object',
            properties: {
              id: { type: 'string', minLength: 1, maxLength: 256, pattern: ID_PATTERN, description: 'Idempotency key; derived from the content when absent.' },
              itemId: { type: 'string', minLength: 1, maxLength: 256, pattern: ID_PATTERN, description: 'The ingested item the claim is about.' },
              statement: { type: 'string', minLength: 1, maxLength: 10_000 },
              evidence: { type: 'array', maxItems: 100, items: { type: 'string' } },
              receipt: receiptLinkSchema,
            },
            required: ['itemId', 'statement'],
            additionalProperties: false,
          },
        },
        receipt: { ...receiptLinkSchema, description: 'Receipt linked to every claim that names none of its own.' },
        ...sigConnectionProperties('SIG_URL'),
      },
      required: ['claims'],
      additionalProperties: false,
    },
    output: {
      type: 'object',
      properties: {
        accepted: { type: 'integer', minimum: 0 },
        claims: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              itemId: { type: 'string' },
              status: { enum: ['created', 'unchanged'] },
              receiptDigest: { type: 'string', pattern: DIGEST_PATTERN },
            },
            required: ['id', 'itemId', 'status'],
            additionalProperties: false,
          },
        },
      },
      required: ['accepted', 'claims'],
      additionalProperties: false,
    },
    validate(input) {
      if (input.timeout !== undefined && parseDuration(input.timeout) === undefined) throw invalidInput('timeout', `"${input.timeout}" is not a duration`);
      const seen = new Set<string>();
      for (const [index, claim] of claimsToSend(input).entries()) {
        if (seen.has(claim.id)) throw invalidInput(`claims[${index}]`, `claim id "${claim.id}" appears twice (the same claim, or a repeated id)`);
        seen.add(claim.id);
      }
    },
    async execute(input, ctx) {
      const claims = claimsToSend(input);
      const { base, token } = await sigConnection(input, 'SIG_URL', ctx);
      const body = await sigPost(
        {
          http,
          base,
          path: 'claims',
          body: { claims },
          success: 202,
          timeoutMs: parseDuration(input.timeout ?? '30s') ?? 30_000,
          maxBusyRetries: input.maxBusyRetries ?? 5,
          what: `${claims.length} claims`,
          ...(token ? { token } : {}),
        },
        ctx,
      );
      const output = checkClaimsResponse(body, claims);
      const created = output.claims.filter((claim) => claim.status === 'created').length;
      ctx.logger.info('claims registered', { claims: claims.length, created, unchanged: claims.length - created });
      return output;
    },
  });
}

/** `connectors/sig.claims` with the default egress policy (public addresses only). */
export const sigClaims = createSigClaimsTask();

type ClaimToSend = SigClaimInput & { id: string };

/** The claims as sent: the task's receipt filled in, and every claim with an id. */
function claimsToSend({ claims, receipt }: SigClaimsInput): ClaimToSend[] {
  return claims.map((claim) => {
    const { id, ...content } = claim.receipt === undefined && receipt !== undefined ? { ...claim, receipt } : claim;
    // The same content always gets the same id: a retried attempt registers the same claim again, which SIG answers `unchanged`.
    return { id: id ?? `maestro:${receiptHash(content).slice('sha256:'.length, 'sha256:'.length + 32)}`, ...content };
  });
}

/**
 * Checks a `ClaimsResponse` against the claims sent: one record per claim, in order, same ids.
 *
 * @throws TaskError `TASK_FAILED`, not retryable, naming the first mismatch.
 */
function checkClaimsResponse(body: unknown, sent: ClaimToSend[]): SigClaimsOutput {
  const fail = (message: string): never => {
    throw new TaskError(`SIG answered POST /claims with an unexpected body: ${message}`, { code: 'TASK_FAILED', retryable: false });
  };
  const { accepted, claims } = (typeof body === 'object' && body !== null ? body : fail('not an object')) as Partial<SigClaimsOutput>;
  if (typeof accepted !== 'number' || !Array.isArray(claims)) return fail('accepted or claims missing');
  if (claims.length !== sent.length) return fail(`${claims.length} records for ${sent.length} claims`);
  const records = claims.map((record: unknown, index): SigClaimRecord => {
    const { id, itemId, status, receiptDigest } = (typeof record === 'object' && record !== null ? record : {}) as Partial<SigClaimRecord>;
    const expected = sent[index] as ClaimToSend;
    if (id !== expected.id || itemId !== expected.itemId) fail(`record ${index} is for claim "${String(id)}", expected "${expected.id}"`);
    if (status !== 'created' && status !== 'unchanged') fail(`record ${index} has status ${JSON.stringify(status)}`);
    if (expected.receipt !== undefined && receiptDigest !== expected.receipt.digest) fail(`record ${index} links receipt ${String(receiptDigest)}, expected ${expected.receipt.digest}`);
    return { id: expected.id, itemId: expected.itemId, status: status as SigClaimRecord['status'], ...(typeof receiptDigest === 'string' ? { receiptDigest } : {}) };
  });
  return { accepted, claims: records };
}
