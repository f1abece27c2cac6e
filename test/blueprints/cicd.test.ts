/**
 * The CI/CD blueprint (`examples/blueprints/cicd/cicd.yaml`) end to end on the real Temporal dev
 * server, real podman (Docker API), a real OCI registry (crane) and the deploy-API peer: the sample
 * service is built offline from the locally imported base, tested in a container, signed with the
 * namespace's key (a secret), admitted by the container runner's signature check, deployed to
 * staging, health-checked, approved through the HTTP API, promoted and health-checked again; a
 * staging that never turns healthy is rolled back to the image it replaced. The attacks fail: a key
 * the runners do not trust, a key scoped to another namespace, a repository outside the allowed
 * root, a symlink to the worker's files, a base image the build would pull, a privileged or
 * networked build step.
 */
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, startApi, tokenEntriesVerifier } from '../../src/api/index.js';
import { extendConfig, loadConfig } from '../../src/config/index.js';
import { defaultApprovalKeyFile, generateSigningKey, type SigningKey } from '../../src/provenance/index.js';
import { createContainerRunner, createRegistryClient, createRegistrySignatureVerifier, imagePolicyFrom, localRunner } from '../../src/runners/index.js';
import { createSecretResolver } from '../../src/secrets/index.js';
import { createBuiltinCatalog, createImageBuildTask, egressPolicyOf } from '../../src/tasks/index.js';
import { createTestContext } from '../../src/sdk/index.js';
import { startEngine, task, waitForState, type Engine } from '../helpers/engine.js';
import { startDeployApi, type DeployApiPeer } from '../peers/deploy-api.js';
import { startPodman, type PodmanPeer } from '../peers/podman.js';
import { startRegistry, type RegistryPeer } from '../peers/registry.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BLUEPRINT = join(ROOT, 'examples', 'blueprints', 'cicd', 'cicd.yaml');
/** The namespace the signing key is scoped to, and the one it is not. */
const RELEASE = 'release';
const LOOPBACK = ['127.0.0.0/8', '::1/128'];
const TOKEN = 'release-manager-token-0123456789';

const release: SigningKey = generateSigningKey();
const stranger: SigningKey = generateSigningKey();

let registry: RegistryPeer;
let podman: PodmanPeer;
let deployApi: DeployApiPeer;
let engine: Engine;
let api: { url: string; stop(): Promise<void> };
let roots: string;
let outside: string;
let yaml: string;

beforeAll(async () => {
  [registry, deployApi] = await Promise.all([startRegistry(), startDeployApi()]);
  podman = await startPodman({ insecureRegistries: [registry.host] });
  roots = await mkdtemp(join(tmpdir(), 'maestro-cicd-roots-'));
  outside = await mkdtemp(join(tmpdir(), 'maestro-cicd-outside-'));
  await cp(join(ROOT, 'examples', 'blueprints', 'cicd', 'service'), join(roots, 'services', 'web'), { recursive: true });
  yaml = await readFile(BLUEPRINT, 'utf8');
  // Both keys are scoped to namespace `release`: a run elsewhere cannot sign with them.
  const config = loadConfig({ MAESTRO_SECRETS: JSON.stringify({ IMAGE_SIGNING_KEY: { namespaces: [RELEASE] }, STRANGER_KEY: { namespaces: [RELEASE] } }) });
  const secrets = createSecretResolver(config, {
    MAESTRO_SECRET_IMAGE_SIGNING_KEY: release.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    MAESTRO_SECRET_STRANGER_KEY: stranger.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  });
  // The runners trust the release key only, and read signatures from the registry.
  const verifier = createRegistrySignatureVerifier({ client: createRegistryClient({ insecureRegistries: [registry.host] }), trustedKeys: async () => [release.publicKey] });
  engine = await startEngine({
    catalog: createBuiltinCatalog({ egressAllow: { default: LOOPBACK, [RELEASE]: LOOPBACK }, fileRoots: [roots], dockerHost: podman.dockerHost, imageRegistryInsecure: [registry.host] }),
    secrets,
    runners: { local: localRunner, container: createContainerRunner({ dockerHost: podman.dockerHost, imagePolicy: imagePolicyFrom({}, verifier) }) },
  });
  api = await startReleaseApi();
}, 300_000);

