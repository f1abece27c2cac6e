/**
 * JSON request bodies, bounded before they are parsed: every route's JSON, and a webhook's raw
 * bytes once its signature has verified.
 */
import { MaestroError } from '../errors/index.js';
import { jsonTooDeep, MAX_JSON_DEPTH } from '../ir/index.js';

/** Refuses JSON nested deeper than {@link MAX_JSON_DEPTH}, before anything parses or walks it. @throws MaestroError `BAD_REQUEST` */
export function checkJsonDepth(bytes: Uint8Array): void {
  if (jsonTooDeep(bytes, MAX_JSON_DEPTH)) {
    throw new MaestroError('BAD_REQUEST', `the body is nested deeper than ${MAX_JSON_DEPTH} levels`, {
      details: { errors: [{ path: 'body', message: `nests deeper than ${MAX_JSON_DEPTH} levels of arrays and objects` }] },
    });
  }
}

/** Parses a JSON body after {@link checkJsonDepth}. @throws MaestroError `BAD_REQUEST` for deep or invalid JSON. */
export function parseJsonText(text: string | Buffer): unknown {
  checkJsonDepth(typeof text === 'string' ? Buffer.from(text) : text);
  try {
    return JSON.parse(text.toString()) as unknown;
  } catch (error) {
    throw new MaestroError('BAD_REQUEST', `the body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
