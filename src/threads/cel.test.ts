/**
 * A field path is read without a thread (`fieldPathValue`): its value must be exactly what CEL
 * answers for it, and anything CEL would answer otherwise (an error, a list or map) is left to CEL.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveTemplates, type ExpressionBindings } from '../ir/index.js';
import { fieldPathValue, resolveTemplatesOffThread } from './cel.js';

/** Field names, reserved words and a prototype key among them. */
const name = fc.constantFrom('n', 'id', 'order', 'in', 'null', 'a_b', '__proto__', 'x9');
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ maxDepth: 3 }, fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 5 }), tie('object'), fc.array(tie('value'), { maxLength: 2 })),
  object: fc.dictionary(name, tie('value'), { maxKeys: 4 }),
})).value;
const bindingsOf = (body: unknown, inputs: Record<string, unknown>): ExpressionBindings => ({ params: { n: 3 }, tasks: {}, inputs, event: { body, headers: { host: 'example' } } });

function cel(template: string, bindings: ExpressionBindings, integers: ReadonlySet<string>): { value: unknown } | { error: true } {
  try {
    return { value: resolveTemplates(template, bindings, integers) };
  } catch {
    return { error: true };
  }
}


describe('fieldPathValue', () => {
  it('answers what CEL answers for a field path, or leaves it to CEL', () => {
    fc.assert(
      fc.property(
        json,
        fc.dictionary(name, json, { maxKeys: 3 }),
        fc.constantFrom('body', 'inputs', 'params', 'headers', 'item', 'tasks'),
        fc.array(name, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (body, inputs, root, fields, intInputs) => {
          const template = `\${${[root, ...fields].join('.')}}`;
          const bindings = bindingsOf(body, inputs);
          const integers = new Set(intInputs ? Object.keys(inputs) : []);
          const fast = fieldPathValue(template, bindings);
          if (fast === undefined) return;
          expect(cel(template, bindings, integers)).toEqual(fast);
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('reads scalars at the end of a path, and nothing else', () => {
    const bindings = bindingsOf({ order: { id: 'o-1', n: 2, ok: true, none: null, items: [1], meta: {} } }, { n: 3 });
    expect(fieldPathValue('${body.order.id}', bindings)).toEqual({ value: 'o-1' });
    expect(fieldPathValue('${ body.order.n }', bindings)).toEqual({ value: 2 });
    expect(fieldPathValue('${body.order.ok}', bindings)).toEqual({ value: true });
    expect(fieldPathValue('${body.order.none}', bindings)).toEqual({ value: null });
    expect(fieldPathValue('${inputs.n}', bindings)).toEqual({ value: 3 });
    expect(fieldPathValue('${headers.host}', bindings)).toEqual({ value: 'example' });
    for (const other of ['${body.order.items}', '${body.order.meta}', '${body.order.missing}', '${body.order.id + "x"}', '${body}', 'id-${body.order.id}', '${body.in}', '${size(body)}', 42]) {
      expect(fieldPathValue(other, bindings)).toBeUndefined();
    }
  });

  it('gives the same results off the thread as on it, mixed templates included', async () => {
    const bindings = bindingsOf({ n: 4, tags: ['a', 'b'] }, { day: 7 });
    expect(await resolveTemplatesOffThread({ n: '${body.n}', day: '${inputs.day}' }, bindings, new Set(['day']))).toEqual({ n: { value: 4 }, day: { value: 7 } });
    const mixed = await resolveTemplatesOffThread({ n: '${body.n}', count: '${size(body.tags)}', missing: '${body.nope}' }, bindings);
    expect(mixed.n).toEqual({ value: 4 });
    expect(mixed.count).toEqual({ value: 2 });
    expect(mixed.missing).toMatchObject({ error: expect.objectContaining({ code: 'EXPRESSION_FAILED' }) });
  });
});
