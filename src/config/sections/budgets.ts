/**
 * Settings of usage and budgets: the cost model that prices each task attempt and run in the usage
 * ledger, each namespace's budget per calendar period and what happens when it is crossed, and
 * how long the ledger keeps its rows.
 */
import { Type, type Static } from '@sinclair/typebox';
import { NAMESPACE_PATTERN, duration, jsonOrValue } from '../decode.js';
import { SettingValueError, optional, section, setting, type SettingsOf } from '../setting.js';

/** A price: a finite number ≥ 0, in the cost model's unit. */
const Price = Type.Number({ minimum: 0, maximum: 1e12 });

/** The cost model's schema. */
const CostModelSchema = Type.Object(
  {
    /** Price per second of an attempt, by resource class (the runner: local, container, k8s, serverless). */
    perSecond: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$' }), Price)),
    /** Price per connection a task opens through the egress guard. */
    perConnectorCall: Type.Optional(Price),
    /** Price of a run, charged when it is accepted. */
    perRun: Type.Optional(Price),
  },
  { additionalProperties: false },
);

/** How the cost model prices usage; a missing price is 0. */
export type CostModel = Static<typeof CostModelSchema>;

/** One namespace's budget. */
const BudgetSchema = Type.Object(
  {
    /** The calendar period (UTC) the limit applies to: a day, an ISO week from Monday, a month. */
    period: Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')]),
    /** Most the namespace may spend in one period, in the cost model's unit. */
    limit: Price,
    /**
     * What a task that crosses the budget does: `fail` — its attempt fails with
     * `BUDGET_EXCEEDED`, not retried; `pause` — the run pauses until an operator resumes it.
     */
    onExceed: Type.Optional(Type.Union([Type.Literal('fail'), Type.Literal('pause')])),
  },
  { additionalProperties: false },
);

/** One namespace's budget (see `MAESTRO_BUDGETS`). */
export type Budget = Static<typeof BudgetSchema>;

function costModel(raw: unknown): unknown {
  const value = jsonOrValue(raw);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new SettingValueError('must be a JSON object such as {"perSecond":{"local":0.0001},"perConnectorCall":0.00001,"perRun":0.001}');
  return value;
}

function budgets(raw: unknown): unknown {
  const value = jsonOrValue(raw);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new SettingValueError('must map namespaces to budgets, e.g. {"team-a":{"period":"month","limit":100,"onExceed":"pause"}}');
  for (const namespace of Object.keys(value)) {
    if (!NAMESPACE_PATTERN.test(namespace)) throw new SettingValueError(`has an invalid namespace name "${namespace}"`);
  }
  return value;
}

/** Usage and budgets. */
export const budgetsSection = section('budgets', 'Usage and budgets: the cost model that prices task attempts and runs in the usage ledger, budgets per namespace, and the ledger\'s retention.', {
  costModel: setting(CostModelSchema, {
    env: 'MAESTRO_COST_MODEL',
    decode: costModel,
    default: {},
    message: 'must be {"perSecond":{"<resource class>":<price>},"perConnectorCall":<price>,"perRun":<price>} with prices ≥ 0',
    description:
      'Prices of usage, JSON (in the file, a mapping): `perSecond` by resource class (the runner: local, container, k8s, serverless), `perConnectorCall` (each connection a task opens through the egress guard), `perRun` (charged when a run is accepted), e.g. `{"perSecond":{"local":0.0001,"container":0.001},"perConnectorCall":0.00001,"perRun":0.001}`. A missing price is 0; the unit is yours (e.g. USD).',
  }),
  budgets: setting(Type.Record(Type.String(), BudgetSchema), {
    env: 'MAESTRO_BUDGETS',
    decode: budgets,
    default: {},
    message: 'must map namespaces to {"period":"day|week|month","limit":<number ≥ 0>,"onExceed":"fail|pause"}',
    description:
      'Budget per namespace, JSON (in the file, a mapping): the UTC calendar `period` (day, week from Monday, month), the `limit` in the cost model\'s unit, and `onExceed` (`fail`, the default: the task that crosses it fails with `BUDGET_EXCEEDED`; `pause`: its run pauses until resumed), e.g. `{"team-a":{"period":"month","limit":100,"onExceed":"pause"}}`. A start that would exceed it is refused (403 `BUDGET_EXCEEDED`). A namespace not listed has no budget.',
  }),
  usageRetentionMs: optional(Type.Integer({ minimum: 1 }), {
    env: 'MAESTRO_USAGE_RETENTION',
    decode: duration,
    unset: 'kept until pruned',
    description: 'Usage ledger rows (task attempts, finished runs) that ended longer ago than this (a duration such as `400d`; keep it longer than the longest budget period) are deleted by the API process, once an hour.',
  }),
});

/** Usage and budgets (see {@link budgetsSection}). */
export type BudgetsSettings = SettingsOf<typeof budgetsSection>;
