/**
 * The console's door to the Maestro HTTP API: authenticated requests, problems, event streams
 * and the response types.
 */
export { ApiError, getToken, request, requestJson, setToken, TOKEN_EVENT, withQuery } from './client.js';
export { parseEvents, type StreamEvent } from './event-parser.js';
export { readEvents } from './events.js';
export * from './types.js';
