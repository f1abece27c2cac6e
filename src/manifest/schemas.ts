/**
 * The JSON Schemas of `contracts/`, compiled once with ajv (JSON Schema 2020-12, strict).
 * Validators are type guards: a value that passes is narrowed to the matching manifest type.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import irSchema from '../../contracts/ir.schema.json' with { type: 'json' };
import runbookSchema from '../../contracts/runbook.schema.json' with { type: 'json' };
import triggerSchema from '../../contracts/trigger.schema.json' with { type: 'json' };
import workflowSchema from '../../contracts/workflow.schema.json' with { type: 'json' };
import type { ParameterManifest, RunbookManifest, TaskManifest, TriggerManifest, WorkflowManifest } from './types.js';

export { irSchema, runbookSchema, triggerSchema, workflowSchema };

/**
 * A new ajv instance with Maestro's options (2020-12, strict, every error, errors carrying their
 * data and schema for messages) and the contracts registered by their `$id`.
 */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });
  addFormats.default(ajv);
  ajv.addSchema([workflowSchema, runbookSchema, irSchema, triggerSchema]);
  return ajv;
}

/** Compiled validators; each narrows its argument when it returns true. */
export interface Validators {
  workflow: ValidateFunction<WorkflowManifest>;
  runbook: ValidateFunction<RunbookManifest>;
  trigger: ValidateFunction<TriggerManifest>;
  /** One task (`spec.tasks[]`), to check tasks one by one when the manifest as a whole is invalid. */
  task: ValidateFunction<TaskManifest>;
  /** One parameter (`spec.parameters[]`, `spec.inputs[]`). */
  parameter: ValidateFunction<ParameterManifest>;
}

let validators: Validators | undefined;

/** The validators, compiled on first use. */
export function getValidators(): Validators {
  if (!validators) {
    const ajv = createAjv();
    validators = {
      workflow: ajv.compile<WorkflowManifest>({ $ref: workflowSchema.$id }),
      runbook: ajv.compile<RunbookManifest>({ $ref: runbookSchema.$id }),
      trigger: ajv.compile<TriggerManifest>({ $ref: triggerSchema.$id }),
      task: ajv.compile<TaskManifest>({ $ref: `${workflowSchema.$id}#/$defs/task` }),
      parameter: ajv.compile<ParameterManifest>({ $ref: `${workflowSchema.$id}#/$defs/parameter` }),
    };
  }
  return validators;
}