afterAll(async () => {
  await api?.stop();
  await engine?.close();
  await Promise.all([podman?.stop(), registry?.stop(), deployApi?.stop()]);
  await Promise.all([roots, outside].filter(Boolean).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The HTTP API on the engine's task queue, with a release manager of namespace `release`. */
async function startReleaseApi(): Promise<{ url: string; stop(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'maestro-cicd-api-'));
  // The engine's worker checks approvals against its dev approval key: the API signs with that one.
  const approvalKey = defaultApprovalKeyFile({ dataDir: engine.artifactDir });
  const config = extendConfig(loadConfig({}), { temporalAddress: engine.address, taskQueue: engine.taskQueue, dataDir, approvalKey });
  const authenticator = createAuthenticator([tokenEntriesVerifier([{ name: 'rm-on-duty', token: TOKEN, roles: ['release-manager'], namespaces: [RELEASE] }])]);
  const running = await startApi(config, { port: 0, authenticator, pdp: false, payloadCodec: engine.payloadCodec });
  return {
    url: running.url,
    stop: async () => {
      await running.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function params(service: string, repository = 'services/web', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { service, repository, image: `${registry.host}/sig/${service}:1.0.0`, deployApi: deployApi.url, ...extra };
}

function callsFor(service: string) {
  return deployApi.calls.filter((call) => (call.body as { service?: string } | null)?.service === service || call.path.startsWith(`/health/${service}`));
}

describe('CI/CD blueprint', () => {
  it('builds, tests, signs, deploys to staging, waits for approval through the API, then promotes to production', async () => {
    const runId = await engine.start(yaml, params('web'), { namespace: RELEASE });
    const waiting = await waitForState(engine, runId, (state) => task(state, 'approval').status === 'WAITING', 180_000);
    const built = task(waiting, 'build').outputs as { digest: string; pinned: string };
    expect(built.pinned).toBe(`${registry.host}/sig/web@${built.digest}`);
    expect(await registry.crane(['digest', `${registry.host}/sig/web:1.0.0`])).toBe(built.digest);
    expect((task(waiting, 'test').outputs as { logs: string }).logs).toContain('tests passed: 1.0.0');
    expect(task(waiting, 'sign').outputs).toMatchObject({ digest: built.digest, keyId: release.keyId, signatureTag: `sha256-${built.digest.slice(7)}.sig` });
    expect(deployApi.deployed.get('web/staging')).toBe(built.pinned);
    expect(deployApi.deployed.has('web/production')).toBe(false);

    const approved = await fetch(`${api.url}/runs/${runId}/approvals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ taskId: 'approval', decision: 'approve' }),
    });
    expect(approved.status, await approved.clone().text()).toBe(200);
    const state = await engine.wait(runId);
    expect(state.status).toBe('SUCCEEDED');
    expect(task(state, 'approval').outputs).toMatchObject({ approved: true, approvals: [{ approver: 'rm-on-duty' }] });
    expect(deployApi.deployed.get('web/production')).toBe(built.pinned);
    expect(callsFor('web').map((call) => `${call.method} ${call.path}`)).toEqual(['POST /deploy', 'GET /health/web', 'POST /deploy', 'GET /health/web']);
    // The key never reaches the history: no PEM in anything the run returns.
    expect(JSON.stringify(await engine.client.workflow.getHandle(runId).fetchHistory())).not.toContain('PRIVATE KEY');
  }, 240_000);

  it('rolls staging back to the image it replaced when staging never turns healthy, and fails the run saying why', async () => {
    deployApi.deployed.set('api/staging', 'registry.example/sig/api@sha256:previous');
    deployApi.unhealthyIn('staging', 100);
    try {
      const state = await engine.wait(await engine.start(yaml, params('api'), { namespace: RELEASE }));
      expect(state.status).toBe('FAILED');
      expect(task(state, 'staging_health')).toMatchObject({ status: 'FAILED', attempts: 5 });
      expect(task(state, 'staging_health').error?.message).toContain('answered 503');
      expect(task(state, 'approval').status).toBe('SKIPPED');
      expect(task(state, 'staging.compensate').status).toBe('SUCCEEDED');
      expect(deployApi.deployed.get('api/staging')).toBe('registry.example/sig/api@sha256:previous');
      expect(deployApi.calls.filter((call) => call.path === '/rollback' && (call.body as { service?: string }).service === 'api')).toEqual([
        { method: 'POST', path: '/rollback', body: { service: 'api', environment: 'staging', image: 'registry.example/sig/api@sha256:previous' } },
      ]);
      expect(deployApi.deployed.has('api/production')).toBe(false);
    } finally {
      deployApi.unhealthyIn('staging', 0);
    }
  }, 240_000);

  it('refuses to deploy an image signed with a key the runners do not trust (IMAGE_NOT_VERIFIED), before any deploy', async () => {
    const state = await engine.wait(await engine.start(yaml, params('stranger', 'services/web', { keySecret: 'STRANGER_KEY' }), { namespace: RELEASE }));
    expect(state.status).toBe('FAILED');
    expect(task(state, 'sign').outputs).toMatchObject({ keyId: stranger.keyId });
    expect(task(state, 'verify')).toMatchObject({ status: 'FAILED', error: { code: 'IMAGE_NOT_VERIFIED' } });
    expect(callsFor('stranger')).toEqual([]);
  }, 240_000);

  it('cannot sign with a key scoped to another namespace', async () => {
    const state = await engine.wait(await engine.start(yaml, params('elsewhere'), { namespace: 'default' }));
    expect(state.status).toBe('FAILED');
    expect(task(state, 'build').status).toBe('SUCCEEDED');
    expect(task(state, 'sign').status).toBe('FAILED');
    expect(task(state, 'sign').error?.message).toContain('IMAGE_SIGNING_KEY');
    expect(task(state, 'sign').error?.message).not.toContain('PRIVATE KEY');
    expect(callsFor('elsewhere')).toEqual([]);
  }, 240_000);
});

describe('tasks/image.build against an attacker', () => {
  const build = () => createImageBuildTask({ fileRoots: [roots], dockerHost: podman.dockerHost, imageRegistryInsecure: [registry.host] });
  const context = () => createTestContext({ namespace: 'default', egress: egressPolicyOf({ egressAllow: { default: LOOPBACK } }) });

  async function repository(name: string, containerfile: string, files: Record<string, string> = {}): Promise<string> {
    const dir = join(roots, 'attacks', name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'Containerfile'), containerfile);
    for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
    return `attacks/${name}`;
  }

  async function refusal(input: { repository: string; image?: string }) {
    return build()
      .execute({ image: `${registry.host}/attacks/x:1`, ...input }, context())
      .then(
        () => {
          throw new Error('expected the build to be refused');
        },
        (error: unknown) => error as { code: string; message: string },
      );
  }

  it("refuses a repository outside the allowed root, or a symlink to the worker's files, alike", async () => {
    await symlink(outside, join(roots, 'escape'));
    for (const path of ['/etc', '../../etc', 'escape', 'no/such/folder']) {
      expect(await refusal({ repository: path })).toMatchObject({ code: 'POLICY_DENIED', message: `repository ${path} is not a folder inside the allowed roots` });
    }
  });

  it('sends a symlink inside the repository as a link: a COPY of it cannot reach the file it points to', async () => {
    await writeFile(join(outside, 'secret.txt'), 'TOPSECRET\n');
    const repo = await repository('leak', 'FROM localhost/maestro-busybox:test\nCOPY leak /leak\nRUN cat /leak\n');
    await symlink(join(outside, 'secret.txt'), join(roots, repo, 'leak'));
    // The engine resolves the link inside the build context, where its target does not exist.
    const error = await refusal({ repository: repo });
    expect(error).toMatchObject({ code: 'TASK_FAILED', message: expect.stringContaining('image build failed') });
    expect(error.message).toContain('COPY leak /leak');
    expect(error.message).not.toContain('TOPSECRET');
  }, 120_000);

  it('refuses a base image the build would have to pull, and ADD of a URL, before the engine sees anything', async () => {
    expect(await refusal({ repository: await repository('pull', 'FROM docker.io/library/alpine:3.20\nRUN true\n') })).toMatchObject({
      code: 'TASK_INPUT_INVALID',
      message: expect.stringContaining('base image docker.io/library/alpine:3.20 is not on the build host: builds never pull'),
    });
    expect(await refusal({ repository: await repository('add-url', `FROM localhost/maestro-busybox:test\nADD ${deployApi.url}/health /x\n`) })).toMatchObject({
      code: 'TASK_INPUT_INVALID',
      message: expect.stringContaining('Containerfile line 2: ADD of a URL'),
    });
    expect(await refusal({ repository: await repository('arg-base', 'ARG BASE=docker.io/library/alpine\nFROM $BASE\n') })).toMatchObject({ code: 'TASK_INPUT_INVALID' });
    expect(await refusal({ repository: await repository('run-net', 'FROM localhost/maestro-busybox:test\nRUN --network=host true\n') })).toMatchObject({ code: 'TASK_INPUT_INVALID' });
    expect(await podman.podman(['images', '--format', '{{.Repository}}', '--filter', 'reference=docker.io/library/alpine'])).toBe('');
  });

  it('runs build steps with no network and no extra privileges', async () => {
    const before = deployApi.calls.length;
    const network = await refusal({ repository: await repository('network', `FROM localhost/maestro-busybox:test\nRUN wget -q -T 3 -O- ${deployApi.url}/health\n`) });
    expect(network).toMatchObject({ code: 'TASK_FAILED', message: expect.stringContaining('image build failed') });
    expect(deployApi.calls.length).toBe(before);
    const privileged = await refusal({ repository: await repository('mount', 'FROM localhost/maestro-busybox:test\nRUN mkdir -p /mnt/x && mount -t tmpfs none /mnt/x\n') });
    expect(privileged).toMatchObject({ code: 'TASK_FAILED', message: expect.stringContaining('image build failed') });
    expect(privileged.message).toMatch(/permission denied|not permitted/i);
  }, 120_000);
});
