import { Ajv, type ErrorObject, type Options as AjvOptions, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import type { JsonSchema } from './types.js';

/** JSON Schema dialects Maestro validates, selected by a schema's `$schema`. */
export type JsonSchemaDialect = 'draft-07' | '2019-09' | '2020-12';

/** `$schema` URIs (normalised: no trailing `#`, `http` or `https`) and the dialect each names. */
const DIALECTS: Record<string, JsonSchemaDialect> = {
  'json-schema.org/draft-07/schema': 'draft-07',
  'json-schema.org/draft/2019-09/schema': '2019-09',
  'json-schema.org/draft/2020-12/schema': '2020-12',
};

const AJV_BY_DIALECT = { 'draft-07': Ajv, '2019-09': Ajv2019, '2020-12': Ajv2020 } as const;

/** One way a value fails a schema: where (`rows[2].name`, `(root)` for the value itself) and why. */
export interface SchemaProblem {
  path: string;
  message: string;
}

/** Checks a value against a compiled schema; returns every problem found (empty when valid). */
export type SchemaCheck = (value: unknown) => SchemaProblem[];

/** The result of {@link compileJsonSchema}. */
export type CompileSchemaResult =
  | { ok: true; dialect: JsonSchemaDialect; check: SchemaCheck }
  | { ok: false; message: string };

/** Options of {@link compileJsonSchema}. */
export interface CompileSchemaOptions {
  /**
   * Refuse unknown keywords and formats and loosely typed keywords (Ajv's strict mode). Use it for
   * schemas Maestro's own code writes; leave it off for schemas users supply, whose unknown keywords
   * JSON Schema says to ignore.
   * @default true
   */
  strict?: boolean;
}

/**
 * The dialect a schema's `$schema` names; a schema without `$schema` is read as 2020-12. Returns
 * `undefined` for a `$schema` Maestro does not support.
 */
export function dialectOf(schema: JsonSchema): JsonSchemaDialect | undefined {
  const declared = schema['$schema'];
  if (declared === undefined) return '2020-12';
  if (typeof declared !== 'string') return undefined;
  return DIALECTS[declared.replace(/^https?:\/\//, '').replace(/#$/, '')];
}

/**
 * Compiles a JSON Schema (draft-07, 2019-09 or 2020-12, chosen by its `$schema`) with every string
 * format of `ajv-formats`. Each call compiles afresh in its own Ajv instance, so schemas sharing an
 * `$id` never clash: callers cache the returned check.
 *
 * @example
 * const compiled = compileJsonSchema({ type: 'object', required: ['id'] });
 * if (compiled.ok) compiled.check({}); // [{ path: 'id', message: 'is required' }]
 */
export function compileJsonSchema(schema: JsonSchema, options: CompileSchemaOptions = {}): CompileSchemaResult {
  const { strict = true } = options;
  const dialect = dialectOf(schema);
  if (!dialect) return { ok: false, message: `unsupported $schema ${JSON.stringify(schema['$schema'])}` };
  const ajvOptions: AjvOptions = strict
    ? { allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true }
    : { allErrors: true, strict: false, logger: false };
  const ajv = new AJV_BY_DIALECT[dialect](ajvOptions);
  formats.default(ajv);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    // Ajv reports a bad schema only by throwing; the message is what the user needs to fix it.
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  const check: SchemaCheck = (value) => (validate(value) ? [] : toProblems(validate.errors ?? []));
  return { ok: true, dialect, check };
}

/** Formats problems as `path: message`, joined by `; `. */
export function formatSchemaProblems(problems: readonly SchemaProblem[]): string {
  return problems.map((problem) => `${problem.path}: ${problem.message}`).join('; ');
}

function toProblems(errors: readonly ErrorObject[]): SchemaProblem[] {
  return errors.map((error) => {
    const segments = error.instancePath.split('/').slice(1).map(unescapePointer);
    const { params } = error;
    // Point at the property itself for the two errors whose subject is a property name.
    if (error.keyword === 'required' && typeof params['missingProperty'] === 'string') {
      return { path: toPath([...segments, params['missingProperty']]), message: 'is required' };
    }
    if (error.keyword === 'additionalProperties' && typeof params['additionalProperty'] === 'string') {
      return { path: toPath([...segments, params['additionalProperty']]), message: 'is not an allowed property' };
    }
    return { path: toPath(segments), message: error.message ?? `fails "${error.keyword}"` };
  });
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** `['rows', '2', 'first name']` → `rows[2]["first name"]`; no segments → `(root)`. */
function toPath(segments: readonly string[]): string {
  if (segments.length === 0) return '(root)';
  return segments
    .map((segment, index) => {
      if (/^(0|[1-9]\d*)$/.test(segment)) return `[${segment}]`;
      if (/^[A-Za-z_$][\w$]*$/.test(segment)) return index === 0 ? segment : `.${segment}`;
      return `[${JSON.stringify(segment)}]`;
    })
    .join('');
}
