/**
 * `POST /tasks/secrets`: a remote (e.g. Python) task resolves a secret during its attempt. The
 * caller is its worker (role `worker`); what it may read is decided by the attempt's grant, which
 * the Maestro worker minted when it dispatched the attempt (`prepareRemoteTask`): only the grant's
 * namespace's secrets, under that namespace's `MAESTRO_SECRETS` scopes and host bindings, until the
 * grant expires or its run ends. Each resolution, given or refused, is in the audit log, never the value.
 */
import { MaestroError } from '../../errors/index.js';
import { describeRun } from '../../runs/index.js';
import { verifyTaskGrant, type TaskGrantClaims } from '../../secrets/index.js';
import { auditRecordId } from '../../store/index.js';
import { caller, type RouteContext, type RouteHandler } from '../context.js';
import { assertNamespace } from './access.js';

/** The body the document's `TaskSecretRequest` schema checked. */
interface TaskSecretRequest {
  grant: string;
  name: string;
  host?: string;
}

/** The audit kind of a resolution through a grant. */
export const SECRET_AUDIT_KIND = 'secret';

async function audit(context: RouteContext, claims: TaskGrantClaims, body: TaskSecretRequest, refused: MaestroError | undefined): Promise<void> {
  try {
    await context.deps.auditLog.append({
      kind: SECRET_AUDIT_KIND,
      id: auditRecordId(),
      time: context.deps.clock().toISOString(),
      namespace: claims.namespace,
      runId: claims.runId,
      taskId: claims.taskId,
      actor: caller(context).subject,
      result: refused === undefined ? 'allow' : 'deny',
      reasons: refused === undefined ? [] : [`${refused.code}: ${refused.message}`],
      details: { secret: body.name, ...(body.host === undefined ? {} : { host: body.host }), task: claims.task, attempt: claims.attempt },
    });
  } catch (error) {
    throw new MaestroError('AUDIT_UNAVAILABLE', `the audit log cannot record this resolution of secret "${body.name}", so it was not done; try again later`, { cause: error });
  }
}

/** `POST /tasks/secrets`: the value of a secret the grant's attempt may use, or 401/403/404 problem+json. */
export const resolveTaskSecret: RouteHandler = async (context) => {
  const body = context.body as TaskSecretRequest;
  const claims = verifyTaskGrant(context.deps.taskGrantKeys, body.grant, context.deps.clock().getTime());
  // A worker token for some namespaces serves only their attempts, whatever grant it holds.
  assertNamespace(caller(context), claims.namespace);
  // A grant outlives its run only until its expiry; a run that ended (or never was, in this namespace) grants nothing more.
  const run = await describeRun(context.deps.client, claims.runId);
  if (run === undefined || run.closed || run.namespace !== claims.namespace) {
    throw new MaestroError('GRANT_EXPIRED', `the grant's run ${claims.runId} is not running in namespace ${claims.namespace}`);
  }
  let value: string;
  try {
    value = await context.deps.secrets(body.name, { namespace: claims.namespace, ...(body.host === undefined ? {} : { host: body.host }) });
  } catch (error) {
    // The scoped resolver says "not set in <source>" as a configuration error; to the task it is a missing secret.
    const refused = error instanceof MaestroError && error.code === 'CONFIG_INVALID' ? new MaestroError('SECRET_NOT_FOUND', error.message) : error;
    if (refused instanceof MaestroError) await audit(context, claims, body, refused);
    throw refused;
  }
  await audit(context, claims, body, undefined);
  return { status: 200, body: { value } };
};
