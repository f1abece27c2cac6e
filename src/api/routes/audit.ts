/**
 * `/audit`: the policy decision and audit log, for auditors.
 */
import { auditRoutes } from '../../policy/index.js';
import type { RouteHandler } from '../context.js';

/** `GET /audit?runId=&kind=&from=&to=&after=&limit=`: one page of records in chain order (role `auditor`). */
export const listAudit: RouteHandler = (context) => auditRoutes({ log: context.deps.auditLog }).listAudit(context);

/** `GET /audit/verification`: the whole chain walked and its hashes recomputed (role `auditor`). */
export const verifyAuditChain: RouteHandler = (context) => auditRoutes({ log: context.deps.auditLog }).verifyAuditChain(context);
