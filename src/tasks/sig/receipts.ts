import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { TaskError } from '../../sdk/index.js';

/** One item sent to SIG. */
export interface SigItem {
  id: string;
  payload: unknown;
}

/** SIG's receipt for one item. */
export interface SigReceipt {
  id: string;
  hash: string;
}

/** The receipt hash SIG must return for a payload: `sha256:<hex>` of its RFC 8785 canonical JSON. */
export function receiptHash(payload: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalize(payload) ?? 'null').digest('hex')}`;
}

/**
 * Checks a batch response against `contracts/sig.openapi.yaml` (`IngestBatchResponse`) and the
 * items sent: one receipt per item, in order, each hash the item's canonical hash.
 *
 * @throws TaskError `TASK_FAILED`, not retryable, naming the first mismatch.
 */
export function checkBatchResponse(body: unknown, items: SigItem[], verify: boolean): { jobId: string; receipts: SigReceipt[] } {
  const fail = (message: string): never => {
    throw new TaskError(`SIG answered with an unexpected body: ${message}`, { code: 'TASK_FAILED', retryable: false });
  };
  if (typeof body !== 'object' || body === null) return fail('not a JSON object');
  const { jobId, receipts } = body as { jobId?: unknown; receipts?: unknown };
  if (typeof jobId !== 'string' || jobId === '') return fail('jobId is missing');
  if (!Array.isArray(receipts) || receipts.length !== items.length) return fail(`expected ${items.length} receipts`);
  const checked = receipts.map((receipt: unknown, index): SigReceipt => {
    const { id, hash } = (receipt ?? {}) as { id?: unknown; hash?: unknown };
    const item = items[index] as SigItem;
    if (id !== item.id || typeof hash !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(hash)) return fail(`receipt ${index} does not match item "${item.id}"`);
    if (verify && hash !== receiptHash(item.payload)) {
      throw new TaskError(`SIG's receipt for item "${item.id}" hashes a different payload than the one sent`, {
        code: 'TASK_FAILED',
        retryable: false,
        details: { id: item.id, expected: receiptHash(item.payload), received: hash },
      });
    }
    return { id, hash };
  });
  return { jobId, receipts: checked };
}
