import type { SecretSource } from './scoped.js';

/**
 * Secrets from `MAESTRO_SECRET_<NAME>` environment variables: the name upper-cased, every
 * character but letters and digits turned into `_` (so `db-url`, `db.url` and `DB_URL` are one
 * secret). Read at resolution time, so a changed environment (a test's) is seen at once.
 */
export function envSource(env: NodeJS.ProcessEnv = process.env): SecretSource {
  const key = (name: string): string => `MAESTRO_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
  return {
    label: 'the environment (MAESTRO_SECRET_<NAME>)',
    key,
    read: (name) => Promise.resolve(env[key(name)]),
  };
}
