/**
 * The container runner against a real engine: Debian's podman (runc) serving the Docker API on a
 * unix socket, set up by scripts/peers/podman.sh. A machine without podman installs it; a failure
 * to install or start fails these tests with the script's output.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerRun, egressPolicyOf } from '../../src/tasks/index.js';
import { loadConfig } from '../../src/config/index.js';
import { isMaestroError } from '../../src/errors/index.js';
import { createContainerRunner, type ContainerRunner, type ContainerWorkload, type ImageVerificationRequest } from '../../src/runners/index.js';
import { createTestContext, type TestTaskContext } from '../../src/sdk/index.js';
import { FsArtifactStore } from '../../src/store/index.js';
import { startPodman, type PodmanPeer } from '../peers/podman.js';

let podman: PodmanPeer;
let runner: ContainerRunner;
let store: FsArtifactStore;
let storeDir: string;

const MIB = 1024 * 1024;
/** The egress policy of a worker that allows containers of `default` a network, set as an admin would. */
const NETWORKED = egressPolicyOf(loadConfig({ MAESTRO_CONTAINER_NETWORK_NAMESPACES: 'default' }));

beforeAll(async () => {
  podman = await startPodman();
  storeDir = await mkdtemp(join(tmpdir(), 'maestro-container-artifacts-'));
  store = new FsArtifactStore({ root: storeDir });
  runner = createContainerRunner({
    dockerHost: podman.dockerHost,
    artifacts: store,
    resourceClasses: {
      small: { cpu: 0.5, memoryBytes: 64 * MIB, timeoutMs: 60_000 },
      tiny: { cpu: 0.25, memoryBytes: 32 * MIB, timeoutMs: 1500 },
    },
    heartbeatIntervalMs: 200,
  });
});

afterAll(async () => {
  await podman?.stop();
  if (storeDir) await rm(storeDir, { recursive: true, force: true });
});

let counter = 0;
function context(options: Parameters<typeof createTestContext>[0] = {}): TestTaskContext {
  counter += 1;
  return createTestContext({ runId: `run-${process.pid}-${counter}`, taskId: 'build', ...options });
}

function run(workload: Partial<ContainerWorkload> & { script?: string }, ctx = context()) {
  const { script, ...rest } = workload;
  const input: ContainerWorkload = { image: podman.image, ...(script ? { command: ['sh', '-c', script] } : {}), ...rest };
  return runner.run(containerRun, input as unknown as Record<string, unknown>, ctx);
}

/** Containers of one run, by label, as podman itself lists them (all states). */
async function containersOf(runId: string): Promise<string[]> {
  const out = await podman.podman(['ps', '-a', '--filter', `label=dev.maestro.run-id=${runId}`, '--format', '{{.ID}}']);
  return out.split('\n').filter((line) => line.trim() !== '');
}

async function failure(promise: Promise<unknown>): Promise<Error & { code?: string; retryable?: boolean; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the attempt to fail');
}

