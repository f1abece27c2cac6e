/** Settings of the policy decision point that decides every run start and task attempt. */
import { Type } from '@sinclair/typebox';
import { stringMap } from '../decode.js';
import { optional, section, type SettingsOf } from '../setting.js';

const text = Type.String({ minLength: 1 });

/** The PDP: embedded (OPA compiled to WebAssembly), an OPA server, or SIG's policy service. */
export const policySection = section('policy', "The policy decision point: OPA in-process (WebAssembly), an OPA server or SIG's policy service, and what a decision is when it cannot answer.", {
  policyMode: optional(Type.Union([Type.Literal('embedded'), Type.Literal('remote'), Type.Literal('sig')]), {
    env: 'MAESTRO_POLICY_MODE',
    unset: 'embedded',
    description:
      "Policy decision point: `embedded` evaluates the policy compiled to WebAssembly in-process; `remote` asks an OPA server at MAESTRO_OPA_URL; `sig` asks SIG's `POST /policy/evaluate` at MAESTRO_SIG_POLICY_URL.",
  }),
  policyBundle: optional(text, {
    env: 'MAESTRO_POLICY_BUNDLE',
    path: true,
    unset: '`<repo>/dist/policy/bundle.wasm.tar.gz`, built from policies/ by `npm start` / `npm test`',
    description: 'The `opa build -t wasm` bundle the embedded PDP loads.',
  }),
  opaUrl: optional(Type.String({ format: 'url' }), {
    env: 'MAESTRO_OPA_URL',
    unset: 'http://127.0.0.1:8181',
    description: 'Base URL of the OPA server of the remote PDP; Maestro posts to `<url>/v1/data/maestro/decision`.',
  }),
  sigPolicyUrl: optional(Type.String({ format: 'url' }), {
    env: 'MAESTRO_SIG_POLICY_URL',
    unset: 'none: required with MAESTRO_POLICY_MODE=sig',
    description: "Base URL of SIG for the `sig` PDP; Maestro posts `{purpose, authority, license, …}` to `<url>/policy/evaluate` and acts on `{decision, reason}`.",
  }),
  sigPolicyTokenFile: optional(text, {
    env: 'MAESTRO_SIG_POLICY_TOKEN_FILE',
    path: true,
    unset: 'none: no Authorization header',
    description: 'A file holding the bearer token the `sig` PDP presents to SIG, read once at start.',
  }),
  policyTimeoutMs: optional(Type.Integer({ minimum: 1, maximum: 60_000 }), {
    env: 'MAESTRO_POLICY_TIMEOUT_MS',
    unset: '500',
    description: 'Milliseconds the remote or `sig` PDP waits for OPA or SIG before the decision falls back to MAESTRO_POLICY_ON_UNAVAILABLE.',
  }),
  policyOnUnavailable: optional(Type.Record(Type.String(), Type.Union([Type.Literal('open'), Type.Literal('closed')])), {
    env: 'MAESTRO_POLICY_ON_UNAVAILABLE',
    decode: stringMap('namespace=open|closed pairs', (value) => value === 'open' || value === 'closed', 'sandbox=open,default=closed'),
    unset: 'closed in every namespace',
    description: 'Per namespace, what a decision is when the PDP cannot answer: `namespace=open|closed,…`; in the file, a mapping. `open` lets work run (and logs it); keep it for namespaces that must not stop when OPA does.',
  }),
  policyReuseMaxAgeMs: optional(Type.Integer({ minimum: 0, maximum: 86_400_000 }), {
    env: 'MAESTRO_POLICY_REUSE_MAX_AGE_MS',
    unset: '600000 (10 minutes)',
    description:
      'How old (ms) the decision made for a task at run start may be for the task\'s first attempt to act on it instead of asking the PDP again — only under the same policy bundle revision and on the same policy input; retries always ask. 0: every attempt asks. A new policy bundle reaches a running run\'s attempts at once either way (a decision of another revision is never reused); what this bounds is how long a decision outlives what the policy reads besides its input and bundle (the clock, say).',
  }),
  opaBin: optional(text, { env: 'MAESTRO_OPA_BIN', path: true, unset: '`opa` on PATH, then `.tools/bin/opa`', description: 'OPA binary for the policy scripts and tests.' }),
});

/** The PDP (see {@link policySection}). */
export type PolicySettings = SettingsOf<typeof policySection>;
