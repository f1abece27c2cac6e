import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinCatalog } from '../../src/tasks/index.js';
import { parseManifest, type RunbookManifest } from '../../src/manifest/index.js';
import type { Engine } from '../helpers/engine.js';

const RUNBOOKS = join(import.meta.dirname, '..', '..', 'runbooks');

/** A runbook of runbooks/ and the workflow manifest its `workflowRef` names. */
export interface LoadedRunbook {
  runbook: RunbookManifest;
  /** The workflow's YAML, from runbooks/workflows/<name>.yaml, checked to be the pinned version. */
  workflowYaml: string;
}

/** Loads `runbooks/<name>.yaml` and its pinned workflow. */
export function loadRunbook(name: string): LoadedRunbook {
  const file = join(RUNBOOKS, `${name}.yaml`);
  const manifest = parseManifest(readFileSync(file, 'utf8'), file, { catalog: builtinCatalog });
  if (manifest.kind !== 'Runbook') throw new Error(`${file} is not a Runbook`);
  const [workflowName = '', version] = manifest.spec.workflowRef.split('@');
  const workflowFile = join(RUNBOOKS, 'workflows', `${workflowName}.yaml`);
  const workflowYaml = readFileSync(workflowFile, 'utf8');
  const workflow = parseManifest(workflowYaml, workflowFile, { catalog: builtinCatalog });
  if (workflow.kind !== 'Workflow' || workflow.metadata.version !== version) {
    throw new Error(`${workflowFile} is not workflow ${manifest.spec.workflowRef}`);
  }
  return { runbook: manifest, workflowYaml };
}

/**
 * What `POST /runbooks/trigger` does once the caller is allowed and the trigger approved: the
 * runbook's inputs (defaults applied) become the workflow's params, and the run starts.
 */
export function triggerRunbook(engine: Engine, name: string, inputs: Record<string, unknown>): Promise<string> {
  const { runbook, workflowYaml } = loadRunbook(name);
  const params: Record<string, unknown> = {};
  for (const input of runbook.spec.inputs) {
    const value = inputs[input.name] ?? input.default;
    if (value !== undefined) params[input.name] = value;
  }
  const unknown = Object.keys(inputs).filter((key) => !runbook.spec.inputs.some((input) => input.name === key));
  if (unknown.length > 0) throw new Error(`runbook ${name} has no inputs ${unknown.join(', ')}`);
  return engine.start(workflowYaml, params);
}
