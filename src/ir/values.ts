/**
 * Pure helpers over the values the IR carries (params, inputs, outputs), shared by every layer
 * above: workflow-safe, no Node imports.
 */
import type { ParameterSpec } from './types.js';

/** True for a plain object (not null, not an array): a JSON object once parsed. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Shown instead of a secret's value wherever Maestro shows it to a user (run params, log lines). */
export const REDACTED = '[redacted]';

/**
 * The params with the value of every secret parameter (`secret: true` in `parameters`) replaced by
 * `placeholder`; other params, and params no spec names, are kept as they are.
 *
 * @example
 * redactParams(ir.parameters, params);                     // what GET /runs/{runId} shows
 * redactParams(ir.parameters, params, SECRET_PLACEHOLDER); // what a receipt hashes
 */
export function redactParams(parameters: readonly ParameterSpec[], params: Record<string, unknown>, placeholder: string = REDACTED): Record<string, unknown> {
  const secret = new Set(parameters.filter((spec) => spec.secret).map((spec) => spec.name));
  return Object.fromEntries(Object.entries(params).map(([name, value]) => [name, secret.has(name) ? placeholder : value]));
}
