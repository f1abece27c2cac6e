import { describe, expect, it } from 'vitest';
import { collectParams, fieldErrors, initialTexts, schemaFields, type ParamField } from './param-values.js';

const FIELDS: ParamField[] = [
  { name: 'count', type: 'integer', required: true },
  { name: 'ratio', type: 'number', default: 0.5 },
  { name: 'env', type: 'string', enum: ['dev', 'prod'], default: 'dev' },
  { name: 'tags', type: 'array', default: ['a'] },
  { name: 'meta', type: 'object' },
  { name: 'dry', type: 'boolean' },
  { name: 'token', type: 'string', secret: true, default: 'hidden' },
];

describe('param form values', () => {
  it('start from the defaults, except a secret parameter’s', () => {
    expect(initialTexts(FIELDS)).toEqual({ count: '', ratio: '0.5', env: '"dev"', tags: '[\n  "a"\n]', meta: '', dry: '', token: '' });
  });

  it('send typed values and leave empty fields to the API’s defaults', () => {
    expect(collectParams(FIELDS, { ...initialTexts(FIELDS), count: '4', meta: '{"k":1}', dry: 'true' })).toEqual({
      params: { count: 4, ratio: 0.5, env: 'dev', tags: ['a'], meta: { k: 1 }, dry: true },
      errors: {},
    });
  });

  it('name what is wrong by field', () => {
    const { errors } = collectParams(FIELDS, { count: '', ratio: 'x', tags: '{"a":1}', meta: '{', env: '"dev"' });
    expect(errors).toEqual({ count: 'is required', ratio: 'must be a number', tags: 'must be a JSON list ([...])', meta: expect.stringContaining('is not valid JSON') as string });
    expect(collectParams(FIELDS, { count: '1.5' }).errors.count).toBe('must be a whole number');
  });

  it('put the API’s located errors on their fields', () => {
    expect(fieldErrors(FIELDS, [{ path: 'params.count', message: 'is required' }, { path: 'params.other', message: 'unknown parameter' }, { path: 'body.priority', message: 'too big' }])).toEqual({
      byField: { count: 'is required' },
      rest: [{ path: 'params.other', message: 'unknown parameter' }, { path: 'body.priority', message: 'too big' }],
    });
  });
});

describe('signal payload fields', () => {
  it('come from an object schema of simple properties, and not from anything else', () => {
    expect(schemaFields({ type: 'object', properties: { ok: { type: 'boolean' }, at: { type: 'string', format: 'date-time', description: 'when' }, mode: { type: 'string', enum: ['a', 'b'] } }, required: ['ok'] })).toEqual([
      { name: 'ok', type: 'boolean', required: true },
      { name: 'at', type: 'datetime', required: false, description: 'when' },
      { name: 'mode', type: 'string', required: false, enum: ['a', 'b'] },
    ]);
    expect(schemaFields({ type: 'object', properties: { any: { anyOf: [{ type: 'string' }] } } })).toBeUndefined();
    expect(schemaFields({ type: 'array' })).toBeUndefined();
    expect(schemaFields(undefined)).toBeUndefined();
  });
});
