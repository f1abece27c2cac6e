/**
 * `npm run attest [-- -o FILE]`: a signed SLSA provenance statement for Maestro's own source tree
 * (every file git tracks or would track, with its sha256; the git revision; every locked npm
 * package), signed with the configured key (the dev key under `.maestro/keys/` by default, or
 * keyless when MAESTRO_FULCIO_URL and MAESTRO_REKOR_URL are set). Verify it with
 * `maestro receipt verify FILE --files .`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/index.js';
import { buildSourceAttestation, openProvenance, signStatement } from '../src/provenance/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Writes the attestation; returns its path. */
export async function attest(out?: string): Promise<string> {
  const config = loadConfig();
  const provenance = await openProvenance(config);
  const statement = await buildSourceAttestation({ root: ROOT });
  const revision = String(statement.predicate.buildDefinition.externalParameters['revision'] ?? 'unknown').slice(0, 12);
  const path = resolve(out ?? join(config.dataDir, 'attestations', `source-${revision}.sigstore.json`));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(await signStatement(statement, provenance.signer), null, 2)}\n`);
  const dirty = statement.predicate.buildDefinition.externalParameters['dirty'] === true ? ' (working tree has uncommitted changes)' : '';
  console.log(`${relative(process.cwd(), path)}: ${statement.subject.length} files at ${revision}${dirty}, signed by key ${provenance.signingKey?.keyId ?? 'keyless'}`);
  console.log(`verify: npx tsx src/cli/main.ts receipt verify ${relative(process.cwd(), path)} --files ${relative(process.cwd(), ROOT) || '.'}`);
  return path;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { out: { type: 'string', short: 'o' } } });
  await attest(values.out);
}
