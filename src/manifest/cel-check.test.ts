import { parse } from '@bufbuild/cel';
import { describe, expect, it } from 'vitest';
import { checkCel, type CelEnvironment } from './cel-check.js';
import { T, typeName } from './cel-types.js';

const env: CelEnvironment = {
  params: new Map([
    ['name', T.string],
    ['count', T.int],
    ['ratio', T.double],
    ['on', T.bool],
    ['tags', T.list(T.dyn)],
    ['labels', T.map(T.string, T.dyn)],
  ]),
  taskProblem: (id) => (id === 'up' ? undefined : `task "${id}" is not upstream`),
  loopProblem: () => undefined,
};

function check(expression: string, environment = env) {
  const { type, problems } = checkCel(parse(expression), environment);
  return { type: typeName(type), problems: problems.map((p) => `${p.offset}: ${p.message}`) };
}

describe('checkCel', () => {
  it.each([
    ['params.name', 'string'],
    ['params.count + 1', 'int'],
    ['params.ratio * 2.0', 'double'],
    ['params.count < params.ratio', 'bool'],
    ["params.name == 'x' || params.on", 'bool'],
    ['tasks.up.outputs.rows', 'dyn'],
    ["tasks['up'].status", 'string'],
    ['item', 'dyn'],
    ['index + 1', 'int'],
    ['[1, 2, 3]', 'list(int)'],
    ["[1, 'a']", 'list(dyn)'],
    ["{'a': 1}", 'map(string, int)'],
    ['params.tags.map(t, string(t))', 'list(dyn)'],
    ['params.tags.exists(t, t == 1)', 'bool'],
    ['size(params.name) + params.name.size()', 'int'],
    ["params.name.startsWith('a') && params.name.matches('^a')", 'bool'],
    ['has(params.labels.team)', 'bool'],
    ['params.on ? 1 : 2', 'int'],
    ["params.on ? 1 : 'a'", 'dyn'],
    ["timestamp('2025-01-01T00:00:00Z') + duration('1h')", 'timestamp'],
    ["timestamp('2025-01-01T00:00:00Z').getHours()", 'int'],
    ['type(params.count) == int', 'bool'],
    ["params.labels['team'] == null", 'bool'],
    ["'a' in params.tags", 'bool'],
    ['dyn(params.count) + 1.5', 'double'],
  ])('%s is %s', (expression, type) => {
    expect(check(expression)).toEqual({ type, problems: [] });
  });

  it.each([
    ['params.nmae', '0: undeclared parameter "nmae" (did you mean "name"?)'],
    ['foo + 1', '0: undeclared reference "foo"'],
    ['tasks.down.outputs', '0: task "down" is not upstream'],
    ['tasks.up.result', '0: tasks.up has no field "result"; use .outputs, .status or .error'],
    ['params.name > 3', '12: ">" cannot compare string with int'],
    ["'a' + 1", '3: "+" cannot be applied to string and int'],
    ['params.count + 1.5', '13: "+" cannot be applied to int and double (CEL does not mix numeric types'],
    ['params.on + 1', '10: "+" cannot be applied to bool and int'],
    ['!params.name', '0: "!" needs a bool, got string'],
    ['params.on && params.count', '13: "&&" needs bool operands, got int'],
    ["params.name == 1", '12: "==" cannot compare string with int'],
    ["params.tags['a']", '11: a list index must be an int, got string'],
    ['params.count.size()', '12: size() needs a string, bytes, list or map, got int'],
    ['params.name.lowerAscii()', '11: unknown function "lowerAscii"'],
    ['int(params.tags)', '0: int() cannot convert list(dyn)'],
    ['params.count.field', '12: cannot select field "field" of int'],
    ['params.count.all(x, x)', '0: cannot iterate over int'],
    ["params.on ? 1 : 'a' == 2", '19: "==" cannot compare string with int'],
  ])('%s is reported', (expression, problem) => {
    expect(check(expression).problems).toEqual([expect.stringContaining(problem)]);
  });

  it('allows dyn with anything and mixed numbers in comparisons', () => {
    expect(check('tasks.up.outputs.n > 1 && tasks.up.outputs.s + "x" == "y" && params.ratio >= 1 && 1u < 2').problems).toEqual([]);
  });

  it('reports item and index where the environment has no loop', () => {
    const outside = { ...env, loopProblem: (name: string) => `no ${name} here` };
    expect(check('item.x + index', outside).problems).toEqual(['0: no item here', '9: no index here']);
  });

  it('reports every problem of an expression, not only the first', () => {
    expect(check('params.a == 1 && params.b == 2').problems).toEqual([
      expect.stringContaining('undeclared parameter "a"'),
      expect.stringContaining('undeclared parameter "b"'),
    ]);
  });
});
