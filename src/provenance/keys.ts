/**
 * Signing keys: a local ECDSA P-256 (or Ed25519) key pair in PEM files, created on first use in
 * development, and the public keys verification trusts.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { chmod, link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../errors/index.js';

/** Key types Maestro signs with. */
export type KeyAlgorithm = 'ecdsa-p256' | 'ed25519';

/** A loaded signing key. */
export interface SigningKey {
  /** Hex sha256 of the public key's SPKI DER: the DSSE `keyid` and the bundle's key hint. */
  keyId: string;
  algorithm: KeyAlgorithm;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI PEM of the public key, what verifiers are given. */
  publicKeyPem: string;
}

/** Options of {@link loadSigningKey}. */
export interface LoadSigningKeyOptions {
  /**
   * Create the key pair when the file does not exist (development). Production passes false so a
   * missing key is an error rather than a fresh, untrusted key.
   * @default false
   */
  create?: boolean;
  /** Algorithm of a created key. @default 'ecdsa-p256' */
  algorithm?: KeyAlgorithm;
}

/** The public key file next to a private key file: `<file>.pub`. */
export function publicKeyFileOf(privateKeyFile: string): string {
  return `${privateKeyFile}.pub`;
}

/**
 * Loads a PKCS#8 PEM private key (ECDSA P-256 or Ed25519). With `create`, a missing file is
 * generated first: the private key with mode 0600 in a 0700 folder, the public key beside it as
 * `<file>.pub`. Creation is atomic (hard link of a finished temporary file), so two processes
 * starting at once end up with the same key.
 *
 * @throws ConfigError `CONFIG_INVALID` when the file is missing (without `create`), unreadable, or
 * not a supported private key.
 */
export async function loadSigningKey(file: string, options: LoadSigningKeyOptions = {}): Promise<SigningKey> {
  const { create = false, algorithm = 'ecdsa-p256' } = options;
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    if (!isMissing(error) || !create) {
      throw new ConfigError(`signing key ${file} cannot be read${isMissing(error) ? ': it does not exist (set MAESTRO_SIGNING_KEY to a PKCS#8 PEM key)' : ''}`, { cause: error });
    }
    pem = await createKeyFile(file, algorithm);
  }
  return signingKeyFromPem(pem, file);
}

/** A {@link SigningKey} from a PKCS#8 PEM private key. @throws ConfigError for an unsupported key. */
export function signingKeyFromPem(pem: string, source = 'the signing key'): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    throw new ConfigError(`${source} is not a PEM private key`, { cause: error });
  }
  const algorithm = algorithmOf(privateKey);
  if (!algorithm) throw new ConfigError(`${source} must be an ECDSA P-256 or Ed25519 key`);
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), algorithm, privateKey, publicKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** Generates a key pair in memory (tests, benchmarks). */
export function generateSigningKey(algorithm: KeyAlgorithm = 'ecdsa-p256'): SigningKey {
  return signingKeyFromPem(generatePem(algorithm));
}

/** Hex sha256 of a public key's SPKI DER encoding. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

/**
 * Parses a public key: SPKI PEM, or a private key PEM (its public half), or a KeyObject.
 * @throws ConfigError `CONFIG_INVALID` naming `source` when it is not a supported key.
 */
export function parsePublicKey(key: string | Buffer | KeyObject, source = 'public key'): KeyObject {
  let publicKey: KeyObject;
  try {
    publicKey = typeof key === 'object' && 'asymmetricKeyType' in key ? key : createPublicKey(key);
  } catch (error) {
    throw new ConfigError(`${source} is not a valid PEM public key`, { cause: error });
  }
  if (publicKey.type !== 'public') publicKey = createPublicKey(publicKey);
  if (!algorithmOf(publicKey)) throw new ConfigError(`${source} is not an ECDSA P-256 or Ed25519 key`);
  return publicKey;
}

/** Reads public key PEM files. @throws ConfigError naming the file that cannot be read or parsed. */
export async function readPublicKeys(files: readonly string[]): Promise<KeyObject[]> {
  return Promise.all(
    files.map(async (file) => {
      let pem: string;
      try {
        pem = await readFile(file, 'utf8');
      } catch (error) {
        throw new ConfigError(`public key ${file} cannot be read`, { cause: error });
      }
      return parsePublicKey(pem, `public key ${file}`);
    }),
  );
}

function algorithmOf(key: KeyObject): KeyAlgorithm | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-p256';
  return undefined;
}

function generatePem(algorithm: KeyAlgorithm): string {
  const { privateKey } =
    algorithm === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

async function createKeyFile(file: string, algorithm: KeyAlgorithm): Promise<string> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const pem = generatePem(algorithm);
  const temporary = `${file}.${randomUUID()}.tmp`;
  await writeFile(temporary, pem, { mode: 0o600, flag: 'wx' });
  try {
    // The umask may have widened the mode; the private key is for this user alone.
    await chmod(temporary, 0o600);
    await link(temporary, file);
  } catch (error) {
    if (!isCode(error, 'EEXIST')) throw error;
    // Another process created the key first: use theirs.
    return readFile(file, 'utf8');
  } finally {
    await rm(temporary, { force: true });
  }
  const publicPem = createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();
  await writeFile(publicKeyFileOf(file), publicPem, { mode: 0o644 });
  return pem;
}

function isMissing(error: unknown): boolean {
  return isCode(error, 'ENOENT');
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
