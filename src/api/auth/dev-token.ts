/**
 * The local dev token: what `npm start` uses when no authentication is configured.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where {@link ensureDevToken} keeps the token: `<dataDir>/dev-token`. */
export function devTokenFile(dataDir: string): string {
  return join(dataDir, 'dev-token');
}

/**
 * The dev token of `<dataDir>/dev-token`, generated (32 random bytes, base64url, file mode 0600)
 * when the file does not exist yet; the same token is kept across restarts.
 *
 * @returns the token and whether it was generated now.
 */
export function ensureDevToken(dataDir: string): { token: string; file: string; generated: boolean } {
  const file = devTokenFile(dataDir);
  if (existsSync(file)) return { token: readFileSync(file, 'utf8').trim(), file, generated: false };
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return { token, file, generated: true };
}
