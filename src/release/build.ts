/**
 * `npm run release`: builds a release of one git commit into a folder — the npm package tarball,
 * the container image as an OCI archive, a CycloneDX SBOM of each, `release.json`, and
 * `attestation.sigstore.json`, an in-toto statement (SLSA Provenance v1) naming every other file
 * by sha256, signed like a run receipt — and records it for `maestro sbom search`.
 *
 * Reproducible: every date is the commit time (SOURCE_DATE_EPOCH), nothing random or machine-local
 * enters a file, so two builds of the same commit give the same bytes (the bundle's signature
 * aside when the key is ECDSA, whose signatures are randomised; the signed statement is the same).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../errors/index.js';
import { isRecord } from '../ir/index.js';
import { SLSA_PROVENANCE_V1, IN_TOTO_STATEMENT_TYPE, signStatement, type BundleSigner, type ProvenanceStatement, type SigningKey } from '../provenance/index.js';
import { fileSha256 } from './digest.js';
import { buildImage, type ImageSigner } from './image.js';
import { imageSbom, npmSbom } from './sbom.js';

const run = promisify(execFile);

/** `buildType` of a release attestation. */
export const MAESTRO_RELEASE_BUILD_TYPE = 'urn:maestro:build-type:release:v1';
/** The attestation's file name in a release folder. */
export const ATTESTATION_FILE = 'attestation.sigstore.json';
/** The release record's file name in a release folder. */
export const RELEASE_FILE = 'release.json';
/** The SBOM files of a release folder, by what they describe. */
export const SBOM_FILES = { npm: 'sbom.npm.cdx.json', image: 'sbom.image.cdx.json' } as const;

/** `release.json`: what was released, from which commit. */
export interface ReleaseRecord {
  /** Package name, e.g. `@summit/maestro`. */
  name: string;
  /** Package version. */
  version: string;
  /** The git commit built. */
  commit: string;
  /** The commit time, seconds since the epoch: every date in the release. */
  sourceDateEpoch: number;
  /** The container image: its tag and manifest digest (`sha256:…`). */
  image: { tag: string; digest: string; archive: string };
  /** The npm package tarball's file name. */
  tarball: string;
}

/** Options of {@link buildRelease}. */
export interface BuildReleaseOptions {
  /** The repository root. */
  root: string;
  /** Output folder; created, and emptied of a previous build's files. */
  out: string;
  /** Signs the attestation (the configured key, or keyless). */
  signer: BundleSigner;
  /** The local signing key, for {@link signImage}; undefined when keyless. */
  signingKey: SigningKey | undefined;
  /** `builder.id` of the attestation. */
  builderId: string;
  /** The `syft` binary. */
  syft: string;
  /** The environment podman runs with. @default process.env */
  podmanEnv?: NodeJS.ProcessEnv;
  /** Folder of recorded releases; the release's record, attestation and SBOMs are copied into `<releasesDir>/<version>-<commit12>/`. @default undefined — not recorded */
  releasesDir?: string;
  /** Put the production `node_modules` into the image. @default true (false: runtime and sources only, for tests) */
  imagePackages?: boolean;
  /**
   * Signs the image by digest (the image-signature store's signer). @default undefined — the
   * digest is attested, no image signature is made
   */
  signImage?: ImageSigner;
  /** Progress messages. @default nothing */
  log?: (message: string) => void;
}

/** A built release. */
export interface BuiltRelease {
  record: ReleaseRecord;
  /** The release folder. */
  dir: string;
  /** The statement signed into the attestation. */
  statement: ProvenanceStatement;
  /** Every file of the folder with its size in bytes, the attestation included. */
  files: { name: string; bytes: number; sha256: string }[];
  /** Milliseconds per step. */
  timings: Record<string, number>;
}

