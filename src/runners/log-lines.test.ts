import { describe, expect, it } from 'vitest';
import { createTestContext } from '../sdk/index.js';
import { LogLines } from './log-lines.js';

describe('LogLines', () => {
  it('logs whole lines per stream, joining chunks split mid-line and mid-character', () => {
    const ctx = createTestContext();
    const log = new LogLines({ logger: ctx.logger, fields: { runner: 'test' } });
    const euro = Buffer.from('€');
    log.write('stdout', 'hel');
    log.write('stderr', 'oops\n');
    log.write('stdout', Buffer.concat([Buffer.from('lo '), euro.subarray(0, 1)]));
    log.write('stdout', Buffer.concat([euro.subarray(1), Buffer.from('\r\nlast')]));
    log.flush();
    expect(ctx.logs.map((record) => [record.message, record.fields?.['stream']])).toEqual([
      ['oops', 'stderr'],
      ['hello €', 'stdout'],
      ['last', 'stdout'],
    ]);
    expect(ctx.logs[0]?.fields).toMatchObject({ runner: 'test' });
  });

  it('replaces secret values, longest first, in the log and the tail', () => {
    const ctx = createTestContext();
    const log = new LogLines({ logger: ctx.logger, redact: ['abc', 'abcdef', ''] });
    log.write('stdout', 'token=abcdef short=abc\n');
    expect(ctx.logs[0]?.message).toBe('token=[redacted] short=[redacted]');
    expect(log.tail()).toBe('token=[redacted] short=[redacted]');
  });

  it('keeps the last lines only, and cuts very long lines', () => {
    const ctx = createTestContext();
    const log = new LogLines({ logger: ctx.logger, tailLines: 2, maxLineChars: 5 });
    log.write('stdout', '1\n2\n3\n1234567890\n');
    expect(log.tail()).toBe('3\n12345…');
    expect(log.count).toBe(4);
  });
});
