/**
 * Turning ajv's errors into issues a person can act on: one message per mistake, located at the
 * offending key (unknown fields), the object missing a property (required), or the value.
 */
import type { ErrorObject } from 'ajv';
import { isRecord } from '../ir/index.js';
import type { Reporter } from './issues.js';
import { pointerToPath, type PathSegment } from './path.js';
import { didYouMean, suggest } from './suggest.js';
import { describeValue } from './values.js';

/** For each `$defs` entry holding a pattern: what the value is meant to be, and how to write one. */
const PATTERNS: Record<string, { subject: string; hint: string }> = {
  dnsLabel: {
    subject: 'a valid name',
    hint: 'use lower-case letters, digits and "-", starting and ending with a letter or digit (at most 63)',
  },
  semver: { subject: 'a semantic version', hint: 'write major.minor.patch, e.g. 1.2.0' },
  parameterName: {
    subject: 'a valid parameter name',
    hint: 'use letters, digits and "_", not starting with a digit (it is read as params.<name>)',
  },
  duration: { subject: 'a duration', hint: 'write a number and a unit: 500ms, 30s, 1.5m, 1h or 2d' },
  expression: {
    subject: 'an expression',
    hint: `write exactly one CEL expression inside \${...}, e.g. "\${params.env == 'prod'}"`,
  },
  taskId: {
    subject: 'a valid task id',
    hint: 'start with a lower-case letter; use lower-case letters, digits, "-" and "_" (at most 63)',
  },
  uses: {
    subject: 'a task reference',
    hint: 'write group/name@version, e.g. tasks/http.request@0.1.0 (a semver range such as ^0.1 is allowed)',
  },
  workflowRef: { subject: 'a workflow reference', hint: 'write name@version, e.g. ingest-enrich-handoff@1.2.0' },
};

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  null: 'null',
};

function param(error: ErrorObject, name: string): unknown {
  return error.params[name];
}

function stringParam(error: ErrorObject, name: string): string {
  const value = param(error, name);
  return typeof value === 'string' ? value : String(value);
}

function schemaProperties(error: ErrorObject): string[] {
  const parent = error.parentSchema;
  return isRecord(parent) && isRecord(parent.properties) ? Object.keys(parent.properties) : [];
}

/** The message for one ajv error, and the path and part of the document it is about. */
function describe(error: ErrorObject, path: PathSegment[]): { path: PathSegment[]; message: string; part: 'key' | 'value' } {
  const got = describeValue(error.data);
  switch (error.keyword) {
    case 'required':
      return { path, part: 'value', message: `must have required property "${stringParam(error, 'missingProperty')}"` };
    case 'additionalProperties': {
      const field = stringParam(error, 'additionalProperty');
      return { path: [...path, field], part: 'key', message: `unknown field "${field}"${didYouMean(field, schemaProperties(error))}` };
    }
    case 'type': {
      const expected = TYPE_NAMES[stringParam(error, 'type')] ?? stringParam(error, 'type');
      const quote = expected === 'a string' && (typeof error.data === 'number' || typeof error.data === 'boolean') ? ' (put it in quotes)' : '';
      return { path, part: 'value', message: `must be ${expected}, got ${got}${quote}` };
    }
    case 'const':
      return { path, part: 'value', message: `must be ${JSON.stringify(param(error, 'allowedValue'))}, got ${got}` };
    case 'enum': {
      const allowed = param(error, 'allowedValues');
      const values = Array.isArray(allowed) ? allowed.map(String) : [];
      const hint = typeof error.data === 'string' ? didYouMean(error.data, values) : '';
      return { path, part: 'value', message: `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}, got ${got}${hint}` };
    }
    case 'pattern': {
      const definition = /\$defs\/([^/]+)\/pattern$/.exec(error.schemaPath)?.[1] ?? '';
      const pattern = PATTERNS[definition];
      const message = pattern ? `${got} is not ${pattern.subject}: ${pattern.hint}` : `${got} must match ${stringParam(error, 'pattern')}`;
      return { path, part: 'value', message };
    }
    case 'minimum':
    case 'maximum':
      return { path, part: 'value', message: `must be ${stringParam(error, 'comparison')} ${stringParam(error, 'limit')}, got ${got}` };
    case 'minItems':
    case 'minLength': {
      const limit = Number(param(error, 'limit'));
      const unit = error.keyword === 'minItems' ? 'item' : 'character';
      return { path, part: 'value', message: limit === 1 ? 'must not be empty' : `must have at least ${limit} ${unit}s` };
    }
    case 'uniqueItems': {
      const later = Math.max(Number(param(error, 'i')), Number(param(error, 'j')));
      const item = Array.isArray(error.data) ? error.data[later] : undefined;
      return { path: [...path, later], part: 'value', message: `${describeValue(item)} is listed twice` };
    }
    default:
      return { path, part: 'value', message: error.message ?? `fails "${error.keyword}"` };
  }
}

/**
 * Reports ajv errors, one message per mistake: on a value of the wrong type only the type error
 * is kept, a missing property that an unknown field is a misspelling of (`task:` for `tasks:`)
 * is reported once, as the unknown field, and a key breaking `propertyNames` is reported at the
 * key, by what it should be.
 */
export function reportSchemaErrors(errors: readonly ErrorObject[], data: unknown, reporter: Reporter): void {
  const typeErrorAt = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const misspelt = new Set(
    errors
      .filter((e) => e.keyword === 'additionalProperties')
      .map((e) => `${e.instancePath}/${suggest(stringParam(e, 'additionalProperty'), schemaProperties(e)) ?? ''}`),
  );
  for (const error of errors) {
    if (error.keyword !== 'type' && typeErrorAt.has(error.instancePath)) continue;
    if (error.keyword === 'required' && misspelt.has(`${error.instancePath}/${stringParam(error, 'missingProperty')}`)) continue;
    // ajv follows the key's own error (which names the key) with a generic "propertyNames" one.
    if (error.keyword === 'propertyNames') continue;
    // An `if`/`then`/`else` (a forEach written as one expression or as a mapping) reports the
    // branch's own error, then a generic "must match the then/else schema".
    if (error.keyword === 'if') continue;
    const at = pointerToPath(error.instancePath, data);
    const described = describe(error, error.propertyName === undefined ? at : [...at, error.propertyName]);
    const part = error.propertyName === undefined ? described.part : 'key';
    reporter.report(described.path, described.message, reporter.source.at(described.path, part));
  }
}
