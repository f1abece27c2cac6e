/**
 * Run parameters: checking the values a run is started with against the declared parameters,
 * and converting `-p name=value` text from the command line.
 */
import { ParamsError } from '../errors/index.js';
import type { ParameterSpec } from '../ir/index.js';
import { didYouMean } from './suggest.js';
import { enumProblem, valueProblem } from './values.js';

/**
 * Checks run parameters against their declarations and returns the values the run uses: every
 * given value, plus the default of each parameter not given.
 *
 * @throws ParamsError listing every unknown name, missing required parameter, value of the wrong
 *   type and value outside its `enum`.
 * @example
 * checkParams([{ name: 'env', type: 'string', required: false, secret: false, default: 'dev' }], {})
 * // { env: 'dev' }
 */
export function checkParams(specs: readonly ParameterSpec[], values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const problems: { name: string; message: string }[] = [];
  const declared = new Set(specs.map((spec) => spec.name));
  for (const name of Object.keys(values)) {
    if (!declared.has(name)) problems.push({ name, message: `unknown parameter${didYouMean(name, declared)}` });
  }
  const result: Record<string, unknown> = {};
  for (const spec of specs) {
    const value = Object.hasOwn(values, spec.name) ? values[spec.name] : spec.default;
    if (value === undefined) {
      if (spec.required) problems.push({ name: spec.name, message: 'is required' });
      continue;
    }
    const problem = valueProblem(spec.type, value) ?? (spec.enum ? enumProblem(spec.enum, value) : undefined);
    if (problem) problems.push({ name: spec.name, message: problem });
    else result[spec.name] = value;
  }
  if (problems.length > 0) throw new ParamsError(problems);
  return result;
}

/**
 * Converts the text of a command-line parameter to a value of its declared type: numbers and
 * booleans are parsed, objects and arrays are JSON, strings and date-times stay text.
 *
 * @throws ParamsError when the text is not a value of the type.
 * @example parseParamText({ name: 'n', type: 'integer', required: true, secret: false }, '42') // 42
 */
export function parseParamText(spec: ParameterSpec, text: string): unknown {
  const value = convert(spec, text);
  const problem = valueProblem(spec.type, value);
  if (problem) throw new ParamsError([{ name: spec.name, message: problem }]);
  return value;
}

function convert(spec: ParameterSpec, text: string): unknown {
  const trimmed = text.trim();
  switch (spec.type) {
    case 'string':
    case 'datetime':
      return text;
    case 'number': {
      const number = Number(trimmed);
      return trimmed !== '' && Number.isFinite(number) ? number : text;
    }
    case 'integer':
      return /^[-+]?\d+$/.test(trimmed) ? Number(trimmed) : text;
    case 'boolean':
      return trimmed === 'true' ? true : trimmed === 'false' ? false : text;
    case 'object':
    case 'array':
      try {
        return JSON.parse(text);
      } catch (error) {
        throw new ParamsError([{ name: spec.name, message: `is not valid JSON: ${error instanceof Error ? error.message : String(error)}` }], { cause: error });
      }
  }
}