/** Builds, attests and records a release of the commit checked out in `root` (HEAD). */
export async function buildRelease(options: BuildReleaseOptions): Promise<BuiltRelease> {
  const { root, out, signer, signingKey, builderId, syft, podmanEnv = process.env, releasesDir, imagePackages = true, signImage, log = () => undefined } = options;
  const timings: Record<string, number> = {};
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    log(`${name}…`);
    const result = await work();
    timings[name] = Date.now() - started;
    return result;
  };
  const commit = (await git(root, ['rev-parse', '--verify', 'HEAD'])).trim();
  const sourceDateEpoch = Number((await git(root, ['log', '-1', '--format=%ct', commit])).trim());
  const dirty = (await git(root, ['status', '--porcelain', '--untracked-files=no'])).trim() !== '';
  const manifest: unknown = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  if (!isRecord(manifest) || typeof manifest['name'] !== 'string' || typeof manifest['version'] !== 'string') throw new ConfigError(`${root}/package.json has no name or version`);
  const { name, version } = { name: manifest['name'], version: manifest['version'] };

  await emptyReleaseFolder(out);
  const tarball = await step('npm pack', () => npmPack(root, out));
  const archive = `maestro-${version}.oci.tar`;
  const tag = `localhost/maestro:${version}`;
  const image = await step('image', () => buildImage({ root, commit, sourceDateEpoch, tag, out: join(out, archive), env: podmanEnv, packages: imagePackages }));
  const stamp = (file: string, component: string) => ({ commit, sourceDateEpoch, name: file, component: { name: component, version } });
  await step('npm sbom', async () => writeFile(join(out, SBOM_FILES.npm), await npmSbom(root, stamp(SBOM_FILES.npm, name))));
  await step('image sbom', async () => writeFile(join(out, SBOM_FILES.image), await imageSbom(syft, join(out, archive), stamp(SBOM_FILES.image, tag))));
  const record: ReleaseRecord = { name, version, commit, sourceDateEpoch, image: { ...image, archive }, tarball };
  await writeFile(join(out, RELEASE_FILE), `${JSON.stringify(record, null, 2)}\n`);

  const subjects = [tarball, archive, SBOM_FILES.npm, SBOM_FILES.image, RELEASE_FILE].sort();
  const subject: ProvenanceStatement['subject'] = [];
  for (const file of subjects) subject.push({ name: file, digest: { sha256: await fileSha256(join(out, file)) } });
  const lockSha256 = await fileSha256(join(root, 'package-lock.json'));
  const statement: ProvenanceStatement = {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject,
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: MAESTRO_RELEASE_BUILD_TYPE,
        externalParameters: { package: `${name}@${version}`, revision: commit, sourceDateEpoch, imagePackages, dirty },
        internalParameters: { node: process.version, platform: `${process.platform}-${process.arch}` },
        resolvedDependencies: [
          { name: 'source', uri: `git+file:${basename(root)}@${commit}`, digest: { gitCommit: commit } },
          { name: 'package-lock.json', digest: { sha256: lockSha256 } },
        ],
      },
      runDetails: {
        builder: { id: builderId },
        metadata: { invocationId: `release:${name}@${version}:${commit}` },
        byproducts: [{ name: 'image', uri: `oci:${tag}`, digest: { sha256: image.digest.slice('sha256:'.length) }, mediaType: 'application/vnd.oci.image.manifest.v1+json' }],
      },
    },
  };
  await step('attestation', async () => writeFile(join(out, ATTESTATION_FILE), `${JSON.stringify(await signStatement(statement, signer), null, 2)}\n`));
  if (signImage && signingKey) await step('image signature', () => signImage(image.digest, signingKey));
  if (releasesDir !== undefined) await recordRelease(out, join(releasesDir, `${version}-${commit.slice(0, 12)}`));

  const files = [];
  for (const file of [...subjects, ATTESTATION_FILE].sort()) {
    files.push({ name: file, bytes: (await stat(join(out, file))).size, sha256: await fileSha256(join(out, file)) });
  }
  return { record, dir: out, statement, files, timings };
}

/**
 * Makes `out` an empty folder. A folder that is neither empty nor an earlier release (it has no
 * `release.json`) is refused, so `--out .` or a mistyped path never deletes anything else.
 */
async function emptyReleaseFolder(out: string): Promise<void> {
  const entries: string[] = await readdir(out).catch((error: unknown) => (isRecord(error) && error['code'] === 'ENOENT' ? [] : Promise.reject(error)));
  if (entries.length > 0 && !entries.includes(RELEASE_FILE)) throw new ConfigError(`${out} is not empty and holds no ${RELEASE_FILE}: choose an empty folder or an earlier release's`);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
}

/** Copies a release's record, attestation and SBOMs (not its large artefacts) into `dir`. */
async function recordRelease(out: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const file of [RELEASE_FILE, ATTESTATION_FILE, SBOM_FILES.npm, SBOM_FILES.image]) await copyFile(join(out, file), join(dir, file));
}

/** `npm pack` into `out` (its `prepack` builds `lib/`); returns the tarball's file name. */
async function npmPack(root: string, out: string): Promise<string> {
  try {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', out], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
    // `prepack` (scripts/sdk.mjs) prints to the same stdout before npm's JSON.
    const packed: unknown = JSON.parse(stdout.slice(stdout.startsWith('[') ? 0 : stdout.indexOf('\n[') + 1));
    const filename: unknown = Array.isArray(packed) && isRecord(packed[0]) ? packed[0]['filename'] : undefined;
    if (typeof filename !== 'string') throw new ConfigError(`npm pack printed no file name: ${stdout.slice(0, 200)}`);
    return filename;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`npm pack failed in ${root}`, { cause: error });
  }
}

async function git(root: string, args: string[]): Promise<string> {
  try {
    return (await run('git', args, { cwd: root })).stdout;
  } catch (error) {
    throw new ConfigError(`git ${args.join(' ')} failed in ${root}: a release is built from a git work tree with a commit`, { cause: error });
  }
}
