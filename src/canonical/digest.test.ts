import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, digestOf, outputsJson, outputsSha256, sha256Hex } from './index.js';

/** What a call gives: its text, or that it threw. */
function outcome(make: () => string | undefined): { text: string | undefined } | { threw: true } {
  try {
    return { text: make() };
  } catch {
    return { threw: true };
  }
}

/** canonicalJson and the canonicalize package give the same text, or both refuse the value. */
function expectSameAsPackage(value: unknown): void {
  const reference = outcome(() => canonicalize(value));
  const ours = outcome(() => canonicalJson(value));
  // The package answers undefined for a value that has no JSON form; canonicalJson refuses it.
  if ('text' in reference && reference.text === undefined) expect(ours).toEqual({ threw: true });
  else expect(ours).toEqual(reference);
}

/** Any UTF-16 code units: quotes, backslashes, control characters, paired and lone surrogates. */
const codeUnits = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 8 }).map((units) => String.fromCharCode(...units));
/** Mostly text that needs no escaping, sometimes anything. */
const strings = fc.oneof({ arbitrary: fc.string({ maxLength: 12 }), weight: 3 }, { arbitrary: fc.string({ unit: 'binary', maxLength: 6 }), weight: 1 }, { arbitrary: codeUnits, weight: 1 });
/** Doubles of every kind (-0, subnormals, 1e21 and past, NaN, ±Infinity), integers, and numbers whose text RFC 8785 pins. */
const numbers = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(-0, 1e21, 1e-7, 1e-6, 0.1 + 0.2, 5e-324, Number.MAX_VALUE, 333333333.33333329, 2 ** 53 + 1));

const { json } = fc.letrec((tie) => ({
  json: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('array'), tie('object')),
  leaf: fc.oneof(fc.constant(null), fc.boolean(), numbers, strings, fc.constant(undefined)),
  array: fc.array(tie('json'), { maxLength: 5 }),
  object: fc.dictionary(strings, tie('json'), { maxKeys: 5 }),
}));

describe('canonicalJson', () => {
  it('writes what the canonicalize package writes, and refuses what it refuses, for any JSON-like value', () => {
    fc.assert(fc.property(json, expectSameAsPackage), { numRuns: 3000 });
  });

  it('writes RFC 8785’s own examples exactly (numbers, escapes, member order by UTF-16 code units)', () => {
    const sample = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    ) as unknown;
    expect(canonicalJson(sample)).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
    const names = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
    expect(canonicalJson(names)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('writes -0 as 0 and large and small numbers as ECMAScript does', () => {
    expect(canonicalJson([-0, 1e21, 1e20, 1e-7, 1e-6, 0.1 + 0.2])).toBe('[0,1e+21,100000000000000000000,1e-7,0.000001,0.30000000000000004]');
  });

  it('refuses NaN, Infinity, a lone surrogate anywhere, a cycle and undefined', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = { back: cyclic };
    for (const value of [Number.NaN, [Infinity], { a: -Infinity }, '\ud800', ['x\udc00'], { '\ud83d': 1 }, cyclic, undefined]) {
      expect(() => canonicalJson(value)).toThrow();
    }
  });

  it('leaves members whose value is undefined out and writes undefined items as null, as JSON.stringify does', () => {
    expect(canonicalJson({ b: undefined, a: [undefined, 1] })).toBe('{"a":[null,1]}');
  });

  it('gives values that are not plain JSON (toJSON, holes, functions, deep nesting) the package’s answer', () => {
    const deep: unknown[] = [];
    let cursor = deep;
    for (let depth = 0; depth < 1500; depth += 1) cursor.push((cursor = []));
    for (const value of [{ at: new Date(Date.UTC(2026, 0, 1)) }, [1, , 3], { f: () => 1 }, [() => 1], { toJSON: () => ({ z: 1, a: 2 }) }, deep, new Map([['a', 1]])]) {
      expectSameAsPackage(value);
    }
  });

  it('writes an object whose canonical JSON is known as that text, without walking it again', () => {
    const outputs = { rows: [3, 1], note: 'é' };
    const run = { tasks: [{ id: 'a', outputs }], status: 'SUCCEEDED' };
    const known = new Map<object, string>([[outputs, outputsJson(outputs)]]);
    expect(canonicalJson(run, known)).toBe(canonicalJson(run));
    // The text is used as given: only the canonical JSON of that very object may be passed.
    expect(canonicalJson(run, new Map([[outputs, '"stand-in"']]))).toBe('{"status":"SUCCEEDED","tasks":[{"id":"a","outputs":"stand-in"}]}');
  });
});

describe('outputsSha256', () => {
  it('hashes the canonical JSON of the outputs, null when there are none', () => {
    expect(outputsSha256({ b: 2, a: 1 })).toBe(sha256Hex('{"a":1,"b":2}'));
    expect(outputsSha256(undefined)).toBe(sha256Hex('null'));
    expect(`sha256:${outputsSha256({ a: 1 })}`).toBe(digestOf({ a: 1 }));
  });
});
