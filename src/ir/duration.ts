const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The duration syntax manifests use: a whole or decimal number and a unit, e.g. `500ms`, `1.5s`, `5m`, `1h`, `2d`. */
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses a manifest duration into milliseconds, or returns `undefined` when the text is not one.
 *
 * @example parseDuration('1.5s') // 1500
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  return Math.round(Number(amount) * (UNIT_MS[unit as string] as number));
}
