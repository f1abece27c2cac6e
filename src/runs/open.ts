/**
 * The launch context of a process other than the API (the CLI): the same store, audit log and
 * policy decision point the API opens from the same settings, so a run started there is decided,
 * recorded and admitted exactly like one started through the API.
 */
import type { Client } from '@temporalio/client';
import { payloadCodec } from '../codec/index.js';
import type { BudgetsSettings, CodecSettings, PolicySettings, RunsSettings, StoreSettings, TemporalSettings } from '../config/index.js';
import { createPdp, createPolicyGate } from '../policy/index.js';
import { openAuditLog, openStore, type AuditLog, type Store } from '../store/index.js';
import type { LaunchContext } from './launch.js';

/** A {@link LaunchContext} that owns what it opened. */
export interface OpenLaunchContext extends LaunchContext {
  /** Closes the PDP, the audit log and the store. */
  close(): Promise<void>;
}

/** The settings a launch context is opened with: the store, admission, the PDP, the payload codec, the task queue. */
export type LaunchContextSettings = Pick<StoreSettings, 'dataDir' | 'databaseUrl'> & RunsSettings & PolicySettings & CodecSettings & Pick<TemporalSettings, 'taskQueue'> & Pick<BudgetsSettings, 'costModel' | 'budgets'>;

/**
 * Opens the store, the audit log and the policy decision point `config` names (embedded, or the
 * OPA server with `MAESTRO_POLICY_MODE=remote`) for starting runs with `client`.
 */
export async function openLaunchContext(config: LaunchContextSettings, client: Client): Promise<OpenLaunchContext> {
  const database = { dataDir: config.dataDir, ...(config.databaseUrl === undefined ? {} : { databaseUrl: config.databaseUrl }) };
  const opened: { close(): Promise<void> }[] = [];
  const close = async (): Promise<void> => {
    for (const resource of opened.reverse()) await resource.close();
  };
  try {
    const store: Store = await openStore(database);
    opened.push(store);
    const auditLog: AuditLog = await openAuditLog(database);
    opened.push(auditLog);
    const pdp = await createPdp(config);
    opened.push(pdp);
    return {
      client,
      store,
      auditLog,
      taskQueue: config.taskQueue,
      runLimits: config.namespaceRunLimits ?? {},
      payloadCodec: payloadCodec(config),
      policy: createPolicyGate({ pdp, log: auditLog }),
      costModel: config.costModel,
      budgets: config.budgets,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
