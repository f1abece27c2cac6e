import { describe, expect, it } from 'vitest';
import { ParamsError } from '../errors/index.js';
import type { ParameterSpec } from '../ir/index.js';
import { checkParams, parseParamText } from './param-values.js';

const spec = (name: string, type: ParameterSpec['type'], extra: Partial<ParameterSpec> = {}): ParameterSpec => ({
  name,
  type,
  required: false,
  secret: false,
  ...extra,
});

function problemsOf(run: () => unknown): { name: string; message: string }[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ParamsError) return error.problems;
    throw error;
  }
  return [];
}

describe('checkParams', () => {
  const specs = [
    spec('env', 'string', { enum: ['dev', 'prod'], default: 'dev' }),
    spec('shards', 'integer', { required: true }),
    spec('ratio', 'number'),
    spec('since', 'datetime'),
    spec('options', 'object'),
    spec('targets', 'array', { default: [] }),
    spec('dry_run', 'boolean'),
  ];

  it('applies defaults and keeps given values', () => {
    expect(checkParams(specs, { shards: 3, since: '2025-08-31T09:30:00.5+02:00', dry_run: true })).toEqual({
      env: 'dev',
      shards: 3,
      since: '2025-08-31T09:30:00.5+02:00',
      targets: [],
      dry_run: true,
    });
  });

  it('lists every problem at once', () => {
    const problems = problemsOf(() =>
      checkParams(specs, { env: 'staging', ratio: 'high', since: '2025-02-30T00:00:00Z', options: [], targets: {}, dry_run: 'yes', shard: 1 }),
    );
    expect(problems).toEqual([
      { name: 'shard', message: 'unknown parameter (did you mean "shards"?)' },
      { name: 'env', message: 'must be one of "dev", "prod", got "staging"' },
      { name: 'shards', message: 'is required' },
      { name: 'ratio', message: 'must be a number, got "high"' },
      { name: 'since', message: expect.stringContaining('must be an RFC 3339 date-time') },
      { name: 'options', message: 'must be a mapping, got a list' },
      { name: 'targets', message: 'must be a list, got a mapping' },
      { name: 'dry_run', message: 'must be true or false, got "yes"' },
    ]);
  });

  it('rejects a non-integral integer', () => {
    expect(problemsOf(() => checkParams(specs, { shards: 1.5 }))).toEqual([{ name: 'shards', message: 'must be an integer, got 1.5' }]);
  });

  it('raises PARAMS_INVALID', () => {
    expect(() => checkParams(specs, {})).toThrow(expect.objectContaining({ code: 'PARAMS_INVALID' }));
  });
});

describe('parseParamText', () => {
  it.each([
    [spec('s', 'string'), ' padded ', ' padded '],
    [spec('n', 'number'), '1.5e3', 1500],
    [spec('i', 'integer'), '-42', -42],
    [spec('b', 'boolean'), 'false', false],
    [spec('d', 'datetime'), '2025-08-31T09:30:00Z', '2025-08-31T09:30:00Z'],
    [spec('o', 'object'), '{"a": [1]}', { a: [1] }],
    [spec('a', 'array'), '["x", 2]', ['x', 2]],
  ])('converts %j text %j', (parameter, text, value) => {
    expect(parseParamText(parameter, text)).toEqual(value);
  });

  it.each([
    [spec('n', 'number'), 'abc', 'must be a number, got "abc"'],
    [spec('n', 'number'), '', 'must be a number, got ""'],
    [spec('i', 'integer'), '1.5', 'must be an integer, got "1.5"'],
    [spec('b', 'boolean'), 'yes', 'must be true or false, got "yes"'],
    [spec('d', 'datetime'), 'tomorrow', 'must be an RFC 3339 date-time'],
    [spec('o', 'object'), '[1]', 'must be a mapping, got a list'],
    [spec('a', 'array'), '[1', 'is not valid JSON'],
  ])('rejects %j text %j', (parameter, text, message) => {
    expect(problemsOf(() => parseParamText(parameter, text))).toEqual([{ name: parameter.name, message: expect.stringContaining(message) }]);
  });
});
