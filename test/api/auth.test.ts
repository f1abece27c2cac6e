/**
 * Strict authentication through the real API: JWTs signed here, verified against a JWKS served
 * over HTTP, with the API's authenticator built from its settings as `npm start` builds it.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../../src/api/index.js';
import { extendConfig, type ConfigInput } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';
import { startHarness, type Harness } from './harness.js';

const ISSUER = 'https://idp.test';
const AUDIENCE = 'maestro';
/** A symmetric key a careless identity provider publishes in its JWKS: anyone can read it. */
const LEAKED_SECRET = Buffer.alloc(32, 7);

let h: Harness;
let jwks: Server;
let jwksUrl: string;
let privateKey: CryptoKey;

beforeAll(async () => {
  h = await startHarness({ worker: false });
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  const keys = [
    { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' },
    { kty: 'oct', k: LEAKED_SECRET.toString('base64url'), kid: 'sym', alg: 'HS256', use: 'sig' },
  ];
  jwks = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => jwks.close(() => resolve()));
  await h?.close();
});

/** Starts the API with the harness's store and `settings`, its authentication from config alone. */
function apiWith(settings: ConfigInput) {
  return startApi(extendConfig(h.config, settings), { port: 0, store: h.store, auditLog: h.auditLog, taskLog: h.taskLog, pdp: false });
}

const jwtSettings = (): ConfigInput => ({ jwksUrl, jwtIssuer: ISSUER, jwtAudience: AUDIENCE });

/** A JWT from the identity provider: ES256, issuer and audience right, expiring in 5 minutes unless `exp: false`. */
function token(claims: JWTPayload, { exp = true, alg = 'ES256', key = privateKey as CryptoKey | Uint8Array } = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg, kid: alg === 'HS256' ? 'sym' : 'k1' }).setSubject('ada').setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt();
  return (exp ? jwt.setExpirationTime('5m') : jwt).sign(key);
}

describe('JWT bearer tokens', () => {
  it('refuses a JWT without exp, one signed with an algorithm outside the allow-list, and gives no namespace to a token without the claim', async () => {
    const api = await apiWith(jwtSettings());
    const get = async (path: string, bearer: string) => fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
    try {
      expect((await get(`/runs?namespace=${h.namespace}`, await token({ roles: ['viewer'], namespaces: [h.namespace] }))).status).toBe(200);
      // Valid forever once leaked: refused.
      const forever = await get('/workflows', await token({ roles: ['viewer'], namespaces: [h.namespace] }, { exp: false }));
      expect(forever.status).toBe(401);
      expect(forever.headers.get('content-type')).toContain('application/problem+json');
      // Forged with the symmetric key anyone can read in the JWKS: HS256 is not on the allow-list.
      const forged = await token({ roles: ['admin'], namespaces: ['*'] }, { alg: 'HS256', key: LEAKED_SECRET });
      expect((await get('/workflows', forged)).status).toBe(401);
      // `alg: none` (an unsecured JWT) never authenticates.
      const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'ada', iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300, roles: ['admin'] })).toString('base64url')}.`;
      expect((await get('/workflows', none)).status).toBe(401);
      // No namespaces claim: no namespace, not `default`.
      const bare = await token({ roles: ['viewer'] });
      expect((await get('/workflows', bare)).status).toBe(200);
      const inDefault = await get('/runs?namespace=default', bare);
      expect(inDefault.status).toBe(403);
      expect(((await inDefault.json()) as { detail: string }).detail).toMatch(/has no access to namespace "default" \(has: none\)/);
      const all = await get('/runs', bare);
      expect(all.status).toBe(200);
      expect(((await all.json()) as { items: unknown[] }).items).toEqual([]);
    } finally {
      await api.stop();
    }
  });

  it('accepts only the algorithms MAESTRO_JWT_ALGORITHMS names, and refuses HS* or none there at start-up', async () => {
    const api = await apiWith({ ...jwtSettings(), jwtAlgorithms: ['RS256'] });
    try {
      const res = await fetch(`${api.url}/workflows`, { headers: { authorization: `Bearer ${await token({ roles: ['viewer'] })}` } });
      expect(res.status).toBe(401);
    } finally {
      await api.stop();
    }
    expect(() => extendConfig(h.config, { jwtAlgorithms: ['HS256'] })).toThrow(/jwtAlgorithms names "HS256", which is not accepted: only asymmetric algorithms/);
    expect(() => extendConfig(h.config, { jwtAlgorithms: ['none'] })).toThrow(ConfigError);
  });
});

describe('start-up checks of the authentication settings', () => {
  it('refuses a JWKS without an issuer and an audience', async () => {
    await expect(apiWith({ jwksUrl, jwtIssuer: ISSUER })).rejects.toThrow(/MAESTRO_JWKS_URL needs MAESTRO_JWT_ISSUER and MAESTRO_JWT_AUDIENCE/);
    await expect(apiWith({ jwksUrl, jwtAudience: AUDIENCE })).rejects.toBeInstanceOf(ConfigError);
  });

  it('refuses the dev token beside a tokens file unless MAESTRO_ALLOW_DEV_TOKEN is set, and a dev token shorter than 32 characters', async () => {
    const authFile = join(h.config.dataDir, 'tokens.yaml');
    await writeFile(authFile, 'tokens:\n  - { name: ci, token: ci-token-0123456789abcdef, roles: [viewer], namespaces: [default] }\n');
    const devToken = 'dev-token-0123456789abcdef0123456789';
    await expect(apiWith({ authFile, devToken })).rejects.toThrow(/MAESTRO_DEV_TOKEN is set beside MAESTRO_AUTH_FILE.*MAESTRO_ALLOW_DEV_TOKEN=true/);
    const api = await apiWith({ authFile, devToken, allowDevToken: true });
    try {
      expect((await fetch(`${api.url}/workflows`, { headers: { authorization: `Bearer ${devToken}` } })).status).toBe(200);
    } finally {
      await api.stop();
    }
    expect(() => extendConfig(h.config, { devToken: 'dev-token-too-short' })).toThrow(/devToken must be at least 32 characters: it is an admin token for every namespace/);
  });
});