describe('container runner on podman', () => {
  it('runs a container to success with outputs, logs and hashed, stored artifacts; the container is removed', async () => {
    const ctx = context();
    const result = await run(
      {
        script: 'echo building; echo "step 2" >&2; mkdir -p /out/sub; printf hello > /out/a.txt; printf world > /out/sub/b.txt; echo "{\\"version\\":\\"1.2.3\\"}" > "$MAESTRO_OUTPUTS"',
        artifacts: '/out',
      },
      ctx,
    );
    expect(result).toEqual({
      exitCode: 0,
      logs: 'building\nstep 2',
      outputs: { version: '1.2.3' },
      artifacts: [
        {
          path: 'a.txt',
          size: 5,
          sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
          uri: 'artifact://sha256/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
        },
        {
          path: 'sub/b.txt',
          size: 5,
          sha256: '486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7',
          uri: 'artifact://sha256/486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7',
        },
      ],
    });
    const stored = await store.get({ $artifact: { uri: result.artifacts[0]?.uri ?? '', sha256: result.artifacts[0]?.sha256 ?? '', size: 5 } });
    expect(Buffer.from(stored).toString()).toBe('hello');
    const lines = ctx.logs.filter((record) => record.fields?.['stream']);
    expect(lines.map((record) => [record.message, record.fields?.['stream']])).toEqual([
      ['building', 'stdout'],
      ['step 2', 'stderr'],
    ]);
    expect(ctx.heartbeats.some((beat) => typeof (beat as { container?: unknown } | undefined)?.container === 'string')).toBe(true);
    expect(await containersOf(ctx.runId)).toEqual([]);
  });

  it('fails a non-zero exit with TASK_FAILED (retryable) carrying the last log lines', async () => {
    const ctx = context();
    const error = await failure(run({ script: 'for i in 1 2 3; do echo "line $i"; done; echo "boom" >&2; exit 3' }, ctx));
    expect(isMaestroError(error)).toBe(true);
    expect(error.code).toBe('TASK_FAILED');
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('container exited with code 3; last log lines:\nline 1\nline 2\nline 3\nboom');
    expect(error.details).toMatchObject({ exitCode: 3, oomKilled: false });
    expect(await containersOf(ctx.runId)).toEqual([]);
  });

  it("stops a container that outlives its resource class's time limit: TASK_TIMEOUT, container gone", async () => {
    const ctx = context();
    const started = Date.now();
    const error = await failure(run({ script: 'echo started; sleep 30', resources: 'tiny' }, ctx));
    expect(error.code).toBe('TASK_TIMEOUT');
    expect(error.message).toContain('resource class "tiny"');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await containersOf(ctx.runId)).toEqual([]);
  });

  it('kills and removes the container when the attempt is cancelled mid-run, and throws the cancellation', async () => {
    const ctx = context();
    const attempt = run({ script: 'echo ready; sleep 60' }, ctx);
    const deadline = Date.now() + 20_000;
    while (!ctx.logs.some((record) => record.message === 'ready')) {
      if (Date.now() > deadline) throw new Error('the container never printed "ready"');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await containersOf(ctx.runId)).toHaveLength(1);
    const reason = new Error('run cancelled');
    const cancelledAt = Date.now();
    ctx.abort(reason);
    await expect(attempt).rejects.toBe(reason);
    expect(Date.now() - cancelledAt).toBeLessThan(10_000);
    expect(await containersOf(ctx.runId)).toEqual([]);
  });

  it("applies the resource class as cgroup limits and locks the container down (inspected while it runs)", async () => {
    const ctx = context();
    const attempt = run(
      { script: 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; grep CapEff /proc/self/status; sleep 30' },
      ctx,
    );
    const deadline = Date.now() + 20_000;
    while (ctx.logs.filter((record) => record.fields?.['stream']).length < 2) {
      if (Date.now() > deadline) throw new Error('the container never printed its memory limit');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const [id] = await containersOf(ctx.runId);
    const [info] = JSON.parse(await podman.podman(['inspect', id ?? ''])) as [
      { HostConfig: Record<string, unknown>; Config: { Labels: Record<string, string> } },
    ];
    ctx.abort(new Error('done looking'));
    await attempt.catch(() => undefined);
    expect(info.HostConfig).toMatchObject({
      Memory: 64 * MIB,
      MemorySwap: 64 * MIB,
      NanoCpus: 500_000_000,
      Privileged: false,
      ReadonlyRootfs: true,
      NetworkMode: 'none',
      CapDrop: expect.arrayContaining(['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_NET_RAW', 'CAP_SETUID']),
      SecurityOpt: expect.arrayContaining(['no-new-privileges']),
    });
    expect(info.Config.Labels).toMatchObject({ 'dev.maestro.run-id': ctx.runId, 'dev.maestro.task-id': 'build', 'dev.maestro.attempt': '1' });
    // What the container itself sees: the cgroup's memory limit, and no capabilities at all.
    const seen = ctx.logs.filter((record) => record.fields?.['stream']).map((record) => record.message);
    expect(seen).toEqual([String(64 * MIB), 'CapEff:\t0000000000000000']);
  });

  it('fails a container that outgrows its memory limit, saying it was killed for memory', async () => {
    const error = await failure(run({ script: 'echo allocating; dd if=/dev/zero of=/dev/null bs=96M count=1', resources: 'tiny' }));
    expect(error.code).toBe('TASK_FAILED');
    expect(error.message).toMatch(/^container (was killed for using more than its 33554432 bytes of memory \(class "tiny"\)|exited with code 137)/);
    expect(error.details).toMatchObject({ exitCode: 137 });
  });

  it('has no network unless the task asks for one, a read-only root and a writable /tmp', async () => {
    const probe = 'ip -o link | cut -d: -f2 | tr -d " " | sort | tr "\\n" ,; echo; touch /etc/x 2>/dev/null && echo root-writable || echo root-read-only; touch /tmp/x && echo tmp-writable';
    const closed = await run({ script: probe });
    expect(closed.logs).toBe('lo,\nroot-read-only\ntmp-writable');
    const open = await run({ script: probe, network: true }, context({ egress: NETWORKED }));
    expect(open.logs.split('\n')[0]).toMatch(/eth0/);
  });

  it('refuses a network to a container whose namespace may not have one, before creating it', async () => {
    const ctx = context({ namespace: 'sandbox', egress: NETWORKED });
    const error = await failure(run({ script: 'echo should-not-run', network: true }, ctx));
    expect(error).toMatchObject({ code: 'EGRESS_DENIED', retryable: false, details: { namespace: 'sandbox' } });
    expect(await containersOf(ctx.runId)).toEqual([]);
  });

  it("gives an allowed container no way to the host's loopback services", async () => {
    let connections = 0;
    const server = createServer((socket) => {
      connections += 1;
      socket.end('hello from the host\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      // The gateway, podman's name for the host, and the loopback addresses podman's helpers map to the host.
      const script = `command -v nc >/dev/null && echo has-nc; for h in $(ip route | awk '/default/ {print $3}') host.containers.internal host.docker.internal 10.0.2.2 169.254.1.2 127.0.0.1; do if nc -w 2 $h ${port} </dev/null 2>/dev/null | grep -q hello; then echo reached-$h; fi; done; echo probed`;
      const result = await run({ script, network: true }, context({ egress: NETWORKED }));
      expect(result.logs).toContain('has-nc');
      expect(result.logs).toContain('probed');
      expect(result.logs).not.toContain('reached');
      expect(connections).toBe(0);
    } finally {
      server.close();
    }
  });

  it('does not read a host file through an outputs file replaced by a symbolic link', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maestro-host-'));
    const hostFile = join(dir, 'host-secret.json');
    await writeFile(hostFile, '{"stolen":"host-secret"}');
    try {
      const error = await failure(run({ script: `ln -sf ${hostFile} "$MAESTRO_OUTPUTS"` }));
      expect(error).toMatchObject({ code: 'TASK_FAILED', retryable: false });
      expect(error.message).toContain('$MAESTRO_OUTPUTS is a symbolic link');
      expect(JSON.stringify(error)).not.toContain('host-secret');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('hands secrets over as env or as files; file secrets are absent from inspect, and values never reach the logs', async () => {
    const ctx = context({ secrets: { 'api-token': 'tok-ENV-123', 'signing-key': 'key-FILE-456' } });
    const attempt = run(
      {
        script: 'echo "env=$API_TOKEN"; echo "file=$(cat /run/secrets/signing-key)"; echo "custom=$(cat /etc/keys/k)"; echo listed; sleep 30',
        secrets: [
          { name: 'api-token', as: 'env' },
          { name: 'signing-key', as: 'file' },
          { name: 'signing-key', as: 'file', path: '/etc/keys/k' },
        ],
      },
      ctx,
    );
    const deadline = Date.now() + 20_000;
    while (!ctx.logs.some((record) => record.message === 'listed')) {
      if (Date.now() > deadline) throw new Error('the container never printed "listed"');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const [id] = await containersOf(ctx.runId);
    const inspected = await podman.podman(['inspect', id ?? '']);
    const [info] = JSON.parse(inspected) as [{ Config: { Env: string[] } }];
    ctx.abort(new Error('seen enough'));
    await attempt.catch(() => undefined);

    expect(info.Config.Env).toContain('API_TOKEN=tok-ENV-123');
    expect(inspected).not.toContain('key-FILE-456');
    const messages = ctx.logs.map((record) => `${record.message} ${JSON.stringify(record.fields ?? {})}`).join('\n');
    expect(messages).toContain('env=[redacted]');
    expect(messages).toContain('file=[redacted]');
    expect(messages).toContain('custom=[redacted]');
    expect(messages).not.toContain('tok-ENV-123');
    expect(messages).not.toContain('key-FILE-456');
  });

  it('refuses an image the policy requires verified when the verifier says no, before any container exists', async () => {
    const asked: ImageVerificationRequest[] = [];
    const strict = createContainerRunner({
      dockerHost: podman.dockerHost,
      imagePolicy: {
        requireSignature: true,
        verifier: async (request) => {
          asked.push(request);
          return { verified: false, reason: 'no signature from the release key' };
        },
      },
    });
    const ctx = context();
    const error = await failure(strict.run(containerRun, { image: podman.image, command: ['true'] }, ctx));
    expect(error.code).toBe('IMAGE_NOT_VERIFIED');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('no signature from the release key');
    expect(asked).toEqual([expect.objectContaining({ image: podman.image, imageId: expect.stringMatching(/^[0-9a-f]{64}$|^sha256:/) })]);
    expect(await containersOf(ctx.runId)).toEqual([]);

    const failClosed = createContainerRunner({ dockerHost: podman.dockerHost, imagePolicy: { requireSignature: true } });
    expect((await failure(failClosed.run(containerRun, { image: podman.image, command: ['true'] }, context()))).code).toBe('IMAGE_NOT_VERIFIED');

    const trusting = createContainerRunner({
      dockerHost: podman.dockerHost,
      imagePolicy: { requireSignature: true, verifier: async () => ({ verified: true, signer: 'release-key' }) },
    });
    await expect(trusting.run(containerRun, { image: podman.image, command: ['true'] }, context())).resolves.toMatchObject({ exitCode: 0 });
  });

  it('fails a missing image without a registry as RUNNER_FAILED, naming the image', async () => {
    const error = await failure(run({ image: 'localhost/maestro-no-such-image:1', command: ['true'] }));
    expect(error.code).toBe('RUNNER_FAILED');
    expect(error.message).toContain('localhost/maestro-no-such-image:1');
  });

  it('fails a task without a container workload with TASK_INPUT_INVALID, not retryable', async () => {
    const { transformMap } = await import('../../src/tasks/index.js');
    const error = await failure(runner.run(transformMap, { rows: [1], expression: '$' }, context()));
    expect(error.code).toBe('TASK_INPUT_INVALID');
    expect(error.retryable).toBe(false);
  });

  it('reports an unreachable engine as RUNNER_FAILED (retryable) with the socket it tried', async () => {
    const nowhere = createContainerRunner({ dockerHost: 'unix:///nonexistent/docker.sock' });
    const error = await failure(nowhere.run(containerRun, { image: 'x' }, context()));
    expect(error.code).toBe('RUNNER_FAILED');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('/nonexistent/docker.sock');
  });
});
