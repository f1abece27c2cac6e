/**
 * Policy: Maestro asks a policy decision point before a run starts and before each task executes,
 * and records every decision in the hash-chained audit log. Three interchangeable PDPs: embedded
 * (the Rego in policies/ compiled to WebAssembly) and remote (an OPA server), chosen by config, and
 * SIG's own policy service (`POST /policy/evaluate`) for deployments where SIG decides.
 */
export type { PolicyDecision, PolicyDecisionPoint, PolicyInput, PolicyObligations, PolicyStage } from './types.js';
export { buildPolicyInput, canonicalInput, inputDigest, taskPolicyInput, type PolicyInputSource } from './input.js';
export type { TaskPolicyContext } from '../ir/index.js';
export { createEmbeddedPdp, type EmbeddedPdpOptions } from './embedded-pdp.js';
export { createRemotePdp, type RemotePdpOptions } from './remote-pdp.js';
export { createSigPdp, readSigAnswer, sigPolicyRequest, type SigPdpOptions, type SigPolicyRequest } from './sig-pdp.js';
export { createPdp, type PdpConfig } from './create-pdp.js';
export { policyReady } from './readiness.js';
export { DECISION_ENTRYPOINT } from './decision.js';
export { readWasmBundle, type WasmBundle } from './bundle.js';
export { defaultBundlePath, defaultServerBundlePath, resolveOpaBin } from './paths.js';
export { createPolicyGate, type Admission, type PolicyGate, type PolicyGateOptions, type StartDecisionOffer } from './gate.js';
export { checkRunStart, runStartDenial, runStartInputs, taskDecisionIds, type RunStartDecision, type RunStartSource, type TaskStartDecision } from './run-start.js';
export {
  AUDITOR_ROLE,
  appendAuditEvent,
  auditRoutes,
  describeChainReport,
  listAuditRecords,
  type AuditEvent,
  type AuditListQuery,
  type AuditRouteContext,
} from './audit.js';
export { AUDIT_CHECKPOINT_PREDICATE, anchorAuditLog, checkAuditAnchor, describeAnchorCheck, type AnchorCheck, type AuditCheckpoint } from './audit-anchor.js';
