/**
 * Who is calling, as every route sees it after authentication.
 */

/** An authenticated caller. */
export interface Principal {
  /** Shown as the approver, `startedBy`, `createdBy`. */
  name: string;
  /** API roles (`admin`, `operator`) and any roles manifests name (approvers, runbook allow-lists). */
  roles: readonly string[];
  /** Maestro namespaces the caller may see and touch; `*` stands for all. */
  namespaces: readonly string[];
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
