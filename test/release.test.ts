/**
 * `npm run release`'s build, verification and SBOM search, against real podman, npm and syft. Two
 * builds of the same commit (the image without its production packages, so the file takes about
 * two minutes rather than ten; the full image is the same code with one more layer), each pushed
 * with its image signature to a real registry (crane's): their files and signed statements are
 * byte-identical (an Ed25519 key, whose signatures are deterministic), the release and its image
 * signature verify offline, a flipped byte in any file or an extra file fails naming it, the
 * pushed image runs through the container runner verifying registry signatures while a copy
 * pushed without its signature is refused, and `sbom search` finds a locked dependency.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { generateSigningKey, localBundleSigner, signedDigestOf, type SigningKey } from '../src/provenance/index.js';
import {
  ATTESTATION_FILE,
  IMAGE_SIGNATURE_FILE,
  buildRelease,
  parseSbomQuery,
  searchSboms,
  verifyRelease,
  type BuildReleaseOptions,
  type BuiltRelease,
  type ImageSignatureFile,
} from '../src/release/index.js';
import { createRunners, type ContainerRunner } from '../src/runners/index.js';
import { createTestContext } from '../src/sdk/index.js';
import { containerRun } from '../src/tasks/index.js';
import { registryPublication } from '../scripts/release.js';
import { REPO_ROOT, TOOLS_BIN, runInstaller, runScript } from './peers/install.js';
import { startPodman, type PodmanPeer } from './peers/podman.js';
import { startRegistry, type RegistryPeer } from './peers/registry.js';

const run = promisify(execFile);

let work: string;
let key: SigningKey;
let first: BuiltRelease;
let second: BuiltRelease;
let releasesDir: string;
let options: Omit<BuildReleaseOptions, 'out'>;
let registry: RegistryPeer;

/** The statement bytes a Sigstore bundle signs (its DSSE payload). */
async function signedPayload(dir: string): Promise<string> {
  const bundle = JSON.parse(await readFile(join(dir, ATTESTATION_FILE), 'utf8')) as { dsseEnvelope: { payload: string } };
  return bundle.dsseEnvelope.payload;
}

