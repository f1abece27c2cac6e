/**
 * docker-compose.temporal.yml cannot run here (no container engine), so its structure is checked:
 * the services exist, references between them resolve, images are pinned, only the Maestro API is
 * published (never Temporal's frontend or Web UI), Maestro's search attributes are the ones
 * registered, and the worker and API run as `maestro worker` / `maestro api` on PostgreSQL, probed
 * on `/readyz`, with time to drain.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTES } from '../src/ir/index.js';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  network_mode?: string;
  healthcheck?: { test: string[] };
  volumes?: string[];
  stop_grace_period?: string;
}

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const file = `${repoRoot}docker-compose.temporal.yml`;
// `merge: true` resolves the `<<: *anchor` keys as Docker Compose does.
const compose: unknown = parse(readFileSync(file, 'utf8'), { merge: true });

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function servicesOf(document: unknown): Record<string, Service> {
  if (!isRecord(document) || !isRecord(document.services)) throw new Error(`${file} has no services mapping`);
  return document.services as Record<string, Service>;
}

const services = servicesOf(compose);
const entries = Object.entries(services);

describe('docker-compose.temporal.yml', () => {
  it('has PostgreSQL, Temporal, its set-up jobs, the UI, and the Maestro worker and API', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['maestro-api', 'maestro-db-setup', 'maestro-worker', 'postgresql', 'temporal', 'temporal-schema', 'temporal-setup', 'temporal-ui'].sort(),
    );
    expect(services.postgresql?.image).toMatch(/^postgres:16(\.|$)/);
    expect(services.temporal?.environment?.DB).toBe('postgres12');
  });

  it('depends only on services that exist, and waits for health or completion', () => {
    for (const [name, service] of entries) {
      for (const [target, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(services, `${name} depends on ${target}`).toHaveProperty([target]);
        expect(['service_healthy', 'service_completed_successfully']).toContain(condition);
        if (condition === 'service_healthy') expect(services[target]?.healthcheck, `${target} healthcheck`).toBeDefined();
      }
    }
  });

  it('pins every image to a tag, and builds Maestro from a Dockerfile in the repo', () => {
    for (const [name, service] of entries) {
      expect(service.image, `${name} image`).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9._-]+$/);
      expect(service.image, `${name} image`).not.toMatch(/:latest$/);
      if (service.build) expect(existsSync(`${repoRoot}${service.build.dockerfile}`), `${name} Dockerfile`).toBe(true);
    }
    expect(services['maestro-worker']?.build).toBeDefined();
    expect(services['maestro-api']?.build).toBeDefined();
  });

  it("publishes only the Maestro API: Temporal's frontend and Web UI stay on the compose network", () => {
    const published = entries.filter(([, service]) => (service.ports ?? []).length > 0).map(([name]) => name);
    expect(published).toEqual(['maestro-api']);
    for (const port of services['maestro-api']?.ports ?? []) expect(port).toMatch(/^\d{1,5}:\d{1,5}$/);
    expect(services['maestro-api']?.ports).toEqual([`${services['maestro-api']?.environment?.MAESTRO_PORT}:8080`]);
    for (const [name, service] of entries) {
      expect(service.network_mode, `${name} network_mode`).toBeUndefined();
      expect(service.environment?.MAESTRO_TEMPORAL_UI_URL, `${name}: a console link to an unpublished UI`).toBeUndefined();
    }
  });

  it('points every address and seed variable at a service that exists', () => {
    let references = 0;
    for (const [name, service] of entries) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (!/(_ADDRESS|_SEEDS)$/.test(key)) continue;
        references += 1;
        const host = String(value).split(':')[0] ?? '';
        expect(services, `${name}: ${key}=${value}`).toHaveProperty([host]);
      }
    }
    expect(references).toBeGreaterThanOrEqual(5);
    expect(services['maestro-worker']?.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(services['maestro-api']?.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it('runs the worker and the API commands from the repo', () => {
    expect(services['maestro-worker']?.command).toEqual(['npx', 'tsx', 'src/cli/main.ts', 'worker']);
    expect(services['maestro-api']?.command).toEqual(['npx', 'tsx', 'src/cli/main.ts', 'api']);
    expect(readFileSync(`${repoRoot}Dockerfile`, 'utf8')).toContain('CMD ["npx", "tsx", "src/cli/main.ts", "worker"]');
  });

  it("keeps Maestro's store in its own database on the PostgreSQL service, created before the worker and API start", () => {
    for (const name of ['maestro-worker', 'maestro-api']) {
      const url = new URL(services[name]?.environment?.MAESTRO_DATABASE_URL ?? '');
      expect(url.protocol).toBe('postgres:');
      expect(services, `${name}: MAESTRO_DATABASE_URL host`).toHaveProperty([url.hostname]);
      expect(url.pathname).toBe('/maestro');
      expect(services[name]?.depends_on?.['maestro-db-setup']?.condition).toBe('service_completed_successfully');
    }
    const script = services['maestro-db-setup']?.command?.join('\n') ?? '';
    expect(script).toContain('CREATE ROLE maestro');
    expect(script).toContain('CREATE DATABASE maestro OWNER maestro');
  });

  it('probes the worker and the API on /readyz of their own ports, and gives each longer than its drain to stop', () => {
    const seconds = (duration: string | undefined): number => Number(/^(\d+)s$/.exec(duration ?? '')?.[1] ?? Number.NaN);
    const worker = services['maestro-worker'];
    const api = services['maestro-api'];
    expect(worker?.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:9464/readyz`);
    expect(worker?.environment?.MAESTRO_WORKER_METRICS_HOST).toBe('0.0.0.0');
    expect(api?.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${api?.environment?.MAESTRO_PORT}/readyz`);
    expect(seconds(worker?.stop_grace_period) * 1000).toBeGreaterThan(Number(worker?.environment?.MAESTRO_WORKER_DRAIN_TIMEOUT_MS));
    expect(seconds(api?.stop_grace_period) * 1000).toBeGreaterThan(Number(api?.environment?.MAESTRO_API_DRAIN_TIMEOUT_MS));
  });

  it("registers exactly Maestro's custom search attributes, as Keyword", () => {
    const script = services['temporal-setup']?.command?.join('\n') ?? '';
    const registered = [...script.matchAll(/--name (\w+)/g)].map((match) => match[1]);
    expect(registered.sort()).toEqual(SEARCH_ATTRIBUTES.map((key) => key.name).sort());
    expect(SEARCH_ATTRIBUTES.every((key) => key.type === 'KEYWORD')).toBe(true);
    expect(script).toContain('--type Keyword');
  });
});
