/**
 * What both PDPs share: the entrypoint, and reading OPA's answer into a decision.
 */
import type { PolicyDecision } from './types.js';

/** The rule Maestro asks: `data.maestro.decision`, an object `{allow, reasons, obligations?}`. */
export const DECISION_ENTRYPOINT = 'maestro/decision';

/**
 * `{allow, reasons, obligations}` from the policy's result, or undefined when the result is not
 * that shape. Only the obligations Maestro knows are kept, and only when set to `true`.
 */
export function readDecision(result: unknown): Pick<PolicyDecision, 'allow' | 'reasons' | 'obligations'> | undefined {
  if (result === null || typeof result !== 'object') return undefined;
  const { allow, reasons, obligations } = result as { allow?: unknown; reasons?: unknown; obligations?: unknown };
  if (typeof allow !== 'boolean') return undefined;
  const list = Array.isArray(reasons) ? reasons.filter((reason): reason is string => typeof reason === 'string') : [];
  // A denial always carries a reason, even from a policy that forgot one.
  if (!allow && list.length === 0) list.push('denied by policy (the policy gave no reason)');
  const requireSignedImage = allow && obligations !== null && typeof obligations === 'object' && (obligations as { requireSignedImage?: unknown }).requireSignedImage === true;
  return { allow, reasons: list, ...(requireSignedImage ? { obligations: { requireSignedImage } } : {}) };
}
