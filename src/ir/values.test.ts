import { describe, expect, it } from 'vitest';
import type { ParameterSpec } from './types.js';
import { isRecord, REDACTED, redactParams } from './values.js';

const PARAMETERS: ParameterSpec[] = [
  { name: 'token', type: 'string', required: true, secret: true },
  { name: 'region', type: 'string', required: false, secret: false },
];

describe('isRecord', () => {
  it('holds for plain objects only', () => {
    expect([{}, { a: 1 }, Object.create(null)].every(isRecord)).toBe(true);
    expect([null, [], 'x', 1, undefined].some(isRecord)).toBe(false);
  });
});

describe('redactParams', () => {
  it('replaces the values of secret parameters only, by [redacted] unless told otherwise', () => {
    const params = { token: 't0k3n', region: 'eu', extra: 1 };
    expect(redactParams(PARAMETERS, params)).toEqual({ token: REDACTED, region: 'eu', extra: 1 });
    expect(redactParams(PARAMETERS, params, '[secret]')).toEqual({ token: '[secret]', region: 'eu', extra: 1 });
    expect(params.token).toBe('t0k3n');
  });
});
