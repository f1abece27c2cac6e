/**
 * `npm run release`: builds a release of one git commit into a folder — the npm package tarball,
 * the container image as an OCI archive and its cosign signature (`image.sig.json`, with the
 * release key), a CycloneDX SBOM of each, `release.json`, and `attestation.sigstore.json`, an
 * in-toto statement (SLSA Provenance v1) naming every other file by sha256, signed like a run
 * receipt — records it for `maestro sbom search`, and, when asked, pushes the image with its
 * signature to a registry in cosign's layout.
 *
 * Reproducible: every date is the commit time (SOURCE_DATE_EPOCH), nothing random or machine-local
 * enters a file, so two builds of the same commit give the same bytes (the signatures aside when
 * the key is ECDSA, whose signatures are randomised: the image signature file then differs, and
 * with it the statement; with Ed25519 everything is byte-identical).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../errors/index.js';
import { isRecord } from '../ir/index.js';
import {
  IN_TOTO_STATEMENT_TYPE,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  SLSA_PROVENANCE_V1,
  signSimplePayload,
  signStatement,
  simpleSigningPayload,
  type BundleSigner,
  type ProvenanceStatement,
  type SigningKey,
} from '../provenance/index.js';
import { fileSha256 } from './digest.js';
import { buildImage } from './image.js';
import { imageSbom, npmSbom } from './sbom.js';

const run = promisify(execFile);

/** `buildType` of a release attestation. */
export const MAESTRO_RELEASE_BUILD_TYPE = 'urn:maestro:build-type:release:v1';
/** The attestation's file name in a release folder. */
export const ATTESTATION_FILE = 'attestation.sigstore.json';
/** The release record's file name in a release folder. */
export const RELEASE_FILE = 'release.json';
/** The image signature's file name in a release folder (see {@link ImageSignatureFile}). */
export const IMAGE_SIGNATURE_FILE = 'image.sig.json';
/** The repository a release's image is signed for when it is not pushed (its local tag's). */
export const LOCAL_IMAGE_REPOSITORY = 'localhost/maestro';
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
  /**
   * The container image: its tag, manifest digest (`sha256:…`), OCI archive file, and the file of
   * its cosign signature (absent when the release was signed keylessly).
   */
  image: { tag: string; digest: string; archive: string; signature?: string };
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
  /** The local signing key, which also signs the image; undefined when keyless (the image is then not signed). */
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
   * Pushes the image and its signature to a registry once the release is built and attested.
   * @default undefined — the release stays in its folder
   */
  publish?: ImagePublication;
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
  /** `registry/repository@sha256:…` the image was pushed as, when {@link BuildReleaseOptions.publish} was given. */
  pushed?: string;
}

/**
 * The image's signature as a release keeps it: one layer of cosign's `.sig` manifest — the
 * simple-signing payload (base64) with the signature in its annotation — so the same bytes are
 * what a push stores in the registry.
 */
export interface ImageSignatureFile {
  mediaType: typeof SIMPLE_SIGNING_MEDIA_TYPE;
  /** The simple-signing payload, base64. */
  payload: string;
  /** `dev.cosignproject.cosign/signature`: the base64 signature of the payload. */
  annotations: { [SIGNATURE_ANNOTATION]: string };
}

/** Where and how {@link buildRelease} pushes the image and its signature. */
export interface ImagePublication {
  /** `registry/repository` the image is pushed to; the signature's payload names it (`docker-reference`). */
  repository: string;
  /**
   * Pushes the image of the OCI layout at `layout` under `tag`, then stores `signature` (over
   * `payload`) beside it in cosign's layout; resolves with the pinned reference pushed.
   */
  push: (image: { layout: string; tag: string; digest: string; payload: Buffer; signature: string }) => Promise<string>;
}

/** Builds, attests and records a release of the commit checked out in `root` (HEAD). */
export async function buildRelease(options: BuildReleaseOptions): Promise<BuiltRelease> {
  const { root, out, signer, signingKey, builderId, syft, podmanEnv = process.env, releasesDir, imagePackages = true, publish, log = () => undefined } = options;
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
  if (publish !== undefined && signingKey === undefined) throw new ConfigError('a release signed keylessly has no image signature, so its image is not pushed: configure a signing key to push');
  const image = await step('image', () => buildImage({ root, commit, sourceDateEpoch, tag, out: join(out, archive), env: podmanEnv, packages: imagePackages }));
  const signature = signingKey === undefined ? undefined : signImage(publish?.repository ?? LOCAL_IMAGE_REPOSITORY, image.digest, signingKey);
  if (signature !== undefined) await writeFile(join(out, IMAGE_SIGNATURE_FILE), `${JSON.stringify(signature.file, null, 2)}\n`);
  const stamp = (file: string, component: string) => ({ commit, sourceDateEpoch, name: file, component: { name: component, version } });
  await step('npm sbom', async () => writeFile(join(out, SBOM_FILES.npm), await npmSbom(root, stamp(SBOM_FILES.npm, name))));
  await step('image sbom', async () => writeFile(join(out, SBOM_FILES.image), await imageSbom(syft, join(out, archive), stamp(SBOM_FILES.image, tag))));
  const record: ReleaseRecord = { name, version, commit, sourceDateEpoch, image: { ...image, archive, ...(signature === undefined ? {} : { signature: IMAGE_SIGNATURE_FILE }) }, tarball };
  await writeFile(join(out, RELEASE_FILE), `${JSON.stringify(record, null, 2)}\n`);

  const subjects = [tarball, archive, SBOM_FILES.npm, SBOM_FILES.image, RELEASE_FILE, ...(signature === undefined ? [] : [IMAGE_SIGNATURE_FILE])].sort();
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
  if (releasesDir !== undefined) await recordRelease(out, join(releasesDir, `${version}-${commit.slice(0, 12)}`));

  const files = [];
  for (const file of [...subjects, ATTESTATION_FILE].sort()) {
    files.push({ name: file, bytes: (await stat(join(out, file))).size, sha256: await fileSha256(join(out, file)) });
  }
  const pushed = publish === undefined || signature === undefined ? undefined : await step('push', () => pushImage(publish, join(out, archive), version, image.digest, signature));
  return { record, dir: out, statement, files, timings, ...(pushed === undefined ? {} : { pushed }) };
}

/** The cosign signature of `digest` for `repository`, and the file a release keeps it in. */
function signImage(repository: string, digest: string, key: SigningKey): { file: ImageSignatureFile; payload: Buffer; signature: string } {
  const payload = simpleSigningPayload(repository, digest);
  const signature = signSimplePayload(payload, key);
  return { file: { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, payload: payload.toString('base64'), annotations: { [SIGNATURE_ANNOTATION]: signature } }, payload, signature };
}

/** Unpacks the archive's OCI layout and hands it to the publication's push. */
async function pushImage(publish: ImagePublication, archive: string, tag: string, digest: string, signature: { payload: Buffer; signature: string }): Promise<string> {
  const layout = await mkdtemp(join(tmpdir(), 'maestro-release-push-'));
  try {
    await run('tar', ['-xf', archive, '-C', layout]);
    return await publish.push({ layout, tag, digest, payload: signature.payload, signature: signature.signature });
  } finally {
    await rm(layout, { recursive: true, force: true });
  }
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
