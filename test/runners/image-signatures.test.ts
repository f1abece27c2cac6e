/**
 * Image signature verification before a container starts, against real podman (no registry: the
 * signatures are Sigstore bundles in a folder) and the `maestro images` commands.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import { builtinCatalog, containerRun } from '../../src/tasks/index.js';
import { main } from '../../src/cli/main.js';
import { generateSigningKey, type SigningKey } from '../../src/provenance/index.js';
import { loadConfig } from '../../src/config/index.js';
import type { RunTaskInput } from '../../src/ir/index.js';
import { createPdp, createPolicyGate } from '../../src/policy/index.js';
import {
  createContainerRunner,
  createImageSignatureVerifier,
  createRunners,
  imagePolicyFrom,
  imageSignaturesDirOf,
  imageSignatureFile,
  signImage,
  type ContainerRunner,
  type SignableImage,
} from '../../src/runners/index.js';
import { createTestContext, type TestTaskContext } from '../../src/sdk/index.js';
import { FsArtifactStore, openAuditLog } from '../../src/store/index.js';
import { withPrintedLines, writeSigningKeyFiles } from '../helpers/image-signing.js';
import { startPodman, type PodmanPeer } from '../peers/podman.js';

let podman: PodmanPeer;
let dir: string;
let signed: string;
let image: SignableImage;
const release: SigningKey = generateSigningKey();
const stranger: SigningKey = generateSigningKey('ed25519');

beforeAll(async () => {
  podman = await startPodman();
  dir = await mkdtemp(join(tmpdir(), 'maestro-image-signatures-'));
  signed = join(dir, 'signed');
  const info = await (await createContainerRunner({ dockerHost: podman.dockerHost }).docker()).getImage(podman.image).inspect();
  image = { image: podman.image, imageId: info.Id, repoDigests: info.RepoDigests ?? [] };
  await signImage(image, release, signed);
});

afterAll(async () => {
  await podman?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A runner requiring signatures in namespace `prod`, trusting `keys`, reading bundles from `signaturesDir`. */
function runnerFor(signaturesDir: string, keys: SigningKey[]): ContainerRunner {
  const verifier = createImageSignatureVerifier({ signaturesDir, trustedKeys: async () => keys.map((key) => key.publicKey) });
  return createContainerRunner({ dockerHost: podman.dockerHost, imagePolicy: imagePolicyFrom({ signedImageNamespaces: ['prod'] }, verifier) });
}

let counter = 0;
function context(namespace = 'prod'): TestTaskContext {
  counter += 1;
  return createTestContext({ runId: `sig-${process.pid}-${counter}`, taskId: 'deploy', namespace });
}

async function containersOf(runId: string): Promise<string[]> {
  const out = await podman.podman(['ps', '-a', '--filter', `label=dev.maestro.run-id=${runId}`, '--format', '{{.ID}}']);
  return out.split('\n').filter((line) => line.trim() !== '');
}

/** Runs `echo ran` and returns the refusal; asserts no container of the attempt was ever created. */
async function refusal(runner: ContainerRunner, ctx = context()): Promise<{ code: string; retryable: boolean; message: string; details: Record<string, unknown> }> {
  const error = await runner.run(containerRun, { image: podman.image, command: ['echo', 'ran'] }, ctx).then(
    () => {
      throw new Error('expected the image to be refused');
    },
    (failure: unknown) => failure as { code: string; retryable: boolean; message: string; details: Record<string, unknown> },
  );
  expect(await containersOf(ctx.runId)).toEqual([]);
  expect(await podman.podman(['events', '--stream=false', '--filter', 'event=create', '--filter', `label=dev.maestro.run-id=${ctx.runId}`])).toBe('');
  return error;
}

