/**
 * Whether a value fits a declared parameter type. Shared by the manifest checks (`default`,
 * `enum`) and by run-time parameter checks.
 */
import { isDeepStrictEqual } from 'node:util';
import { isRecord, type ParameterType } from '../ir/index.js';

const RFC3339 =
  /^(?<year>\d{4})-(?<month>\d{2})-(?<day>\d{2})[Tt ](?<hour>\d{2}):(?<minute>\d{2}):(?<second>\d{2})(?:\.\d+)?(?:[Zz]|[+-](?<offsetHour>\d{2}):(?<offsetMinute>\d{2}))$/;

/** True for an RFC 3339 date-time (`2025-08-31T09:30:00Z`, `2025-08-31T11:30:00.5+02:00`). */
export function isDateTime(text: string): boolean {
  const groups = RFC3339.exec(text)?.groups;
  if (!groups) return false;
  const n = (name: string): number => Number(groups[name] ?? 0);
  const daysInMonth = new Date(Date.UTC(n('year'), n('month'), 0)).getUTCDate();
  return (
    n('month') >= 1 &&
    n('month') <= 12 &&
    n('day') >= 1 &&
    n('day') <= daysInMonth &&
    n('hour') <= 23 &&
    n('minute') <= 59 &&
    n('second') <= 60 &&
    n('offsetHour') <= 23 &&
    n('offsetMinute') <= 59
  );
}

/** A short description of a value for the "got ..." of messages. */
export function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (isRecord(value)) return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (value === undefined) return 'nothing';
  return String(value);
}

const EXPECTED: Record<ParameterType, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  datetime: 'an RFC 3339 date-time such as "2025-08-31T09:30:00Z"',
  object: 'a mapping',
  array: 'a list',
};

function fits(type: ParameterType, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'datetime':
      return typeof value === 'string' && isDateTime(value);
    case 'object':
      return isRecord(value);
    case 'array':
      return Array.isArray(value);
  }
}

/**
 * Why `value` is not a valid value of `type`, or `undefined` when it is.
 *
 * @example valueProblem('integer', 1.5) // 'must be an integer, got 1.5'
 */
export function valueProblem(type: ParameterType, value: unknown): string | undefined {
  return fits(type, value) ? undefined : `must be ${EXPECTED[type]}, got ${describeValue(value)}`;
}

/** Why `value` is not one of `allowed`, or `undefined` when it is (deep equality). */
export function enumProblem(allowed: readonly unknown[], value: unknown): string | undefined {
  if (allowed.some((candidate) => isDeepStrictEqual(candidate, value))) return undefined;
  return `must be one of ${allowed.map(describeValue).join(', ')}, got ${describeValue(value)}`;
}
