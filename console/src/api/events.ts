/**
 * Server-Sent Events read with `fetch`: `EventSource` cannot send the `Authorization` header.
 */
import { request } from './client.js';
import { parseEvents, type StreamEvent } from './event-parser.js';

/**
 * Reads the event stream at `path` until it ends or `signal` aborts, calling `onEvent` for each event.
 * @throws ApiError when the API refuses the stream.
 */
export async function readEvents(path: string, onEvent: (event: StreamEvent) => void, signal: AbortSignal): Promise<void> {
  const res = await request('GET', path, { signal, accept: 'text/event-stream' });
  if (!res.body) return;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const parsed = parseEvents(buffer + value);
      buffer = parsed.rest;
      for (const event of parsed.events) onEvent(event);
    }
  } finally {
    reader.releaseLock();
  }
}
