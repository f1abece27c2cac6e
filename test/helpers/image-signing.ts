/**
 * The fixture of the `maestro images sign` / `verify` tests (image-signatures.test.ts for
 * signatures in a folder, registry-signatures.test.ts for cosign's in a registry): the key files
 * the commands read, and the lines they print.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { vi } from 'vitest';
import type { SigningKey } from '../../src/provenance/index.js';

/** The key files {@link writeSigningKeyFiles} writes. */
export interface SigningKeyFiles {
  /** The signer's PKCS#8 PEM private key (mode 0600): `images sign --key`. */
  keyFile: string;
  /** The signer's public key: `images verify --key` verifies with it. */
  pubFile: string;
  /** Another key's public key: verifying with it fails (`UNTRUSTED_KEY`). */
  strangerPub: string;
}

/** Writes `signer`'s key pair and `stranger`'s public key under `dir`. */
export async function writeSigningKeyFiles(dir: string, signer: SigningKey, stranger: SigningKey): Promise<SigningKeyFiles> {
  const files = { keyFile: join(dir, 'release.key'), pubFile: join(dir, 'release.pub'), strangerPub: join(dir, 'stranger.pub') };
  await writeFile(files.keyFile, signer.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  await writeFile(files.pubFile, signer.publicKeyPem);
  await writeFile(files.strangerPub, stranger.publicKeyPem);
  return files;
}

/**
 * Runs `body` with the lines the CLI prints (`console.log`) collected in `printed`; then restores
 * `console.log` and the environment `vi.stubEnv` changed.
 */
export async function withPrintedLines(body: (printed: string[]) => Promise<void>): Promise<void> {
  const printed: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
  try {
    await body(printed);
  } finally {
    log.mockRestore();
    vi.unstubAllEnvs();
  }
}
