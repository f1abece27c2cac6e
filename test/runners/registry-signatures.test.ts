/**
 * Image signatures kept where cosign keeps them, in a real OCI registry (go-containerregistry's
 * `crane registry serve`): `maestro images sign` writes the `sha256-<digest>.sig` manifest, and
 * both runners verify against it before anything exists — the Kubernetes Jobs runner against the
 * in-process API server (its Job pinned by digest), the container runner against real podman.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config/index.js';
import { SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, generateSigningKey, type SigningKey } from '../../src/provenance/index.js';
import {
  createContainerRunner,
  createK8sRunner,
  createRegistryClient,
  createRegistrySignatureVerifier,
  createRunners,
  imagePolicyFrom,
  jobName,
  signImageInRegistry,
  type ContainerRunner,
  type K8sRunner,
  type RegistryClient,
} from '../../src/runners/index.js';
import { createTestContext, type TestTaskContext } from '../../src/sdk/index.js';
import { containerRun } from '../../src/tasks/index.js';
import { withPrintedLines, writeSigningKeyFiles } from '../helpers/image-signing.js';
import { startK8sApiServer, type K8sApiServer } from '../peers/k8s-api.js';
import { startPodman, type PodmanPeer } from '../peers/podman.js';
import { startRegistry, type RegistryPeer } from '../peers/registry.js';

const NS = 'maestro-prod';
const release: SigningKey = generateSigningKey();
const stranger: SigningKey = generateSigningKey();

let registry: RegistryPeer;
let client: RegistryClient;
let dir: string;

beforeAll(async () => {
  registry = await startRegistry();
  client = createRegistryClient({ insecureRegistries: [registry.host] });
  dir = await mkdtemp(join(tmpdir(), 'maestro-registry-signatures-'));
});

afterAll(async () => {
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

let counter = 0;
function context(namespace = 'prod'): TestTaskContext {
  counter += 1;
  return createTestContext({ runId: `reg-${process.pid}-${counter}`, taskId: 'deploy', namespace });
}

function verifierTrusting(keys: SigningKey[]) {
  return createRegistrySignatureVerifier({ client, trustedKeys: async () => keys.map((key) => key.publicKey) });
}

async function failure(promise: Promise<unknown>): Promise<{ code?: string; retryable?: boolean; message: string; details?: Record<string, unknown> }> {
  return promise.then(
    () => {
      throw new Error('expected the image to be refused');
    },
    (error: unknown) => error as { code?: string; message: string },
  );
}

describe('maestro images sign (cosign format in the registry)', () => {
  it("stores an OCI manifest under sha256-<hex>.sig whose simple-signing layer names the digest, signed in the annotation", async () => {
    const digest = await registry.pushImage('tools/cli', '1', 'cli');
    const { keyFile, pubFile, strangerPub } = await writeSigningKeyFiles(dir, release, stranger);
    vi.stubEnv('MAESTRO_IMAGE_REGISTRY_INSECURE', registry.host);
    vi.stubEnv('MAESTRO_IMAGE_SIGNATURE_STORES', 'registry');
    await withPrintedLines(async (printed) => {
      expect(await main(['images', 'sign', `${registry.host}/tools/cli:1`, '--key', keyFile, '--json'])).toBe(0);
      expect(JSON.parse(printed[0] ?? '{}')).toEqual({ image: `${registry.host}/tools/cli@${digest}`, digest, signatureTag: `sha256-${digest.slice(7)}.sig`, keyId: release.keyId });
      expect(await main(['images', 'verify', `${registry.host}/tools/cli:1`, '--key', pubFile])).toBe(0);
      expect(printed[1]).toContain(`verified (key ${release.keyId})`);
      expect(await main(['images', 'verify', `${registry.host}/tools/cli:1`, '--key', strangerPub, '--json'])).toBe(1);
      expect(JSON.parse(printed[2] ?? '{}')).toMatchObject({ verified: false, code: 'UNTRUSTED_KEY' });
    });
    // Read back with crane, not our client: the layout is cosign's.
    const manifest = JSON.parse(await registry.crane(['manifest', `${registry.host}/tools/cli:sha256-${digest.slice(7)}.sig`])) as {
      mediaType: string;
      layers: { mediaType: string; digest: string; annotations: Record<string, string> }[];
    };
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.layers).toHaveLength(1);
    const [layer] = manifest.layers;
    expect(layer?.mediaType).toBe(SIMPLE_SIGNING_MEDIA_TYPE);
    const payload = await registry.crane(['blob', `${registry.host}/tools/cli@${layer?.digest ?? ''}`]);
    expect(JSON.parse(payload)).toEqual({
      critical: { identity: { 'docker-reference': `${registry.host}/tools/cli` }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' },
      optional: null,
    });
    const { verify } = await import('node:crypto');
    expect(verify('sha256', Buffer.from(payload), release.publicKey, Buffer.from(layer?.annotations[SIGNATURE_ANNOTATION] ?? '', 'base64'))).toBe(true);
  });

  it('keeps the signatures of other keys when another key signs the same digest', async () => {
    await registry.pushImage('tools/two', '1', 'two');
    await signImageInRegistry(client, `${registry.host}/tools/two:1`, stranger);
    const { digest } = await signImageInRegistry(client, `${registry.host}/tools/two:1`, release);
    const manifest = JSON.parse(await registry.crane(['manifest', `${registry.host}/tools/two:sha256-${digest.slice(7)}.sig`])) as { layers: unknown[] };
    expect(manifest.layers).toHaveLength(2);
    for (const key of [release, stranger]) {
      await expect(verifierTrusting([key])({ image: `${registry.host}/tools/two:1`, imageId: digest, repoDigests: [], digest, namespace: 'prod', runId: 'r', taskId: 't' })).resolves.toMatchObject({ verified: true });
    }
  });

  it("refuses a valid signature of another digest copied under this digest's .sig tag", async () => {
    const signedDigest = await registry.pushImage('tools/copy', 'signed', 'signed');
    const otherDigest = await registry.pushImage('tools/copy', 'other', 'other');
    await signImageInRegistry(client, `${registry.host}/tools/copy:signed`, release);
    await registry.crane(['copy', `${registry.host}/tools/copy:sha256-${signedDigest.slice(7)}.sig`, `${registry.host}/tools/copy:sha256-${otherDigest.slice(7)}.sig`]);
    const verdict = await verifierTrusting([release])({ image: `${registry.host}/tools/copy:other`, imageId: otherDigest, repoDigests: [], digest: otherDigest, namespace: 'prod', runId: 'r', taskId: 't' });
    expect(verdict).toMatchObject({ verified: false, code: 'SUBJECT_MISMATCH' });
  });
});

describe('Kubernetes Jobs runner with registry signatures', () => {
  let api: K8sApiServer;
  let runner: K8sRunner;
  let wrongKey: K8sRunner;

  beforeAll(async () => {
    api = await startK8sApiServer({ namespaces: [NS] });
    const options = { kubeconfig: api.kubeconfigPath, namespaces: { prod: NS }, podPollMs: 20, heartbeatIntervalMs: 50 };
    const resolveDigest = async (image: string) => (await client.manifest((await import('../../src/runners/index.js')).parseImageReference(image)))?.digest;
    runner = createK8sRunner({ ...options, imagePolicy: { ...imagePolicyFrom({ signedImageNamespaces: ['prod'] }, verifierTrusting([release])), resolveDigest } });
    wrongKey = createK8sRunner({ ...options, imagePolicy: { ...imagePolicyFrom({ signedImageNamespaces: ['prod'] }, verifierTrusting([stranger])), resolveDigest } });
  });

  afterAll(async () => {
    await api?.close();
  });

  /** The refusal of `image`; asserts the API server never saw a Job (nor Secret) of the attempt. */
  async function refusal(k8s: K8sRunner, image: string) {
    const ctx = context();
    const before = api.requests.length;
    const error = await failure(k8s.run(containerRun, { image, command: ['run'] }, ctx));
    expect(api.list('jobs', NS).filter((job) => job.metadata.labels?.['maestro.dev/run-id'] === ctx.runId)).toEqual([]);
    expect(api.requests.slice(before).filter((request) => !request.startsWith('GET'))).toEqual([]);
    return error;
  }

  it('runs a signed image as a Job whose image is pinned to the verified digest', async () => {
    const digest = await registry.pushImage('apps/report', '2.1', 'report');
    await signImageInRegistry(client, `${registry.host}/apps/report:2.1`, release);
    const ctx = context();
    const attempt = runner.run(containerRun, { image: `${registry.host}/apps/report:2.1`, command: ['report'] }, ctx);
    const name = jobName({ runId: ctx.runId, taskId: ctx.taskId, attempt: ctx.attempt, namespace: ctx.namespace });
    const job = await api.waitForJob((each) => each.metadata.name === name);
    const containers = (job as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers;
    expect(containers[0]?.image).toBe(`${registry.host}/apps/report@${digest}`);
    await api.runPod(NS, name, { message: '{"rows":3}' });
    await expect(attempt).resolves.toMatchObject({ exitCode: 0, outputs: { rows: 3 } });
    expect(ctx.logs).toContainEqual(expect.objectContaining({ message: 'image verified', fields: expect.objectContaining({ digest, signer: `key ${release.keyId}` }) }));
  });

  it('refuses an unsigned image before any Job exists', async () => {
    await registry.pushImage('apps/unsigned', '1', 'unsigned');
    const error = await refusal(runner, `${registry.host}/apps/unsigned:1`);
    expect(error).toMatchObject({ code: 'IMAGE_NOT_VERIFIED', retryable: false, details: { reason: 'NO_SIGNATURE' } });
    expect(error.message).toContain('maestro images sign');
  });

  it('refuses an image signed with a key it does not trust', async () => {
    await registry.pushImage('apps/other-key', '1', 'other-key');
    await signImageInRegistry(client, `${registry.host}/apps/other-key:1`, release);
    expect(await refusal(wrongKey, `${registry.host}/apps/other-key:1`)).toMatchObject({ code: 'IMAGE_NOT_VERIFIED', details: { reason: 'UNTRUSTED_KEY' } });
  });

  it('refuses a tag moved to another image after signing (its digest changed)', async () => {
    await registry.pushImage('apps/moved', 'stable', 'first');
    await signImageInRegistry(client, `${registry.host}/apps/moved:stable`, release);
    await registry.pushImage('apps/moved', 'stable', 'second');
    expect(await refusal(runner, `${registry.host}/apps/moved:stable`)).toMatchObject({ code: 'IMAGE_NOT_VERIFIED', details: { reason: 'NO_SIGNATURE' } });
  });

  it('refuses an image that cannot be resolved to a digest', async () => {
    expect(await refusal(runner, `${registry.host}/apps/absent:1`)).toMatchObject({ code: 'IMAGE_NOT_VERIFIED', details: { reason: 'NO_DIGEST' } });
  });
});

