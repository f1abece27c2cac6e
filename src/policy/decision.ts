/**
 * What the PDPs share: the entrypoint, reading OPA's answer into a decision, and the fallback.
 */
import type { PolicyDecision } from './types.js';

/**
 * The decision when a PDP server (`where`, e.g. `OPA at http://opa:8181`) could not answer:
 * the namespace's fallback in `onUnavailable`, closed unless set `open`, with a reason naming why.
 */
export function fallbackDecision(
  where: string,
  error: Error,
  { namespace, timeoutMs, onUnavailable }: { namespace: string; timeoutMs: number; onUnavailable: Readonly<Record<string, string>> },
): Pick<PolicyDecision, 'allow' | 'reasons' | 'fallback' | 'bundleRevision'> {
  const open = onUnavailable[namespace] === 'open';
  const cause = error.name === 'TimeoutError' || error.name === 'AbortError' ? `no answer within ${timeoutMs} ms` : error.message;
  const reason = `${where} could not decide (${cause}); namespace "${namespace}" fails ${open ? 'open: allowed without a policy decision' : 'closed'}`;
  return { allow: open, reasons: [reason], bundleRevision: 'unavailable', fallback: open ? 'open' : 'closed' };
}

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
