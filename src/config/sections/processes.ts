/**
 * Settings of the processes a platform team deploys, `maestro worker` and `maestro api`: how long
 * each drains on SIGTERM before it exits.
 */
import { Type } from '@sinclair/typebox';
import { section, setting, type SettingsOf } from '../setting.js';

/** At most an hour: a drain longer than that is a stuck process, not a drain. */
const drainMs = Type.Integer({ minimum: 0, maximum: 3_600_000 });

/** The drain of `maestro worker` and `maestro api` on SIGTERM. */
export const processesSection = section('processes', 'Processes: how `maestro worker` and `maestro api` drain on SIGTERM (a second SIGTERM or SIGINT exits at once).', {
  workerDrainTimeoutMs: setting(drainMs, {
    env: 'MAESTRO_WORKER_DRAIN_TIMEOUT_MS',
    default: 30_000,
    description: 'How long a worker told to stop lets its in-flight task attempts and workflow tasks finish, having stopped polling; an attempt still running then is cancelled and handed back to Temporal, which runs it again on another worker. Keep it below the orchestrator\'s grace period (Kubernetes `terminationGracePeriodSeconds`, compose `stop_grace_period`).',
  }),
  apiDrainDelayMs: setting(drainMs, {
    env: 'MAESTRO_API_DRAIN_DELAY_MS',
    default: 0,
    description: 'How long an API told to stop keeps accepting connections while its `/readyz` answers 503, so that a load balancer takes it out of rotation before it refuses connections (a few seconds behind a load balancer that probes `/readyz`, or on Kubernetes).',
  }),
  apiDrainTimeoutMs: setting(drainMs, {
    env: 'MAESTRO_API_DRAIN_TIMEOUT_MS',
    default: 10_000,
    description: 'How long an API that stopped accepting connections lets in-flight requests finish before closing their connections (Server-Sent Event streams end at once; their clients reconnect to another replica).',
  }),
});

/** Drain settings of the worker and the API (see {@link processesSection}). */
export type ProcessesSettings = SettingsOf<typeof processesSection>;
