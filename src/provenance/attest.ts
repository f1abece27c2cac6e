/**
 * Release attestations (`npm run attest`): a SLSA Provenance v1 statement for Maestro's own
 * source tree — every file git tracks or would track (untracked files not ignored), each with its
 * sha256 — with the git revision and every locked npm package as resolved dependencies. Signed
 * like a receipt and checked by the same verifier (`maestro receipt verify FILE --files DIR`).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../errors/index.js';
import { isRecord } from '../ir/index.js';
import { sha256Hex } from '../canonical/index.js';
import { IN_TOTO_STATEMENT_TYPE, MAESTRO_SOURCE_BUILD_TYPE, SLSA_PROVENANCE_V1, type ProvenanceStatement, type ResourceDescriptor, type Statement } from './statement.js';

const run = promisify(execFile);

/** Options of {@link buildSourceAttestation}. */
export interface SourceAttestationOptions {
  /** The repository root. */
  root: string;
  /** @default 'urn:maestro:builder:attest' */
  builderId?: string;
  /** @default new Date() */
  now?: () => Date;
}

/**
 * Builds the statement: subjects = the files of the source tree (paths relative to `root`, `/`
 * separated, sorted); resolved dependencies = the git revision and the packages of
 * `package-lock.json` (their sha512 integrity as digest).
 *
 * @throws ConfigError when `root` is not a git work tree.
 */
export async function buildSourceAttestation(options: SourceAttestationOptions): Promise<ProvenanceStatement> {
  const { root, builderId = 'urn:maestro:builder:attest', now = () => new Date() } = options;
  const startedOn = now().toISOString();
  const files = await sourceFiles(root);
  const subject: Statement['subject'] = [];
  for (const file of files) {
    const path = join(root, file);
    const info = await lstat(path).catch((error: unknown) => (isMissing(error) ? undefined : Promise.reject(error)));
    // Deleted-but-tracked files and symlinks are not build output.
    if (!info?.isFile()) continue;
    subject.push({ name: file, digest: { sha256: sha256Hex(await readFile(path)) } });
  }
  const revision = await headRevision(root);
  const dirty = (await git(root, ['status', '--porcelain'])).trim() !== '';
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { name?: string; version?: string };
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject,
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: MAESTRO_SOURCE_BUILD_TYPE,
        externalParameters: {
          package: `${manifest.name ?? 'unknown'}@${manifest.version ?? '0.0.0'}`,
          ...(revision === undefined ? {} : { revision }),
          dirty,
        },
        internalParameters: { node: process.version, platform: `${process.platform}-${process.arch}` },
        resolvedDependencies: [
          ...(revision === undefined ? [] : [{ name: 'source', uri: `git+file:${root}@${revision}`, digest: { gitCommit: revision } }]),
          ...(await lockedPackages(root)),
        ],
      },
      runDetails: {
        builder: { id: builderId },
        metadata: { invocationId: randomUUID(), startedOn, finishedOn: now().toISOString() },
      },
    },
  };
}

/**
 * Reads the subjects of an attestation from a folder, for {@link verifyReceipt}'s `artifacts`.
 * Subjects whose file is absent are returned in `missing`.
 */
export async function readSubjectFiles(statement: Statement, root: string): Promise<{ artifacts: Record<string, Buffer>; missing: string[] }> {
  const artifacts: Record<string, Buffer> = {};
  const missing: string[] = [];
  for (const { name } of statement.subject) {
    if (name.includes(':') || name.startsWith('/') || name.split('/').includes('..')) continue;
    try {
      artifacts[name] = await readFile(join(root, name));
    } catch (error) {
      if (!isMissing(error)) throw error;
      missing.push(name);
    }
  }
  return { artifacts, missing };
}

async function sourceFiles(root: string): Promise<string[]> {
  const out = await git(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard']);
  return [...new Set(out.split('\0').filter((file) => file !== ''))].sort();
}

/** The commit HEAD names; undefined in a repository without commits. */
async function headRevision(root: string): Promise<string | undefined> {
  const out = await run('git', ['rev-parse', '--verify', '--quiet', 'HEAD'], { cwd: root }).catch((error: unknown) => {
    // Exit status 1 with --verify --quiet means "no such ref": HEAD is unborn.
    if (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 1) return undefined;
    throw new ConfigError(`git rev-parse HEAD failed in ${root}: is it a git work tree?`, { cause: error });
  });
  return out?.stdout.trim() || undefined;
}

async function git(root: string, args: string[]): Promise<string> {
  try {
    return (await run('git', args, { cwd: root, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (error) {
    throw new ConfigError(`git ${args.join(' ')} failed in ${root}: is it a git work tree?`, { cause: error });
  }
}

/** Every package in `package-lock.json` (lockfile v2/v3), with its integrity as a digest. */
async function lockedPackages(root: string): Promise<ResourceDescriptor[]> {
  let lock: unknown;
  try {
    lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8'));
  } catch (error) {
    throw new ConfigError(`package-lock.json cannot be read in ${root}`, { cause: error });
  }
  const packages = isRecord(lock) && isRecord(lock['packages']) ? lock['packages'] : {};
  const lockDescriptor: ResourceDescriptor = {
    name: 'package-lock.json',
    digest: { sha256: sha256Hex(await readFile(join(root, 'package-lock.json'))) },
  };
  const out: ResourceDescriptor[] = [lockDescriptor];
  for (const [path, entry] of Object.entries(packages).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (path === '' || !isRecord(entry) || typeof entry['version'] !== 'string') continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const integrity = typeof entry['integrity'] === 'string' ? entry['integrity'] : undefined;
    const [algorithm, base64] = integrity?.split('-', 2) ?? [];
    out.push({
      name: `${name}@${entry['version']}`,
      uri: `pkg:npm/${name.startsWith('@') ? `%40${name.slice(1)}` : name}@${entry['version']}`,
      ...(algorithm && base64 ? { digest: { [algorithm]: Buffer.from(base64, 'base64').toString('hex') } } : { annotations: { path } }),
    });
  }
  return out;
}

function isMissing(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT';
}
