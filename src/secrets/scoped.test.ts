import { describe, expect, it } from 'vitest';
import { envSource } from './env-source.js';
import { scopedSecrets } from './scoped.js';

const ENV = { MAESTRO_SECRET_OPS_TOKEN: 'ops-t0ken', MAESTRO_SECRET_LEGACY: 'legacy-t0ken', MAESTRO_SECRET_DB_URL: 'postgres://u:pw@db.internal:5432/app' };
const secrets = scopedSecrets(envSource(ENV), {
  'ops-token': { namespaces: ['ops'], hosts: ['nats.ops.internal', '*.kafka.internal', '::1'] },
  'db-url': { namespaces: ['*'], hosts: ['db.internal'] },
});

describe('scopedSecrets', () => {
  it('resolves a secret in its namespace, for a host it is bound to', async () => {
    await expect(secrets('ops-token', { namespace: 'ops', host: 'nats.ops.internal' })).resolves.toBe('ops-t0ken');
    await expect(secrets('ops-token', { namespace: 'ops', host: ['b1.kafka.internal', 'B2.Kafka.Internal.'] })).resolves.toBe('ops-t0ken');
    await expect(secrets('ops-token', { namespace: 'ops', host: '[0:0:0:0:0:0:0:1]' })).resolves.toBe('ops-t0ken');
  });

  it('refuses it in another namespace, whatever spelling of the name reads the same entry', async () => {
    for (const name of ['ops-token', 'OPS_TOKEN', 'ops.token']) {
      await expect(secrets(name, { namespace: 'sandbox', host: 'nats.ops.internal' })).rejects.toMatchObject({ code: 'SECRET_FORBIDDEN', retryable: false });
    }
  });

  it('refuses a host it is not bound to, a task that names none, and one host of several', async () => {
    for (const host of ['evil.example', 'kafka.internal', 'nats.ops.internal.evil.example', 'nats.ops.internal:4222', 'x@nats.ops.internal', ['nats.ops.internal', 'evil.example']]) {
      await expect(secrets('ops-token', { namespace: 'ops', host })).rejects.toMatchObject({ code: 'SECRET_FORBIDDEN' });
    }
    await expect(secrets('ops-token', { namespace: 'ops' })).rejects.toMatchObject({ code: 'SECRET_FORBIDDEN' });
  });

  it('checks the host a value-as-address names, and never quotes the value', async () => {
    await expect(secrets('db-url', { namespace: 'any', host: (url) => new URL(url).hostname })).resolves.toBe(ENV.MAESTRO_SECRET_DB_URL);
    const error: unknown = await secrets('db-url', { namespace: 'any', host: () => 'elsewhere' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SECRET_FORBIDDEN' });
    const thrown: unknown = await secrets('db-url', { namespace: 'any', host: (url) => { throw new Error(url); } }).catch((e: unknown) => e);
    expect(thrown).toMatchObject({ code: 'SECRET_FORBIDDEN' });
    for (const failure of [error, thrown]) expect(JSON.stringify({ message: (failure as Error).message, cause: String((failure as Error).cause) })).not.toMatch(/pw|db\.internal:5432/);
  });

  it('lets namespace default alone use an undeclared secret, for any host', async () => {
    await expect(secrets('legacy', { namespace: 'default' })).resolves.toBe('legacy-t0ken');
    await expect(secrets('legacy', { namespace: 'team-a', host: 'x' })).rejects.toMatchObject({ code: 'SECRET_FORBIDDEN', message: expect.stringContaining('undeclared') });
  });

  it('refuses a name outside the secret-name syntax before the source is asked', async () => {
    for (const name of ['../etc/passwd', 'a/b', '', '.hidden', 'x'.repeat(129)]) {
      await expect(secrets(name, { namespace: 'default' })).rejects.toMatchObject({ code: 'TASK_INPUT_INVALID' });
    }
  });

  it('refuses at start-up two declarations that name one secret of the source', () => {
    expect(() => scopedSecrets(envSource({}), { 'a-b': { namespaces: ['x'] }, A_B: { namespaces: ['y'] } })).toThrow(/same secret/);
  });
});
