import { describe, expect, it } from 'vitest';
import { createTestContext } from './index.js';

describe('createTestContext', () => {
  it('records logs, events and heartbeats', () => {
    const ctx = createTestContext();
    ctx.logger.info('started', { rows: 3 });
    ctx.emit({ type: 'progress', done: 1 });
    ctx.heartbeat({ done: 1 });
    expect(ctx.logs).toEqual([{ level: 'info', message: 'started', fields: { rows: 3 } }]);
    expect(ctx.events).toEqual([{ type: 'progress', done: 1 }]);
    expect(ctx.heartbeats).toEqual([{ done: 1 }]);
  });

  it('resolves only the secrets it was given', async () => {
    const ctx = createTestContext({ secrets: { TOKEN: 't0k3n' } });
    await expect(ctx.secrets('TOKEN')).resolves.toBe('t0k3n');
    await expect(ctx.secrets('toString')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('aborts its signal on abort() and with a signal it was given', () => {
    const ctx = createTestContext();
    ctx.abort(new Error('cancelled'));
    expect(ctx.signal.aborted).toBe(true);
    const outer = new AbortController();
    const linked = createTestContext({ signal: outer.signal });
    outer.abort();
    expect(linked.signal.aborted).toBe(true);
  });
});
