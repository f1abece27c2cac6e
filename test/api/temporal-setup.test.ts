/**
 * A Temporal namespace set up without Maestro's search attributes (a cluster whose operator skipped
 * `temporal operator search-attribute create`): the API says what to do, never a 500.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveTemporalBin, startDevServer, type DevServer } from '../../src/devserver/index.js';
import { manifest, startHarness, type Harness } from './harness.js';

let server: DevServer;
let h: Harness;

beforeAll(async () => {
  server = await startDevServer({ bin: resolveTemporalBin(), port: 0, ui: false, searchAttributes: [] });
  h = await startHarness({ address: server.address, worker: false });
});
afterAll(async () => {
  await h?.close();
  await server?.stop();
});

it('answers POST /runs with 503 naming the missing search attribute and the command that registers them', async () => {
  const { name, version } = await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }'));
  const res = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@${version}`, namespace: h.namespace } });
  expect(res.status, res.text).toBe(503);
  expect(res.type).toBe('application/problem+json');
  expect(res.body).toMatchObject({ code: 'UNAVAILABLE', detail: expect.stringContaining('does not define the search attribute Maestro') });
  expect(res.body.detail).toContain('temporal operator search-attribute create --namespace default --type Keyword --name MaestroWorkflow');
});

it('answers GET /runs with 503 naming the missing search attribute', async () => {
  const res = await h.call('GET', `/runs?namespace=${h.namespace}`, { token: 'operator' });
  expect(res.status, res.text).toBe(503);
  expect(res.body).toMatchObject({ code: 'UNAVAILABLE', detail: expect.stringContaining('temporal operator search-attribute create') });
});
