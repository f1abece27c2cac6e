/**
 * The one egress guard: every connection a task or runner opens on behalf of a run is checked here
 * at connect time, against the run's namespace allow-list (`MAESTRO_EGRESS_ALLOW`) and Maestro's
 * own endpoints, and made to the checked address. Imports only `src/errors` and Node, so tasks,
 * runners and the catalog can all use it.
 */
export { EgressGuard, connectionCounter, egressRefusalOf, type CheckedTarget, type ConnectionCount, type GuardedSocketOptions } from './guard.js';
export { maestroEndpoints, type MaestroEndpointSettings } from './endpoints.js';
export {
  ContainerNetworkDeniedError,
  EgressDeniedError,
  EgressPolicy,
  INFRASTRUCTURE_LABEL,
  type EgressAllowList,
  type EgressDecision,
  type EgressPolicyOptions,
} from './policy.js';
export { createEgressAgent, type EgressAgentOptions } from './undici-agent.js';
export { CidrError, isCidr, parseEndpoint, type Endpoint } from './ip-ranges.js';
