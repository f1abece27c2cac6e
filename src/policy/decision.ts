/**
 * What both PDPs share: the entrypoint, and reading OPA's answer into a decision.
 */

/** The rule Maestro asks: `data.maestro.decision`, an object `{allow, reasons}`. */
export const DECISION_ENTRYPOINT = 'maestro/decision';

/** `{allow, reasons}` from the policy's result, or undefined when the result is not that shape. */
export function readDecision(result: unknown): { allow: boolean; reasons: string[] } | undefined {
  if (result === null || typeof result !== 'object') return undefined;
  const { allow, reasons } = result as { allow?: unknown; reasons?: unknown };
  if (typeof allow !== 'boolean') return undefined;
  const list = Array.isArray(reasons) ? reasons.filter((reason): reason is string => typeof reason === 'string') : [];
  // A denial always carries a reason, even from a policy that forgot one.
  if (!allow && list.length === 0) list.push('denied by policy (the policy gave no reason)');
  return { allow, reasons: list };
}