/** Flips one byte in the middle of `file`, runs `check`, then puts the byte back. */
async function withFlippedByte<T>(file: string, check: () => Promise<T>): Promise<T> {
  const handle = await open(file, 'r+');
  try {
    const { size } = await handle.stat();
    const at = Math.floor(size / 2);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    await handle.write(Buffer.from([(byte[0] ?? 0) ^ 0x01]), 0, 1, at);
    try {
      return await check();
    } finally {
      await handle.write(byte, 0, 1, at);
    }
  } finally {
    await handle.close();
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'maestro-release-'));
  releasesDir = join(work, 'releases');
  key = generateSigningKey('ed25519');
  registry = await startRegistry();
  await runScript('node', ['scripts/syft.mjs']);
  await runInstaller('podman.sh');
  const env: Record<string, string> = {};
  for (const line of (await run('bash', [join(REPO_ROOT, 'scripts', 'peers', 'podman.sh'), 'env'])).stdout.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line);
    if (match?.[1] && match[2] !== undefined) env[match[1]] = match[2];
  }
  options = {
    root: REPO_ROOT,
    signer: localBundleSigner(key),
    signingKey: key,
    builderId: 'urn:maestro:builder:release-test',
    syft: join(TOOLS_BIN, 'syft'),
    podmanEnv: { ...process.env, ...env },
    releasesDir,
    imagePackages: false,
    publish: registryPublication(`${registry.host}/maestro`, { imageRegistryInsecure: [registry.host] }),
  };
  first = await buildRelease({ ...options, out: join(work, 'first') });
  second = await buildRelease({ ...options, out: join(work, 'second') });
}, 900_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('npm run release', () => {
  it('builds the tarball, image archive, both SBOMs and the record, each named by the signed attestation', () => {
    const names = first.statement.subject.map((subject) => subject.name);
    const { version } = first.record;
    expect(names).toEqual([IMAGE_SIGNATURE_FILE, `maestro-${version}.oci.tar`, 'release.json', 'sbom.image.cdx.json', 'sbom.npm.cdx.json', `summit-maestro-${version}.tgz`]);
    expect(first.record.image.signature).toBe(IMAGE_SIGNATURE_FILE);
    expect(first.record.image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const byproduct = first.statement.predicate.runDetails.byproducts?.[0];
    expect(byproduct?.digest?.['sha256']).toBe(first.record.image.digest.slice('sha256:'.length));
    expect(first.statement.predicate.buildDefinition.externalParameters['revision']).toBe(first.record.commit);
  });

  it('is reproducible: two builds of one commit give byte-identical files and the same signed statement', async () => {
    expect(second.files.filter((file) => file.name !== ATTESTATION_FILE)).toEqual(first.files.filter((file) => file.name !== ATTESTATION_FILE));
    expect(await signedPayload(second.dir)).toBe(await signedPayload(first.dir));
    expect(second.record.image.digest).toBe(first.record.image.digest);
  });

  it("signs the image: a cosign payload naming the image's manifest digest, signed with the release key", async () => {
    const file = JSON.parse(await readFile(join(first.dir, IMAGE_SIGNATURE_FILE), 'utf8')) as ImageSignatureFile;
    const payload = Buffer.from(file.payload, 'base64');
    expect(signedDigestOf(payload)).toBe(first.record.image.digest);
    expect(JSON.parse(payload.toString('utf8'))).toMatchObject({ critical: { identity: { 'docker-reference': `${registry.host}/maestro` } } });
    const { verify } = await import('node:crypto');
    expect(verify(null, payload, key.publicKey, Buffer.from(file.annotations['dev.cosignproject.cosign/signature'], 'base64'))).toBe(true);
  });

  it('verifies offline with the signing key, the image signature included, and not with another key', async () => {
    const verified = await verifyRelease(first.dir, { publicKeys: [key.publicKeyPem] });
    expect(verified).toMatchObject({ ok: true, keyId: key.keyId, revision: first.record.commit, image: { digest: first.record.image.digest, signedBy: key.keyId } });
    const other = await verifyRelease(first.dir, { publicKeys: [generateSigningKey().publicKeyPem] });
    expect(other).toMatchObject({ ok: false, file: ATTESTATION_FILE });
    expect(other.ok ? '' : other.reason).toMatch(/UNTRUSTED_KEY/);
  });

  it('fails naming the file when one byte of any artefact, SBOM or the attestation flips', async () => {
    for (const name of (await readdir(first.dir)).sort()) {
      const result = await withFlippedByte(join(first.dir, name), () => verifyRelease(first.dir, { publicKeys: [key.publicKeyPem] }));
      expect(result, name).toMatchObject({ ok: false, file: name });
    }
    expect((await verifyRelease(first.dir, { publicKeys: [key.publicKeyPem] })).ok).toBe(true);
  });

  it('fails naming a file the attestation does not account for, or one it names that is gone', async () => {
    await writeFile(join(second.dir, 'extra.bin'), 'smuggled');
    expect(await verifyRelease(second.dir, { publicKeys: [key.publicKeyPem] })).toMatchObject({ ok: false, file: 'extra.bin' });
    await rm(join(second.dir, 'extra.bin'));
    await rm(join(second.dir, 'sbom.npm.cdx.json'));
    expect(await verifyRelease(second.dir, { publicKeys: [key.publicKeyPem] })).toMatchObject({ ok: false, file: 'sbom.npm.cdx.json' });
  });

  it('pushes the image byte for byte with its signature in cosign\'s layout, where the registry store finds it', async () => {
    const { digest } = first.record.image;
    expect(first.pushed).toBe(`${registry.host}/maestro@${digest}`);
    expect(await registry.crane(['digest', `${registry.host}/maestro:${first.record.version}`])).toBe(digest);
    const signatures = JSON.parse(await registry.crane(['manifest', `${registry.host}/maestro:sha256-${digest.slice(7)}.sig`])) as { layers: { digest: string }[] };
    // Both builds pushed the same (deterministic) signature: one layer, not two.
    expect(signatures.layers).toHaveLength(1);
    const file = JSON.parse(await readFile(join(first.dir, IMAGE_SIGNATURE_FILE), 'utf8')) as ImageSignatureFile;
    expect(await registry.crane(['blob', `${registry.host}/maestro@${signatures.layers[0]?.digest ?? ''}`])).toBe(Buffer.from(file.payload, 'base64').toString('utf8'));
  });

  it('refuses to build into a folder that is neither empty nor an earlier release', async () => {
    const folder = join(work, 'not-a-release');
    await mkdir(folder);
    await writeFile(join(folder, 'keep.txt'), 'mine');
    await expect(buildRelease({ ...options, out: folder })).rejects.toThrow(/not empty and holds no release\.json/);
    expect(await readFile(join(folder, 'keep.txt'), 'utf8')).toBe('mine');
  });

  it('sbom search finds a locked dependency at its exact version, and says when a range matches nothing', async () => {
    const lock = JSON.parse(await readFile(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
    const locked = lock.packages['node_modules/@temporalio/worker']?.version;
    const matches = await searchSboms(releasesDir, parseSbomQuery('@temporalio/worker'));
    expect(matches).toContainEqual(expect.objectContaining({ sbom: 'npm', name: '@temporalio/worker', version: locked, commit: first.record.commit }));
    expect(await searchSboms(releasesDir, parseSbomQuery(`@temporalio/worker@${locked ?? ''}`))).toHaveLength(matches.length);
    expect(await searchSboms(releasesDir, parseSbomQuery('@temporalio/worker@>=999'))).toEqual([]);
  });
});

describe('the released image on the container runner (registry signatures)', () => {
  let podman: PodmanPeer;
  let runner: ContainerRunner;
  const pulled: string[] = [];

  beforeAll(async () => {
    podman = await startPodman();
    const pub = join(work, 'release.pub');
    await writeFile(pub, key.publicKeyPem);
    const config = loadConfig({
      DOCKER_HOST: podman.dockerHost,
      MAESTRO_DATA_DIR: work,
      MAESTRO_SIGNED_IMAGE_NAMESPACES: 'prod',
      MAESTRO_IMAGE_KEYS: pub,
      MAESTRO_IMAGE_SIGNATURE_STORES: 'registry',
      MAESTRO_IMAGE_REGISTRY_INSECURE: registry.host,
    });
    runner = createRunners(config).container as ContainerRunner;
  }, 300_000);

  afterAll(async () => {
    // Both names are one image: the forced removal of the first takes it, the second finds nothing.
    for (const image of pulled) await podman?.podman(['rmi', '--force', image]).catch(() => undefined);
    await podman?.stop();
  });

  async function pull(image: string): Promise<void> {
    await podman.podman(['pull', '--tls-verify=false', '--quiet', image]);
    pulled.push(image);
  }

  it('runs the pushed release image, verified by its signature in the registry', async () => {
    const image = `${registry.host}/maestro:${first.record.version}`;
    await pull(image);
    const ctx = createTestContext({ runId: `release-${process.pid}-signed`, taskId: 'node', namespace: 'prod' });
    const result = await runner.run(containerRun, { image, command: ['node', '-e', 'console.log(process.version)'] }, ctx);
    expect(result).toMatchObject({ exitCode: 0, logs: process.version });
    expect(ctx.logs).toContainEqual(expect.objectContaining({ message: 'image verified', fields: expect.objectContaining({ image, signer: `key ${key.keyId}` }) }));
  }, 300_000);

  it('refuses the same image pushed without its signature (IMAGE_NOT_VERIFIED) before any container exists', async () => {
    const image = `${registry.host}/maestro-unsigned:${first.record.version}`;
    await registry.crane(['copy', `${registry.host}/maestro:${first.record.version}`, image]);
    await pull(image);
    const ctx = createTestContext({ runId: `release-${process.pid}-unsigned`, taskId: 'node', namespace: 'prod' });
    await expect(runner.run(containerRun, { image, command: ['node', '-e', '1'] }, ctx)).rejects.toMatchObject({ code: 'IMAGE_NOT_VERIFIED', details: { reason: 'NO_SIGNATURE' } });
    expect((await podman.podman(['ps', '-a', '--filter', `label=dev.maestro.run-id=${ctx.runId}`, '--format', '{{.ID}}'])).trim()).toBe('');
  }, 300_000);
});
