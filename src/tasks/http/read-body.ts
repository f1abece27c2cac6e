import { TaskError } from '../../errors/index.js';

/**
 * Reads a response body into memory, stopping as soon as it grows past `maxBytes` (checked first
 * against an uncompressed response's `Content-Length`, so an announced oversize body is not read).
 *
 * @throws TaskError `TASK_FAILED`, not retryable, when the body is larger than `maxBytes`.
 */
export async function readBodyLimited(response: Response, maxBytes: number): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array(0);
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (!response.headers.has('content-encoding') && declared > maxBytes) {
    await response.body.cancel();
    throw tooLarge(maxBytes, declared);
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(maxBytes: number, declared?: number): TaskError {
  const size = declared === undefined ? '' : `: Content-Length is ${declared}`;
  return new TaskError(`response body exceeds maxResponseBytes (${maxBytes} bytes)${size}`, {
    code: 'TASK_FAILED',
    retryable: false,
    details: { maxResponseBytes: maxBytes, ...(declared === undefined ? {} : { contentLength: declared }) },
  });
}
