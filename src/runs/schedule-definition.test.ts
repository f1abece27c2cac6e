import { describe, expect, it } from 'vitest';
import { MaestroError } from '../errors/index.js';
import { scheduleDefinition, scheduledRunId, SCHEDULE_MAX_ENTRIES } from './schedule-definition.js';

const problems = (body: Parameters<typeof scheduleDefinition>[0]): string[] => {
  try {
    scheduleDefinition(body, 'nightly', 'data');
  } catch (error) {
    if (!(error instanceof MaestroError)) throw error;
    return (error.details?.errors as { path: string }[]).map((p) => p.path);
  }
  return [];
};

describe('scheduleDefinition', () => {
  it('applies the defaults, so an equal schedule written with or without them is the same definition', () => {
    const bare = scheduleDefinition({ workflowRef: 'etl@1.0.0', spec: { intervals: ['1h'] } }, 'nightly', 'data');
    expect(bare).toEqual({
      id: 'nightly',
      namespace: 'data',
      workflowRef: 'etl@1.0.0',
      params: {},
      spec: { cron: [], intervals: [{ every: '1h' }], timezone: 'UTC' },
      overlap: 'skip',
      catchupWindow: '1m',
      paused: false,
      note: '',
    });
    const explicit = scheduleDefinition(
      { workflowRef: 'etl@1.0.0', params: {}, spec: { cron: [], intervals: [{ every: '1h' }], timezone: 'UTC' }, overlap: 'skip', catchupWindow: '1m', paused: false, note: '' },
      'nightly',
      'data',
    );
    expect(explicit).toEqual(bare);
  });

  it('names every problem by path: targets, counts, the minimum interval, time zone, times, note, template syntax', () => {
    expect(problems({ spec: { cron: ['0 2 * * *'] } })).toEqual(['']);
    expect(problems({ workflowRef: 'etl', runbook: 'r', inputs: {}, params: {}, spec: {} })).toEqual(['', 'workflowRef', 'spec']);
    expect(problems({ runbook: 'r', params: {}, spec: { cron: ['x'] } })).toEqual(['params']);
    expect(problems({ workflowRef: 'etl@1', spec: { cron: Array.from({ length: SCHEDULE_MAX_ENTRIES + 1 }, () => '* * * * *') } })).toEqual(['spec.cron']);
    expect(problems({ workflowRef: 'etl@1', spec: { intervals: ['999ms', { every: '1s', offset: 'soon' }] } })).toEqual(['spec.intervals[0].every', 'spec.intervals[1].offset']);
    expect(problems({ workflowRef: 'etl@1', spec: { cron: ['@daily'], timezone: 'Nowhere/City', startAt: '2026-02-01T00:00:00Z', endAt: '2026-01-01T00:00:00Z', jitter: 'x' } })).toEqual([
      'spec.timezone',
      'spec.endAt',
      'spec.jitter',
    ]);
    expect(problems({ workflowRef: 'etl@1', spec: { cron: ['@daily'] }, catchupWindow: '5s', note: 'x'.repeat(1025) })).toEqual(['catchupWindow', 'note']);
    expect(problems({ workflowRef: 'etl@1', params: { a: ['${schedule.time'] }, spec: { cron: ['@daily'] } })).toEqual(['params.a[0]']);
  });
});

describe('scheduledRunId', () => {
  it('is one id per (namespace, schedule, scheduled time), whatever the time zone it is written in', () => {
    expect(scheduledRunId('data', 'nightly', '2026-12-06T02:00:00Z')).toBe('sched-data.nightly-20261206T020000.000Z');
    expect(scheduledRunId('data', 'nightly', '2026-12-06T03:00:00+01:00')).toBe('sched-data.nightly-20261206T020000.000Z');
    expect(scheduledRunId('data', 'nightly-2', '2026-12-06T02:00:00Z')).not.toBe(scheduledRunId('data.nightly', '2', '2026-12-06T02:00:00Z'));
  });
});

describe('runbooks/schedules/backfill-entity-resolver.yaml', () => {
  it('is a valid schedule whose window is the 24 hours before its scheduled time', async () => {
    const { readFile } = await import('node:fs/promises');
    const { parseScheduleManifest } = await import('../manifest/index.js');
    const { resolveTemplates } = await import('../ir/index.js');
    const file = new URL('../../runbooks/schedules/backfill-entity-resolver.yaml', import.meta.url);
    const { id, namespace, body } = parseScheduleManifest(await readFile(file, 'utf8'), 'backfill-entity-resolver.yaml');
    const definition = scheduleDefinition(body, id, namespace ?? 'default');
    expect(definition).toMatchObject({ id: 'nightly-entity-backfill', runbook: 'backfill-entity-resolver', spec: { cron: ['0 2 * * *'] }, overlap: 'skip' });
    const inputs = resolveTemplates(definition.inputs, { params: {}, tasks: {}, schedule: { id, time: '2026-01-06T02:00:00.000Z' } });
    expect(inputs).toMatchObject({ since: '2026-01-05T02:00:00Z', until: '2026-01-06T02:00:00.000Z' });
  });
});