describe('container runner with registry signatures (podman)', () => {
  let podman: PodmanPeer;
  const tags: string[] = [];

  beforeAll(async () => {
    podman = await startPodman();
  });

  afterAll(async () => {
    // `untag IMAGE NAME` removes that name only (a bare `untag IMAGE` would strip the shared test image's own name too).
    for (const tag of tags) await podman?.podman(['untag', tag, tag]).catch(() => undefined);
    await podman?.stop();
  });

  /** Pushes the busybox test image to `<registry>/<repository>:1` and pulls it back (so podman records its registry digest). */
  async function published(repository: string): Promise<string> {
    const reference = `${registry.host}/${repository}:1`;
    await podman.podman(['push', '--tls-verify=false', '--quiet', podman.image, reference]);
    await podman.podman(['pull', '--tls-verify=false', '--quiet', reference]);
    tags.push(reference);
    return reference;
  }

  function runnerTrusting(keys: SigningKey[]): ContainerRunner {
    return createContainerRunner({ dockerHost: podman.dockerHost, imagePolicy: imagePolicyFrom({ signedImageNamespaces: ['prod'] }, verifierTrusting(keys)) });
  }

  async function containersOf(runId: string): Promise<string[]> {
    const out = await podman.podman(['ps', '-a', '--filter', `label=dev.maestro.run-id=${runId}`, '--format', '{{.ID}}']);
    return out.split('\n').filter((line) => line.trim() !== '');
  }

  async function refusal(runner: ContainerRunner, image: string) {
    const ctx = context();
    const error = await failure(runner.run(containerRun, { image, command: ['echo', 'ran'] }, ctx));
    expect(await containersOf(ctx.runId)).toEqual([]);
    expect(await podman.podman(['events', '--stream=false', '--filter', 'event=create', '--filter', `label=dev.maestro.run-id=${ctx.runId}`])).toBe('');
    return error;
  }

  it('runs an image signed in its registry, through the runners of createRunners', async () => {
    const image = await published('podman/signed');
    await signImageInRegistry(client, image, release);
    const pub = join(dir, 'runner-release.pub');
    await writeFile(pub, release.publicKeyPem);
    const config = loadConfig({
      DOCKER_HOST: podman.dockerHost,
      MAESTRO_DATA_DIR: dir,
      MAESTRO_SIGNED_IMAGE_NAMESPACES: 'prod',
      MAESTRO_IMAGE_KEYS: pub,
      MAESTRO_IMAGE_SIGNATURE_STORES: 'registry,folder',
      MAESTRO_IMAGE_REGISTRY_INSECURE: registry.host,
    });
    const ctx = context();
    const result = await (createRunners(config).container as ContainerRunner).run(containerRun, { image, command: ['echo', 'ran'] }, ctx);
    expect(result).toMatchObject({ exitCode: 0, logs: 'ran' });
    expect(ctx.logs).toContainEqual(expect.objectContaining({ message: 'image verified', fields: expect.objectContaining({ signer: `key ${release.keyId}` }) }));
  });

  it('refuses an unsigned image and one signed with an untrusted key, creating no container', async () => {
    const unsigned = await published('podman/unsigned');
    expect(await refusal(runnerTrusting([release]), unsigned)).toMatchObject({ code: 'IMAGE_NOT_VERIFIED', retryable: false, details: { reason: 'NO_SIGNATURE' } });
    const other = await published('podman/other-key');
    await signImageInRegistry(client, other, stranger);
    expect(await refusal(runnerTrusting([release]), other)).toMatchObject({ code: 'IMAGE_NOT_VERIFIED', details: { reason: 'UNTRUSTED_KEY' } });
  });

  it('refuses the local image once its tag moved in the registry to another image after signing', async () => {
    const image = await published('podman/moved');
    await signImageInRegistry(client, image, release);
    await registry.pushImage('podman/moved', '1', 'replacement');
    const error = await refusal(runnerTrusting([release]), image);
    expect(error).toMatchObject({ code: 'IMAGE_NOT_VERIFIED', details: { reason: 'DIGEST_MISMATCH' } });
    expect(error.message).toContain('the tag moved');
  });
});
