import { TaskError } from '../../errors/index.js';

/** Response headers as a record, names in lower case; repeated headers joined with `, `. */
export function headersRecord(headers: Headers): Record<string, string> {
  const record = new Map<string, string>();
  headers.forEach((value, name) => {
    const previous = record.get(name);
    record.set(name, previous === undefined ? value : `${previous}, ${value}`);
  });
  return Object.fromEntries(record);
}

/** Whether a `Content-Type` names JSON (`application/json` or any `+json` type). */
function isJsonContentType(contentType: string | null): boolean {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

/**
 * The body as JSON when the content type says JSON (an empty body is `null`), otherwise as UTF-8
 * text.
 *
 * @throws TaskError `TASK_FAILED`, not retryable, when a JSON content type carries a body that is
 * not JSON.
 */
export function decodeBody(bytes: Uint8Array, contentType: string | null): unknown {
  const text = new TextDecoder().decode(bytes);
  if (!isJsonContentType(contentType)) return text;
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // JSON.parse reports malformed text only by throwing a SyntaxError.
    if (!(error instanceof SyntaxError)) throw error;
    throw new TaskError(`the response says ${contentType} but its body is not JSON: ${error.message}`, {
      code: 'TASK_FAILED',
      retryable: false,
      cause: error,
    });
  }
}
