/**
 * Who is calling, as every route sees it after authentication.
 */
import type { Principal } from '../../ir/index.js';

/**
 * An API caller after authentication: the {@link Principal} a run started by it acts for, plus how
 * the API authenticated it. `via` stays in the API: a run carries only the {@link Principal}
 * fields (see `runPrincipal`).
 */
export interface AuthenticatedPrincipal extends Principal {
  /** How the caller was authenticated. */
  via: 'token' | 'jwt' | 'dev';
}

/** The role that holds every other role. */
export const ADMIN_ROLE = 'admin';

/** True when the principal holds `role`, or is an admin. */
export function hasRole(principal: Principal, role: string): boolean {
  return principal.roles.includes(role) || principal.roles.includes(ADMIN_ROLE);
}

/** True when the principal may see and touch runs of `namespace`. */
export function inNamespace(principal: Principal, namespace: string): boolean {
  return principal.namespaces.includes('*') || principal.namespaces.includes(namespace);
}
