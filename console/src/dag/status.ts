/**
 * How the DAG view shows a task's status: a colour, an icon and a word, so that colour is never
 * the only signal.
 */
import type { DagTask, TaskStatus } from './types.js';

/** A status as drawn: the API's statuses, plus `CACHED` for a task served from the task cache. */
export type DisplayStatus = TaskStatus | 'CACHED';

/** The look of one {@link DisplayStatus}. */
export interface StatusLook {
  /** The word shown next to the icon and read by screen readers. */
  label: string;
  /** A text symbol that tells the statuses apart without colour. */
  icon: string;
  /** The accent colour: at least 4.5:1 against white, so text in it stays readable. */
  colour: string;
  /** A light tint of the accent for the node's background. */
  tint: string;
}

/** Every display status, in the order the legend lists them. */
export const DISPLAY_STATUSES: readonly DisplayStatus[] = [
  'PENDING',
  'RUNNING',
  'WAITING',
  'SUCCEEDED',
  'CACHED',
  'FAILED',
  'CANCELLED',
  'SKIPPED',
];

/** The look of each display status. */
export const STATUS_LOOKS: Readonly<Record<DisplayStatus, StatusLook>> = {
  PENDING: { label: 'Pending', icon: '○', colour: '#4b5563', tint: '#f3f4f6' },
  RUNNING: { label: 'Running', icon: '▶', colour: '#1d4ed8', tint: '#dbeafe' },
  WAITING: { label: 'Waiting (approval or signal)', icon: '‖', colour: '#b45309', tint: '#fef3c7' },
  SUCCEEDED: { label: 'Succeeded', icon: '✓', colour: '#15803d', tint: '#dcfce7' },
  CACHED: { label: 'Cached', icon: '↺', colour: '#0f766e', tint: '#ccfbf1' },
  FAILED: { label: 'Failed', icon: '✕', colour: '#b91c1c', tint: '#fee2e2' },
  CANCELLED: { label: 'Cancelled', icon: '⊘', colour: '#6b21a8', tint: '#f3e8ff' },
  SKIPPED: { label: 'Skipped', icon: '↷', colour: '#57534e', tint: '#fafaf9' },
};

/** The status a task reports: `PENDING` when it has none (a DAG without a run). */
export function taskStatus(task: DagTask): TaskStatus {
  return task.status ?? 'PENDING';
}

/** The status a task is drawn with: `CACHED` for a succeeded task served from the cache. */
export function displayStatus(task: DagTask): DisplayStatus {
  const status = taskStatus(task);
  return status === 'SUCCEEDED' && task.cached ? 'CACHED' : status;
}
