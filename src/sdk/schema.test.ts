import { describe, expect, it } from 'vitest';
import { compileJsonSchema, dialectOf } from './index.js';

describe('dialectOf', () => {
  it.each([
    [{}, '2020-12'],
    [{ $schema: 'http://json-schema.org/draft-07/schema#' }, 'draft-07'],
    [{ $schema: 'https://json-schema.org/draft/2019-09/schema' }, '2019-09'],
    [{ $schema: 'https://json-schema.org/draft/2020-12/schema' }, '2020-12'],
    [{ $schema: 'http://json-schema.org/draft-04/schema#' }, undefined],
  ])('reads %j as %s', (schema, dialect) => {
    expect(dialectOf(schema)).toBe(dialect);
  });
});

describe('compileJsonSchema', () => {
  it('checks formats', () => {
    const compiled = compileJsonSchema({ type: 'string', format: 'email' });
    expect(compiled.ok && compiled.check('not an email')).toEqual([{ path: '(root)', message: 'must match format "email"' }]);
  });

  it('quotes property names that are not identifiers in paths', () => {
    const compiled = compileJsonSchema({ type: 'object', properties: { 'a b': { type: 'object', properties: { 'c/d': { type: 'number' } } } } });
    expect(compiled.ok && compiled.check({ 'a b': { 'c/d': 'x' } })).toEqual([{ path: '["a b"]["c/d"]', message: 'must be number' }]);
  });

  it('refuses unknown keywords only when strict', () => {
    expect(compileJsonSchema({ type: 'object', 'x-owner': 'me' }).ok).toBe(false);
    expect(compileJsonSchema({ type: 'object', 'x-owner': 'me' }, { strict: false }).ok).toBe(true);
  });

  it('compiles schemas sharing an $id independently', () => {
    const first = compileJsonSchema({ $id: 'https://example.com/s', type: 'string' });
    const second = compileJsonSchema({ $id: 'https://example.com/s', type: 'number' });
    expect(first.ok && first.check(1)).toHaveLength(1);
    expect(second.ok && second.check(1)).toEqual([]);
  });

  it('says why an unsupported $schema cannot compile', () => {
    expect(compileJsonSchema({ $schema: 'http://json-schema.org/draft-04/schema#' })).toEqual({
      ok: false,
      message: 'unsupported $schema "http://json-schema.org/draft-04/schema#"',
    });
  });
});
