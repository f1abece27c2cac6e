/**
 * Static API tokens from a YAML file (`MAESTRO_AUTH_FILE`):
 *
 * ```yaml
 * tokens:
 *   - name: ci-bot
 *     sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  # or `token: <plain>`
 *     roles: [operator]
 *     namespaces: [team-a]          # default: [default]; `*` for all
 * ```
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../../errors/index.js';
import type { TokenVerifier } from './authenticator.js';
import type { AuthenticatedPrincipal } from './principal.js';

/** One entry of the tokens file. */
export interface TokenEntry {
  name: string;
  /** The token itself; prefer `sha256`, which keeps the secret out of the file. */
  token?: string;
  /** Hex SHA-256 of the token. */
  sha256?: string;
  roles: string[];
  /** @default ['default'] */
  namespaces?: string[];
}

const FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['tokens'],
  properties: {
    tokens: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'roles'],
        oneOf: [{ required: ['token'] }, { required: ['sha256'] }],
        properties: {
          name: { type: 'string', minLength: 1 },
          token: { type: 'string', minLength: 16 },
          sha256: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
          roles: { type: 'array', items: { type: 'string', minLength: 1 } },
          namespaces: { type: 'array', items: { type: 'string', minLength: 1 } },
        },
      },
    },
  },
} as const;

const validateFile = new Ajv2020({ allErrors: true }).compile<{ tokens: TokenEntry[] }>(FILE_SCHEMA);

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * A verifier over token entries. Each presented token is hashed and compared with every entry's
 * hash in constant time, so timing tells nothing about how much of a token matched.
 */
export function tokenEntriesVerifier(entries: readonly TokenEntry[]): TokenVerifier {
  const known = entries.map((entry) => ({
    hash: entry.sha256 !== undefined ? Buffer.from(entry.sha256, 'hex') : digest(entry.token ?? ''),
    principal: { subject: entry.name, roles: entry.roles, namespaces: entry.namespaces ?? ['default'], via: 'token' } satisfies AuthenticatedPrincipal,
  }));
  return {
    verify(token) {
      const presented = digest(token);
      let match: AuthenticatedPrincipal | undefined;
      for (const entry of known) {
        if (timingSafeEqual(entry.hash, presented) && !match) match = entry.principal;
      }
      return Promise.resolve(match);
    },
  };
}

/**
 * Reads and checks the tokens file.
 *
 * @throws {ConfigError} naming the file and what is wrong in it.
 */
export function readTokensFile(file: string): TokenEntry[] {
  let document: unknown;
  try {
    document = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`MAESTRO_AUTH_FILE=${file} cannot be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (!validateFile(document)) {
    const problems = (validateFile.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}`).join('; ');
    throw new ConfigError(`MAESTRO_AUTH_FILE=${file} is invalid: ${problems}`);
  }
  return document.tokens;
}

/** The admin principal of `MAESTRO_DEV_TOKEN` (all roles through `admin`, every namespace). */
export function devTokenVerifier(token: string): TokenVerifier {
  const verifier = tokenEntriesVerifier([{ name: 'dev', token, roles: ['admin'], namespaces: ['*'] }]);
  return {
    async verify(presented) {
      const principal = await verifier.verify(presented);
      return principal ? { ...principal, via: 'dev' } : undefined;
    },
  };
}
