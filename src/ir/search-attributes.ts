/**
 * Custom search attributes set on every run; `GET /runs` filters on them through Temporal
 * visibility. The dev server registers them at start (`maestro dev`, the test set-up).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Workflow name (`metadata.name`). */
export const MAESTRO_WORKFLOW = defineSearchAttributeKey('MaestroWorkflow', SearchAttributeType.KEYWORD);
/** Workflow version (`metadata.version`). */
export const MAESTRO_VERSION = defineSearchAttributeKey('MaestroVersion', SearchAttributeType.KEYWORD);
/** IR digest `sha256:<hex>`. */
export const MAESTRO_DIGEST = defineSearchAttributeKey('MaestroDigest', SearchAttributeType.KEYWORD);
/** Maestro namespace of the run. */
export const MAESTRO_NAMESPACE = defineSearchAttributeKey('MaestroNamespace', SearchAttributeType.KEYWORD);
/** Run status as the user sees it: QUEUED (for its concurrency key) | RUNNING | WAITING | PAUSED | SUCCEEDED | FAILED | CANCELLED. */
export const MAESTRO_STATUS = defineSearchAttributeKey('MaestroStatus', SearchAttributeType.KEYWORD);

/** Every custom search attribute, for registration with the server. */
export const SEARCH_ATTRIBUTES = [MAESTRO_WORKFLOW, MAESTRO_VERSION, MAESTRO_DIGEST, MAESTRO_NAMESPACE, MAESTRO_STATUS];

/**
 * Set by Temporal on a workflow a Schedule started: the time the action was scheduled for (not
 * when it started; for a backfill, the past time). Built in: no registration needed.
 */
export const TEMPORAL_SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
