import { describe, expect, it } from 'vitest';
import { parseEvents } from './event-parser.js';

describe('parseEvents', () => {
  it('reads named events with JSON data, skipping keep-alive comments', () => {
    const { events, rest } = parseEvents(': keep-alive\n\nevent: run\ndata: {"status":"RUNNING"}\n\nevent: task\ndata: {"id":"a"}\n\n');
    expect(events).toEqual([
      { event: 'run', data: '{"status":"RUNNING"}' },
      { event: 'task', data: '{"id":"a"}' },
    ]);
    expect(rest).toBe('');
  });

  it('keeps an event split across chunks until its blank line arrives', () => {
    const first = parseEvents('event: end\ndata: {"runId"');
    expect(first.events).toEqual([]);
    const second = parseEvents(`${first.rest}:"r-1"}\n\n`);
    expect(second.events).toEqual([{ event: 'end', data: '{"runId":"r-1"}' }]);
  });

  it('joins multi-line data, accepts CRLF and defaults the event name to "message"', () => {
    expect(parseEvents('data: one\r\ndata: two\r\n\r\n').events).toEqual([{ event: 'message', data: 'one\ntwo' }]);
  });
});
