/**
 * `/audit`: the policy decision and audit log, for auditors.
 */
import { auditRoutes } from '../../policy/index.js';
import type { RouteHandler } from '../context.js';

/** `GET /audit?runId=&kind=&after=&limit=`: one page of records in chain order (role `auditor`). */
export const listAudit: RouteHandler = (context) => auditRoutes({ log: context.deps.auditLog }).listAudit(context);