describe('image signatures on podman', () => {
  it('runs a signed image where signatures are required, and logs the signer', async () => {
    const ctx = context();
    const result = await runnerFor(signed, [release]).run(containerRun, { image: podman.image, command: ['echo', 'ran'] }, ctx);
    expect(result).toMatchObject({ exitCode: 0, logs: 'ran' });
    expect(ctx.logs).toContainEqual(expect.objectContaining({ message: 'image verified', fields: expect.objectContaining({ signer: `key ${release.keyId}` }) }));
  });

  it('refuses an unsigned image with IMAGE_NOT_VERIFIED (not retryable) and creates no container', async () => {
    const error = await refusal(runnerFor(join(dir, 'empty'), [release]));
    expect(error.code).toBe('IMAGE_NOT_VERIFIED');
    expect(error.retryable).toBe(false);
    expect(error.details).toMatchObject({ reason: 'NO_SIGNATURE', image: podman.image });
    expect(error.message).toContain(`maestro images sign ${podman.image}`);
  });

  it('refuses a signature made with a key that is not trusted', async () => {
    const error = await refusal(runnerFor(signed, [stranger]));
    expect(error.code).toBe('IMAGE_NOT_VERIFIED');
    expect(error.details).toMatchObject({ reason: 'UNTRUSTED_KEY' });
  });

  it('refuses a tampered bundle (the signed statement changed after signing)', async () => {
    const tampered = join(dir, 'tampered');
    const { file } = await signImage(image, release, tampered);
    const bundle = JSON.parse(await readFile(file, 'utf8')) as { dsseEnvelope: { payload: string } };
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as { predicate: { image: string } };
    statement.predicate.image = 'localhost/something-else:1';
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    await writeFile(file, JSON.stringify(bundle));
    const error = await refusal(runnerFor(tampered, [release]));
    expect(error.code).toBe('IMAGE_NOT_VERIFIED');
    expect(error.details).toMatchObject({ reason: 'BAD_SIGNATURE' });
  });

  it("refuses another image's valid signature filed under this image's digest", async () => {
    const swapped = join(dir, 'swapped');
    const other = await signImage({ image: 'localhost/other:1', imageId: `sha256:${'ab'.repeat(32)}` }, release, swapped);
    await writeFile(imageSignatureFile(swapped, image.imageId), await readFile(other.file));
    const error = await refusal(runnerFor(swapped, [release]));
    expect(error.details).toMatchObject({ reason: 'SUBJECT_MISMATCH' });
  });

  it('fails closed without trusted keys, and without a verifier', async () => {
    expect((await refusal(runnerFor(signed, []))).details).toMatchObject({ reason: 'NO_TRUSTED_KEYS' });
    const noVerifier = createContainerRunner({ dockerHost: podman.dockerHost, imagePolicy: { requireSignature: true } });
    const error = await refusal(noVerifier);
    expect(error.code).toBe('IMAGE_NOT_VERIFIED');
    expect(error.details).toMatchObject({ reason: 'NO_VERIFIER' });
  });

  it('requires nothing in other namespaces, unless the task itself asks for a signed image', async () => {
    const unsigned = runnerFor(join(dir, 'empty'), [release]);
    await expect(unsigned.run(containerRun, { image: podman.image, command: ['true'] }, context('default'))).resolves.toMatchObject({ exitCode: 0 });
    const ctx = context('default');
    const error = await unsigned.run(containerRun, { image: podman.image, command: ['true'], requireSignedImage: true }, ctx).catch((failure: unknown) => failure);
    expect(error).toMatchObject({ code: 'IMAGE_NOT_VERIFIED', details: { reason: 'NO_SIGNATURE' } });
    expect(await containersOf(ctx.runId)).toEqual([]);
  });
});

