import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { sep } from 'node:path';
import { MaestroError } from '../errors/index.js';
import { SECRET_NAME, type SecretSource } from './scoped.js';

/** Largest secret file read; a bigger one is a mistake (or an attack), not a credential. */
const MAX_SECRET_BYTES = 64 * 1024;

/**
 * Secrets from a folder with one file per secret, named as the secret (`/run/secrets/db-url`), the
 * way Docker and Kubernetes mount them. Kubernetes' files are symlinks into a `..data` folder beside
 * them, so symlinks are followed, but only while they stay inside the folder: a name or a link
 * that leads outside it (`../etc/passwd`, a link to `/etc/shadow`) reads nothing. One trailing
 * newline (`echo token > file`) is not part of the value. Files are read at resolution time, so a
 * rotated secret is used by the next attempt.
 *
 * @example dirSource('/run/secrets')
 */
export function dirSource(dir: string): SecretSource {
  let root: Promise<string> | undefined;
  return {
    label: `the secrets folder ${dir}`,
    // On a case-insensitive file system `TOKEN` reads the file `token`: one scope for both.
    key: (name) => name.toLowerCase(),
    async read(name) {
      // The resolver checks names too; a source used on its own must not trust its caller.
      if (!SECRET_NAME.test(name)) return undefined;
      root ??= realpath(dir);
      const folder = await root.catch((error: unknown) => {
        root = undefined;
        throw new MaestroError('CONFIG_INVALID', `the secrets folder ${dir} cannot be read`, { cause: error, retryable: false });
      });
      const target = await realpath(`${folder}${sep}${name}`).catch((error: unknown) => {
        if (isMissing(error)) return undefined;
        throw unreadable(name, error);
      });
      if (target === undefined || !target.startsWith(`${folder}${sep}`)) return undefined;
      // O_NOFOLLOW: the path was resolved above; a link swapped in since is refused, not followed.
      const file = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((error: unknown) => {
        throw unreadable(name, error);
      });
      try {
        const stat = await file.stat();
        if (!stat.isFile()) return undefined;
        if (stat.size > MAX_SECRET_BYTES) throw new MaestroError('CONFIG_INVALID', `secret file ${name} is larger than ${MAX_SECRET_BYTES} bytes`, { retryable: false });
        const buffer = Buffer.alloc(MAX_SECRET_BYTES + 1);
        const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
        if (bytesRead > MAX_SECRET_BYTES) throw new MaestroError('CONFIG_INVALID', `secret file ${name} is larger than ${MAX_SECRET_BYTES} bytes`, { retryable: false });
        return buffer.subarray(0, bytesRead).toString('utf8').replace(/\r?\n$/, '');
      } finally {
        await file.close();
      }
    },
  };
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function unreadable(name: string, cause: unknown): MaestroError {
  // The cause's message is a path and an errno, never the file's content.
  return new MaestroError('CONFIG_INVALID', `secret file ${name} cannot be read: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause, retryable: false });
}
