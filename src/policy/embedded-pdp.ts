/**
 * The embedded PDP: the project's Rego compiled to WebAssembly (`opa build -t wasm`), evaluated
 * in-process with `@open-policy-agent/opa-wasm`. No network, tens of microseconds per decision.
 */
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm';
import { ConfigError } from '../errors/index.js';
import { auditRecordId } from '../store/index.js';
import { readWasmBundle } from './bundle.js';
import { DECISION_ENTRYPOINT, readDecision } from './decision.js';
import { canonicalInput } from './input.js';
import type { PolicyDecision, PolicyDecisionPoint, PolicyInput } from './types.js';

/** Options of {@link createEmbeddedPdp}. */
export interface EmbeddedPdpOptions {
  /** Path of the `opa build -t wasm` bundle (`.tar.gz`). */
  bundle: string;
}

/**
 * Loads the wasm bundle and returns a PDP over it. Evaluation is synchronous inside, so decisions
 * never interleave. An evaluation error (a policy bug) is a denial that says so: fail closed.
 *
 * @throws {ConfigError} when the bundle is missing, is not a wasm bundle, or lacks `maestro/decision`.
 * @example
 * const pdp = await createEmbeddedPdp({ bundle: defaultBundlePath() });
 */
export async function createEmbeddedPdp({ bundle }: EmbeddedPdpOptions): Promise<PolicyDecisionPoint> {
  const { wasm, data, revision } = await readWasmBundle(bundle);
  let policy: LoadedPolicy;
  try {
    policy = await loadPolicy(wasm);
  } catch (error) {
    throw new ConfigError(`policy bundle ${bundle}: policy.wasm does not load: ${(error as Error).message}`, { cause: error });
  }
  const entrypoints = policy.entrypoints as Record<string, number>;
  if (!(DECISION_ENTRYPOINT in entrypoints)) {
    throw new ConfigError(`policy bundle ${bundle} has no ${DECISION_ENTRYPOINT} entrypoint (has: ${Object.keys(entrypoints).join(', ') || 'none'}); build it with -e ${DECISION_ENTRYPOINT}`);
  }
  policy.setData(data);
  const bundleRevision = revision || `unrevisioned:${bundle}`;
  const encoder = new TextEncoder();

  return {
    mode: 'embedded',
    revision: bundleRevision,
    decide(input: PolicyInput): Promise<PolicyDecision> {
      const { json, digest } = canonicalInput(input);
      const base = { decisionId: auditRecordId(), bundleRevision, inputDigest: digest };
      let answer: ReturnType<typeof readDecision>;
      try {
        // The canonical JSON doubles as the wasm input: serialised once, hashed and evaluated.
        const bytes = encoder.encode(json);
        const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
        const results = policy.evaluate(buffer, DECISION_ENTRYPOINT) as { result?: unknown }[] | undefined;
        answer = readDecision(results?.[0]?.result);
      } catch (error) {
        return Promise.resolve({ ...base, allow: false, reasons: [`the embedded policy failed to evaluate: ${(error as Error).message}`], fallback: 'closed' });
      }
      if (!answer) return Promise.resolve({ ...base, allow: false, reasons: [`the policy bundle's ${DECISION_ENTRYPOINT} gave no {allow, reasons} answer`], fallback: 'closed' });
      return Promise.resolve({ ...base, ...answer });
    },
    close: () => Promise.resolve(),
  };
}