describe('image signatures from config', () => {
  it('MAESTRO_SIGNED_IMAGE_NAMESPACES, MAESTRO_IMAGE_KEYS and MAESTRO_IMAGE_SIGNATURES_DIR drive the runners of createRunners', async () => {
    const pub = join(dir, 'config-release.pub');
    await writeFile(pub, release.publicKeyPem);
    const env = { DOCKER_HOST: podman.dockerHost, MAESTRO_DATA_DIR: dir, MAESTRO_SIGNED_IMAGE_NAMESPACES: 'prod, payments', MAESTRO_IMAGE_KEYS: pub };
    const config = loadConfig({ ...env, MAESTRO_IMAGE_SIGNATURES_DIR: signed });
    expect(config).toMatchObject({ signedImageNamespaces: ['prod', 'payments'], imageKeys: [pub], imageSignaturesDir: signed });
    const container = createRunners(config).container as ContainerRunner;
    await expect(container.run(containerRun, { image: podman.image, command: ['true'] }, context('payments'))).resolves.toMatchObject({ exitCode: 0 });

    // Default folder <dataDir>/image-signatures holds no signature of this image.
    const unsignedConfig = loadConfig(env);
    expect(imageSignaturesDirOf(unsignedConfig)).toBe(join(dir, 'image-signatures'));
    const refusing = createRunners(unsignedConfig).container as ContainerRunner;
    expect((await refusal(refusing, context('payments'))).details).toMatchObject({ reason: 'NO_SIGNATURE' });
    expect(() => loadConfig({ MAESTRO_SIGNED_IMAGE_NAMESPACES: 'Prod!' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe('image signatures as a policy obligation', () => {
  it("verifies the image where the policy's decision obliges it (namespace ops), and not elsewhere", async () => {
    const config = loadConfig({ MAESTRO_DATA_DIR: dir });
    const pdp = await createPdp(config);
    const auditLog = await openAuditLog({ dataDir: join(dir, 'obligations') });
    try {
      // A runner whose own policy requires nothing: only the decision's obligation can ask for a signature.
      const verifier = createImageSignatureVerifier({ signaturesDir: join(dir, 'empty'), trustedKeys: async () => [release.publicKey] });
      const { runTask } = createActivities({
        catalog: builtinCatalog,
        artifacts: new FsArtifactStore({ root: join(dir, 'obligation-artifacts') }),
        runners: { container: createContainerRunner({ dockerHost: podman.dockerHost, imagePolicy: { verifier } }) },
        secrets: () => Promise.reject(new Error('no secrets here')),
        writeReceipt: () => Promise.reject(new Error('no receipts here')),
        policy: createPolicyGate({ pdp, log: auditLog }),
      });
      const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('WARN') });
      const attempt = (namespace: string): RunTaskInput => ({
        runId: `obligation-${namespace}-${process.pid}`,
        taskId: 'deploy',
        uses: 'tasks/container.run@0.1.0',
        input: { image: podman.image, command: ['true'] },
        attempt: 1,
        namespace,
        runsOn: 'container',
        policy: {
          principal: { subject: 'rita', roles: ['operator'], namespaces: [namespace] },
          workflow: { name: 'deploy', version: '1.0.0', digest: 'sha256:00' },
          context: { purpose: 'release', authority: 'maestro-examples', license: 'internal' },
        },
      });
      const refused = await env.run(runTask, attempt('ops')).catch((failure: unknown) => failure);
      expect(refused).toMatchObject({ type: 'IMAGE_NOT_VERIFIED' });
      expect(await containersOf(attempt('ops').runId)).toEqual([]);
      const [decision] = await auditLog.list({ runId: attempt('ops').runId });
      expect(decision).toMatchObject({ result: 'allow', details: { obligations: { requireSignedImage: true } } });
      await expect(env.run(runTask, attempt('default'))).resolves.toMatchObject({ outputs: { exitCode: 0 } });
    } finally {
      await auditLog.close();
      await pdp.close();
    }
  });
});

describe('maestro images sign / verify', () => {
  it('signs with a key file and verifies with the public key; another key is refused (exit 1)', async () => {
    const cliDir = join(dir, 'cli');
    const { keyFile, pubFile, strangerPub } = await writeSigningKeyFiles(dir, release, stranger);
    vi.stubEnv('DOCKER_HOST', podman.dockerHost);
    vi.stubEnv('MAESTRO_IMAGE_SIGNATURES_DIR', cliDir);
    await withPrintedLines(async (printed) => {
      expect(await main(['images', 'sign', podman.image, '--key', keyFile, '--json'])).toBe(0);
      expect(JSON.parse(printed[0] ?? '{}')).toEqual({ file: imageSignatureFile(cliDir, image.imageId), keyId: release.keyId, imageId: image.imageId });
      expect(await main(['images', 'verify', podman.image, '--key', pubFile])).toBe(0);
      expect(printed[1]).toContain('verified');
      expect(await main(['images', 'verify', podman.image, '--key', strangerPub, '--json'])).toBe(1);
      expect(JSON.parse(printed[2] ?? '{}')).toMatchObject({ verified: false, code: 'UNTRUSTED_KEY' });
    });
  });
});
