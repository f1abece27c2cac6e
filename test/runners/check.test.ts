/**
 * Runner settings and `maestro runners check`: what the config accepts, and which runners a
 * worker with that config can reach (real podman, the in-process Kubernetes API, a function
 * server), and why not.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config/index.js';
import { isMaestroError } from '../../src/errors/index.js';
import { checkRunners, createRunners, resolveResourceClass, resourceClassesFrom } from '../../src/runners/index.js';
import { startFunctionServer, type FunctionServer } from '../peers/functions.js';
import { startK8sApiServer, type K8sApiServer } from '../peers/k8s-api.js';
import { startPodman, type PodmanPeer } from '../peers/podman.js';

const MIB = 1024 * 1024;

describe('runner settings', () => {
  it('reads resource classes from MAESTRO_RESOURCE_CLASSES on top of the built-in ones', () => {
    const config = loadConfig({ MAESTRO_RESOURCE_CLASSES: 'small=0.25:256Mi:5m, gpu=4:16Gi:2h' });
    const classes = resourceClassesFrom(config);
    expect(resolveResourceClass(classes, 'small', 'test')).toEqual({ name: 'small', cpu: 0.25, memoryBytes: 256 * MIB, timeoutMs: 300_000 });
    expect(resolveResourceClass(classes, 'gpu', 'test')).toEqual({ name: 'gpu', cpu: 4, memoryBytes: 16 * 1024 * MIB, timeoutMs: 7_200_000 });
    expect(resolveResourceClass(classes, 'medium', 'test')).toEqual({ name: 'medium', cpu: 1, memoryBytes: 2048 * MIB, timeoutMs: 3_600_000 });
    expect(resolveResourceClass(classes, undefined, 'test').name).toBe('small');
  });

  it('rejects bad runner settings, naming the variable', () => {
    const problems = [
      { MAESTRO_RESOURCE_CLASSES: 'huge=lots:1Gi:1h' },
      { MAESTRO_RESOURCE_CLASSES: 'x=1:1Gi:forever' },
      { MAESTRO_RESOURCE_CLASSES: 'x=1:12parsecs:1h' },
      { DOCKER_HOST: 'ftp://engine' },
      { MAESTRO_FUNCTIONS: 'resize=not-a-url' },
      { MAESTRO_K8S_NAMESPACES: 'default=Not_A_Namespace' },
    ];
    for (const env of problems) {
      const name = Object.keys(env)[0] ?? '';
      expect(() => loadConfig(env), name).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining(name) }));
    }
  });

  it('fails an unknown resource class with TASK_INPUT_INVALID listing the known ones', () => {
    try {
      resolveResourceClass(resourceClassesFrom(loadConfig({})), 'xl', 'container');
      expect.unreachable();
    } catch (error) {
      expect(isMaestroError(error) && error.code).toBe('TASK_INPUT_INVALID');
      expect((error as Error).message).toContain('unknown resource class "xl" (known: small, medium, large)');
    }
  });

  it('builds all four runners from config without connecting to anything', () => {
    const runners = createRunners(loadConfig({ DOCKER_HOST: 'unix:///nonexistent.sock', KUBECONFIG: '/nonexistent/kubeconfig' }));
    expect(Object.keys(runners).sort()).toEqual(['container', 'k8s', 'local', 'serverless']);
  });
});

describe('maestro runners check', () => {
  let podman: PodmanPeer;
  let k8s: K8sApiServer;
  let functions: FunctionServer;

  beforeAll(async () => {
    [podman, k8s, functions] = await Promise.all([startPodman(), startK8sApiServer(), startFunctionServer()]);
  });

  afterAll(async () => {
    await Promise.all([podman?.stop(), k8s?.close(), functions?.close()]);
  });

  it('reports each reachable runner with what it found', async () => {
    const config = loadConfig({
      DOCKER_HOST: podman.dockerHost,
      KUBECONFIG: k8s.kubeconfigPath,
      MAESTRO_FUNCTIONS: `record=${functions.functionUrl('record')},bill=lambda:bill`,
    });
    const report = await checkRunners(config);
    expect(report).toEqual([
      { runner: 'local', reachable: true, detail: 'runs tasks in the worker process' },
      { runner: 'container', reachable: true, detail: expect.stringMatching(/^Podman Engine 4\.\d+\.\d+ \(Docker API 1\.\d+\) at unix:\/\//) },
      { runner: 'k8s', reachable: true, detail: `Kubernetes v1.31.0-maestro-fake at ${k8s.url}; Maestro namespace "default" → maestro-default` },
      { runner: 'serverless', reachable: true, detail: expect.stringMatching(/^record: 127\.0\.0\.1:\d+ reachable; bill: Lambda bill \(not probed\)$/) },
    ]);
  });

  it('says why a runner is unreachable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maestro-check-'));
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, (await readFile(k8s.kubeconfigPath, 'utf8')).replace(k8s.url, 'http://127.0.0.1:9'));
    const report = await checkRunners(loadConfig({ DOCKER_HOST: 'unix:///nonexistent/docker.sock', KUBECONFIG: kubeconfig, MAESTRO_FUNCTIONS: 'down=http://127.0.0.1:9/fn' }), {
      timeoutMs: 3000,
    });
    await rm(dir, { recursive: true, force: true });
    const byRunner = Object.fromEntries(report.map((check) => [check.runner, check]));
    expect(byRunner['container']).toEqual({ runner: 'container', reachable: false, detail: expect.stringContaining('no Docker API socket at unix:///nonexistent/docker.sock') });
    expect(byRunner['serverless']).toEqual({ runner: 'serverless', reachable: false, detail: 'down: 127.0.0.1:9 unreachable' });
    expect(byRunner['k8s']).toEqual({ runner: 'k8s', reachable: false, detail: expect.stringContaining('the Kubernetes API at http://127.0.0.1:9 did not answer') });
  });

  it('prints the report and exits 1 when a --require runner is unreachable', async () => {
    const saved = { DOCKER_HOST: process.env.DOCKER_HOST, MAESTRO_FUNCTIONS: process.env.MAESTRO_FUNCTIONS };
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    try {
      process.env.DOCKER_HOST = podman.dockerHost;
      delete process.env.MAESTRO_FUNCTIONS;
      expect(await main(['runners', 'check', '--require', 'local,container'])).toBe(0);
      expect(lines.find((line) => line.startsWith('container'))).toMatch(/^container\s+reachable\s+Podman Engine/);
      expect(lines.find((line) => line.startsWith('serverless'))).toContain('no functions configured: set MAESTRO_FUNCTIONS');
      expect(await main(['runners', 'check', '--require', 'serverless'])).toBe(1);
    } finally {
      log.mockRestore();
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
