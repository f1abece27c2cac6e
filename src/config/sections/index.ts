/**
 * Every section of Maestro's settings, in the order they load and are documented. A setting's
 * computed default may read settings of earlier sections (`artifactDir` follows `dataDir`).
 */
import { authSection, clientSection, runsSection, serverSection, streamsSection, type AuthSettings, type ClientSettings, type RunsSettings, type ServerSettings, type StreamsSettings } from './api.js';
import { budgetsSection, type BudgetsSettings } from './budgets.js';
import { codecSection, type CodecSettings } from './codec.js';
import { egressSection, type EgressSettings } from './egress.js';
import { messageTriggersSection, type MessageTriggersSettings } from './message-triggers.js';
import { metricsSection, type MetricsSettings } from './metrics.js';
import { policySection, type PolicySettings } from './policy.js';
import { processesSection, type ProcessesSettings } from './processes.js';
import { provenanceSection, type ProvenanceSettings } from './provenance.js';
import { releaseSection, type ReleaseSettings } from './release.js';
import { imagesSection, runnersSection, type ImagesSettings, type RunnersSettings } from './runners.js';
import { secretsSection, type SecretsSettings } from './secrets.js';
import { logsSection, storeSection, tasksSection, type LogsSettings, type StoreSettings, type TasksSettings } from './state.js';
import { devServerSection, temporalSection, type DevServerSettings, type TemporalSettings } from './temporal.js';
import { tracingSection, type TracingSettings } from './tracing.js';

export * from './api.js';
export * from './budgets.js';
export * from './codec.js';
export * from './egress.js';
export * from './message-triggers.js';
export * from './metrics.js';
export * from './policy.js';
export * from './processes.js';
export * from './provenance.js';
export * from './release.js';
export * from './runners.js';
export * from './secrets.js';
export * from './state.js';
export * from './temporal.js';
export * from './tracing.js';

/** The sections, in load order. */
export const SECTIONS = [
  temporalSection,
  devServerSection,
  storeSection,
  serverSection,
  streamsSection,
  authSection,
  clientSection,
  runsSection,
  logsSection,
  tasksSection,
  runnersSection,
  imagesSection,
  egressSection,
  secretsSection,
  codecSection,
  policySection,
  provenanceSection,
  releaseSection,
  messageTriggersSection,
  tracingSection,
  budgetsSection,
  metricsSection,
  processesSection,
] as const;

/**
 * All of Maestro's settings, as loaded: every section's settings side by side (their keys are
 * unique, and are the config file's keys). Entry points (the CLI, `maestro dev`, the API server,
 * the worker's `main`) hold it; modules take only their sections' types.
 */
export type Config = TemporalSettings &
  DevServerSettings &
  StoreSettings &
  ServerSettings &
  StreamsSettings &
  AuthSettings &
  ClientSettings &
  RunsSettings &
  LogsSettings &
  TasksSettings &
  RunnersSettings &
  ImagesSettings &
  EgressSettings &
  SecretsSettings &
  CodecSettings &
  PolicySettings &
  ProvenanceSettings &
  ReleaseSettings &
  MessageTriggersSettings &
  TracingSettings &
  BudgetsSettings &
  MetricsSettings &
  ProcessesSettings;
