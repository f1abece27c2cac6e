/**
 * The finding of issue 19: `tasks/grpc.call` aimed at Maestro's own Temporal frontend, with server
 * reflection, answered `ListNamespaces` (from there an author could read, terminate or approve any
 * run). Through the real worker and the test run's real Temporal, behind a counting TCP proxy: the
 * task is refused and the frontend receives no connection from it, although the namespace
 * allow-lists loopback; only an admin's explicit `host:port` entry opens it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createBuiltinCatalog } from '../../src/tasks/index.js';
import { startEngine, task, TEST_EGRESS_ALLOW, workflow, type Engine } from '../helpers/engine.js';
import { startCountingProxy, type CountingProxy } from '../peers/index.js';

let frontend: CountingProxy;
const engines: Engine[] = [];

/** A worker whose Temporal frontend (config `temporalAddress`) is reached through the counting proxy. */
async function engineWith(egressAllow: Record<string, readonly string[]>): Promise<Engine> {
  const engine = await startEngine({ catalog: createBuiltinCatalog({ egressAllow, temporalAddress: frontend.address }) });
  engines.push(engine);
  return engine;
}

const listNamespaces = (address: string) =>
  workflow(`    - id: probe
      uses: tasks/grpc.call@0.1.0
      with: { address: "${address}", service: temporal.api.workflowservice.v1.WorkflowService, method: ListNamespaces, request: {} }`);

beforeAll(async () => {
  const [host = '127.0.0.1', port = '7233'] = inject('temporalAddress').split(':');
  frontend = await startCountingProxy({ host, port: Number(port) });
});

afterAll(async () => {
  await Promise.all(engines.map((engine) => engine.close()));
  await frontend?.stop();
});

describe('a task aimed at the Temporal frontend', () => {
  it('is refused although the namespace allow-lists loopback, and the frontend receives no connection', async () => {
    const engine = await engineWith(TEST_EGRESS_ALLOW);
    const before = frontend.connections;
    const state = await engine.run(listNamespaces(frontend.address));
    expect(state.status).toBe('FAILED');
    expect(task(state, 'probe')).toMatchObject({ status: 'FAILED', error: { code: 'EGRESS_DENIED' } });
    expect(task(state, 'probe').error?.message).toContain("one of Maestro's own endpoints");
    expect(frontend.connections).toBe(before);
  });

  it('is refused at the address the worker itself uses for Temporal', async () => {
    const engine = await engineWith(TEST_EGRESS_ALLOW);
    const direct = await startEngine({ catalog: createBuiltinCatalog({ egressAllow: TEST_EGRESS_ALLOW, temporalAddress: engine.address }) });
    engines.push(direct);
    const state = await direct.run(listNamespaces(engine.address));
    expect(task(state, 'probe')).toMatchObject({ status: 'FAILED', error: { code: 'EGRESS_DENIED' } });
  });

  it('is reached only where an admin lists that exact host:port (which is what the attack needed)', async () => {
    const engine = await engineWith({ default: [...TEST_EGRESS_ALLOW.default, frontend.address] });
    const before = frontend.connections;
    const state = await engine.run(listNamespaces(frontend.address));
    expect(task(state, 'probe')).toMatchObject({ status: 'SUCCEEDED' });
    expect(frontend.connections).toBeGreaterThan(before);
  });
});
