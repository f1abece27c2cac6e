/**
 * The SIG PDP: SIG's own policy service asked over `POST /policy/evaluate` of
 * `contracts/sig.openapi.yaml` (since 1.2.0) — `{purpose, authority, license, …}` in,
 * `{decision: "allow"|"deny", reason}` out — with a deadline and a bound on the answer's size.
 *
 * Fail closed: a SIG that does not answer in time, answers anything but 200, or answers 200 with a
 * body that is not exactly that shape (too large, not JSON, another decision word) never allows.
 * An outage (no answer, a non-200 status) is decided by the namespace's fallback, closed unless the
 * operator set it open; a malformed 200 is closed in every namespace, since SIG did answer, wrongly.
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { ConfigError } from '../errors/index.js';
import { auditRecordId } from '../store/index.js';
import { fallbackDecision } from './decision.js';
import { canonicalInput } from './input.js';
import type { PolicyDecision, PolicyDecisionPoint, PolicyInput } from './types.js';

/** Options of {@link createSigPdp}. */
export interface SigPdpOptions {
  /** SIG's base URL, e.g. `https://sig.example.internal` (a path prefix is kept). */
  url: string;
  /**
   * A file holding the bearer token Maestro presents to SIG, read once at start.
   * @default none — no `Authorization` header
   */
  tokenFile?: string;
  /**
   * Milliseconds to wait for SIG's whole answer, connection included.
   * @default 500
   */
  timeoutMs?: number;
  /**
   * Per namespace, the decision when SIG cannot answer: `open` allows, `closed` denies.
   * @default {} — closed everywhere
   */
  onUnavailable?: Readonly<Record<string, string>>;
  /**
   * Largest answer read, in bytes; a larger one is a malformed answer (closed).
   * @default 65536
   */
  maxResponseBytes?: number;
  /**
   * Keep-alive connections to SIG, at most.
   * @default 16
   */
  connections?: number;
}

/** The `PolicyEvaluateRequest` of `contracts/sig.openapi.yaml`, built from Maestro's policy input. */
export interface SigPolicyRequest {
  purpose: string;
  authority: string;
  license: string;
  stage: PolicyInput['stage'];
  namespace: string;
  runId: string;
  principal: { subject: string; roles: string[] };
  workflow: PolicyInput['workflow'];
  task?: { id: string; uses: string; labels: Record<string, string> };
}

/** SIG's question for `input`: the policy context at the top, the rest as context. Pure. */
export function sigPolicyRequest(input: PolicyInput): SigPolicyRequest {
  const { policy, stage, run, principal, workflow, task } = input;
  return {
    purpose: policy.purpose,
    authority: policy.authority,
    license: policy.license,
    stage,
    namespace: run.namespace,
    runId: run.runId,
    principal: { subject: principal.subject, roles: [...principal.roles] },
    workflow,
    ...(task === undefined ? {} : { task: { id: task.id, uses: task.uses, labels: task.labels } }),
  };
}

/** Longest reason kept from SIG (the contract's `maxLength`). */
const MAX_REASON = 2_000;

/** The decision in SIG's answer, or why the answer is not one. Pure. */
export function readSigAnswer(text: string): { allow: boolean; reason: string; revision?: string } | { malformed: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    // JSON.parse reports malformed text only by throwing a SyntaxError.
    if (!(error instanceof SyntaxError)) throw error;
    return { malformed: 'the answer is not JSON' };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { malformed: 'the answer is not an object' };
  const { decision, reason, policyVersion } = body as Record<string, unknown>;
  if (decision !== 'allow' && decision !== 'deny') return { malformed: 'its decision is neither "allow" nor "deny"' };
  if (typeof reason !== 'string' || reason.length > MAX_REASON) return { malformed: `its reason is not a string of at most ${MAX_REASON} characters` };
  const revision = typeof policyVersion === 'string' && /^[\w.:@+-]{1,128}$/.test(policyVersion) ? policyVersion : undefined;
  return { allow: decision === 'allow', reason, ...(revision === undefined ? {} : { revision }) };
}

/** Thrown inside {@link createSigPdp} for an answer that is not a decision (never leaves it). */
class MalformedAnswer extends Error {}

/**
 * A PDP that asks SIG. Decisions never throw: an unreachable SIG is a `fallback` decision, a
 * malformed answer a closed one. Every decision carries SIG's `policyVersion` as its revision
 * (`sig:<version>`), so the decision log says which SIG policy decided.
 *
 * @throws {ConfigError} when `url` is not an http(s) URL or `tokenFile` cannot be read.
 * @example
 * const pdp = createSigPdp({ url: 'https://sig.example.internal', tokenFile: '/run/secrets/sig-token', timeoutMs: 300 });
 */
export function createSigPdp(options: SigPdpOptions): PolicyDecisionPoint {
  const { url, tokenFile, timeoutMs = 500, onUnavailable = {}, maxResponseBytes = 65_536, connections = 16 } = options;
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new ConfigError(`MAESTRO_SIG_POLICY_URL "${url}" is not an http(s) URL`);
  const base = new URL(url.endsWith('/') ? url : `${url}/`);
  const path = new URL('policy/evaluate', base).pathname;
  const token = tokenFile === undefined ? undefined : readToken(tokenFile);
  const pool = new Pool(base.origin, { connections, connectTimeout: timeoutMs, keepAliveTimeout: 30_000 });
  const where = `SIG at ${base.origin}${base.pathname === '/' ? '' : base.pathname}`;

  /** SIG's answer text, at most `maxResponseBytes`; throws for an outage or an oversized answer. */
  async function ask(body: string): Promise<string> {
    const response = await pool.request({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json', 'sig-api-version': '1', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.statusCode !== 200) {
      await response.body.dump({ limit: maxResponseBytes });
      throw new Error(`HTTP ${response.statusCode}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxResponseBytes) {
        response.body.destroy();
        throw new MalformedAnswer(`the answer is larger than ${maxResponseBytes} bytes`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  return {
    mode: 'sig',
    async decide(input: PolicyInput): Promise<PolicyDecision> {
      const decisionId = auditRecordId();
      const { digest } = canonicalInput(input);
      const closed = (reason: string): PolicyDecision => ({ allow: false, reasons: [reason], decisionId, bundleRevision: 'unavailable', inputDigest: digest, fallback: 'closed' });
      let text: string;
      try {
        text = await ask(JSON.stringify(sigPolicyRequest(input)));
      } catch (error) {
        if (error instanceof MalformedAnswer) return closed(`${where} gave no decision (${error.message}); Maestro fails closed`);
        return { ...fallbackDecision(where, error as Error, { namespace: input.run.namespace, timeoutMs, onUnavailable }), decisionId, inputDigest: digest };
      }
      const answer = readSigAnswer(text);
      if ('malformed' in answer) return closed(`${where} gave no decision (${answer.malformed}); Maestro fails closed`);
      // A denial always carries a reason, even from a SIG that sent an empty one.
      const reasons = answer.allow ? [] : [answer.reason === '' ? `denied by ${where} (it gave no reason)` : answer.reason];
      return { allow: answer.allow, reasons, decisionId, bundleRevision: `sig:${answer.revision ?? 'unversioned'}`, inputDigest: digest };
    },
    close: () => pool.close(),
  };
}

function readToken(file: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`MAESTRO_SIG_POLICY_TOKEN_FILE ${file} cannot be read: ${(error as Error).message}`, { cause: error });
  }
  if (token === '' || /[\r\n]/.test(token)) throw new ConfigError(`MAESTRO_SIG_POLICY_TOKEN_FILE ${file} must hold one token on one line`);
  return token;
}
