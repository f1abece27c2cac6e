/**
 * Decoders of settings whose environment text is not the value itself: lists, `key=value` maps,
 * JSON, durations. Each takes the variable's text or the config file's value and returns the shape
 * of the setting's schema, or throws {@link SettingValueError} saying which entry is wrong — what a
 * JSON Schema error could not say.
 */
import { delimiter, resolve } from 'node:path';
import { parseDuration } from '../ir/index.js';
import { SettingValueError } from './setting.js';

/** A Maestro namespace name. */
export const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

/** A JSON text (environment) or any value (file), parsed. */
export function jsonOrValue(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    // JSON.parse signals malformed text only by throwing a SyntaxError.
    if (!(error instanceof SyntaxError)) throw error;
    throw new SettingValueError(`must be JSON: ${error.message}`);
  }
}

/** A duration such as `30d` or `12h` (a number in the file counts as milliseconds), as milliseconds. */
export function duration(raw: unknown): number {
  const ms = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseDuration(raw) : undefined;
  if (ms === undefined || !Number.isInteger(ms) || ms <= 0) throw new SettingValueError('must be a duration such as 30d, 12h or 90m');
  return ms;
}

/** An integer from `min` to `max`, from text or a number. */
export function integerIn(raw: unknown, min: number, max: number): number {
  const value = typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SettingValueError(`must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** `a:b` (environment, the path delimiter) or a list (file) of paths, made absolute against the working directory. */
export function pathList(what: string) {
  return (raw: unknown): readonly string[] => {
    const items = typeof raw === 'string' ? raw.split(delimiter) : raw;
    if (!Array.isArray(items) || !items.every((item): item is string => typeof item === 'string')) throw new SettingValueError(`must be a list of ${what}s`);
    const paths = items.map((item) => item.trim()).filter((item) => item !== '');
    if (paths.length === 0) throw new SettingValueError(`must name at least one ${what}`);
    return Object.freeze(paths.map((path) => resolve(path)));
  };
}

/** `a,b` (environment) or a list (file) of Maestro namespace names; `*` too when `wildcard`. */
export function namespaceList(wildcard: boolean) {
  return (raw: unknown): readonly string[] => {
    const items = typeof raw === 'string' ? raw.split(',') : raw;
    if (!Array.isArray(items) || !items.every((item): item is string => typeof item === 'string')) throw new SettingValueError('must be a list of namespaces');
    const names = items.map((item) => item.trim()).filter((item) => item !== '');
    const bad = names.find((name) => !(wildcard && name === '*') && !NAMESPACE_PATTERN.test(name));
    if (bad !== undefined) throw new SettingValueError(`has an invalid namespace name "${bad}"`);
    if (names.length === 0) throw new SettingValueError('must name at least one namespace');
    return Object.freeze(names);
  };
}

/**
 * `a,b` (environment) or a list (file) of strings, each accepted by `check`, else `refusal(item)` is
 * the error; an empty list only when `emptyAllowed`.
 */
export function checkedList(what: string, check: (item: string) => boolean, refusal: (item: string) => string, emptyAllowed = false) {
  return (raw: unknown): readonly string[] => {
    const items = typeof raw === 'string' ? raw.split(',') : raw;
    if (!Array.isArray(items) || !items.every((item): item is string => typeof item === 'string')) throw new SettingValueError(`must be a list of ${what}s`);
    const names = items.map((item) => item.trim()).filter((item) => item !== '');
    const bad = names.find((name) => !check(name));
    if (bad !== undefined) throw new SettingValueError(refusal(bad));
    if (names.length === 0 && !emptyAllowed) throw new SettingValueError(`must name at least one ${what}`);
    return Object.freeze(names);
  };
}

/** The `[key, value]` pairs of `key=value,…` (environment) or of a mapping (file). */
function pairs(raw: unknown): [string, unknown][] {
  if (typeof raw === 'string') {
    return raw.split(',').filter((part) => part.trim() !== '').map((part) => {
      const at = part.indexOf('=');
      return at < 0 ? [part.trim(), ''] : [part.slice(0, at).trim(), part.slice(at + 1).trim()];
    });
  }
  return raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? Object.entries(raw) : [];
}

/** `key=value,…` (environment) or a mapping of strings (file), each value checked by `check`. */
export function stringMap(what: string, check: (value: string) => boolean, hint: string) {
  return (raw: unknown): Readonly<Record<string, string>> => {
    const entries = pairs(raw);
    if (entries.length === 0) throw new SettingValueError(`must list ${what}, e.g. ${hint}`);
    const map: Record<string, string> = {};
    for (const [key, value] of entries) {
      if (!/^[a-z0-9][a-z0-9.-]*$/.test(key)) throw new SettingValueError(`has an invalid name "${key}"`);
      if (typeof value !== 'string' || !check(value)) throw new SettingValueError(`"${key}": ${JSON.stringify(value)} is not valid (e.g. ${hint})`);
      map[key] = value;
    }
    return Object.freeze(map);
  };
}

/** `namespace=count,…` (environment) or a mapping of namespace to count (file). */
export function runLimits(raw: unknown): Readonly<Record<string, number>> {
  const entries = typeof raw === 'string' ? raw.split(',').filter((part) => part.trim() !== '').map((part) => {
    const [name = '', count = ''] = part.split('=');
    return [name.trim(), count.trim()] as [string, unknown];
  }) : pairs(raw);
  if (entries.length === 0) throw new SettingValueError('must list namespace=limit pairs, e.g. team-a=5,team-b=2');
  const limits: Record<string, number> = {};
  for (const [name, count] of entries) {
    if (!NAMESPACE_PATTERN.test(name)) throw new SettingValueError(`has an invalid namespace name "${name}"`);
    limits[name] = integerIn(count, 1, 1_000_000);
  }
  return Object.freeze(limits);
}
