/**
 * The invalid-manifest corpus: each file under test/manifests/invalid/ makes one realistic
 * mistake, and Maestro must report exactly one issue for it, at the right line, column and path,
 * with a message that says what is wrong. Every manifest under test/manifests/valid/ and runbooks/
 * must parse (test/examples.test.ts compiles examples/ against the catalog with the example tasks).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinCatalog } from '../src/tasks/index.js';
import { ManifestError, type ManifestIssue } from '../src/errors/index.js';
import { parseManifest } from '../src/manifest/index.js';

const INVALID = join(import.meta.dirname, 'manifests', 'invalid');
const ROOT = join(import.meta.dirname, '..');

/** Every YAML or JSON file under the given folders of the repository. */
function manifestsUnder(...folders: string[]): string[] {
  return folders.flatMap((folder) =>
    readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
      .filter((name) => /\.(ya?ml|json)$/.test(name))
      .map((name) => join(folder, name)),
  );
}

/** file (without .yaml), line, column, path, a substring of the message. */
type Expectation = [file: string, line: number, column: number, path: string, message: string];

const CASES: Expectation[] = [
  // YAML syntax
  ['yaml-unclosed-quote', 5, 16, '', 'Missing closing "quote'],
  ['yaml-tab-indentation', 17, 1, '', 'Tabs are not allowed as indentation; indent with spaces'],
  ['yaml-duplicate-key', 14, 7, '', 'Map keys must be unique'],
  ['yaml-unquoted-expression-in-flow-map', 17, 20, '', 'put a value holding "${...}" in quotes'],
  ['yaml-unquoted-colon-in-expression', 18, 13, '', 'put a value holding "${...}" in quotes'],
  ['empty-file', 1, 1, '', 'the file is empty'],
  // envelope and metadata
  ['wrong-api-version', 1, 13, 'apiVersion', 'must be "maestro/v1", got "maestro/v2"'],
  ['wrong-kind', 2, 7, 'kind', 'unknown kind "Workflw": must be "Workflow", "Runbook" or "Trigger" (did you mean "Workflow"?)'],
  ['missing-metadata-name', 3, 1, 'metadata', 'must have required property "name"'],
  ['version-not-a-string', 5, 12, 'metadata.version', 'must be a string, got 1 (put it in quotes)'],
  ['bad-workflow-name', 4, 9, 'metadata.name', '"Corpus_Workflow" is not a valid name'],
  // policy
  ['missing-policy', 6, 1, 'spec', 'must have required property "policy"'],
  ['policy-missing-license', 7, 3, 'spec.policy', 'must have required property "license"'],
  // workflow settings
  ['bad-workflow-timeout', 11, 12, 'spec.timeout', '"1w" is not a duration'],
  ['negative-max-parallel', 11, 16, 'spec.maxParallel', 'must be >= 1, got -1'],
  ['bad-failure-policy', 11, 18, 'spec.failurePolicy', 'got "fail-fast" (did you mean "failFast"?)'],
  ['circuit-breaker-zero', 11, 34, 'spec.circuitBreaker.maxFailures', 'must be >= 1, got 0'],
  // tasks: shape
  ['typo-tasks', 11, 3, 'spec.task', 'unknown field "task" (did you mean "tasks"?)'],
  ['typo-needs', 17, 7, 'spec.tasks[1].need', 'unknown field "need" (did you mean "needs"?)'],
  ['empty-tasks', 11, 10, 'spec.tasks', 'must not be empty'],
  ['bad-task-id', 12, 11, 'spec.tasks[0].id', '"First Task" is not a valid task id'],
  ['bad-duration', 15, 16, 'spec.tasks[0].timeout', '"5 minutes" is not a duration: write a number and a unit'],
  ['bad-runs-on', 15, 15, 'spec.tasks[0].runsOn', 'must be one of "local", "container", "k8s", "serverless", got "lambda"'],
  ['retry-jitter-above-one', 17, 17, 'spec.tasks[0].retry.jitter', 'must be <= 1, got 1.5'],
  ['retry-zero-attempts', 15, 29, 'spec.tasks[0].retry.maxAttempts', 'must be >= 1, got 0'],
  ['retry-initial-above-max', 17, 26, 'spec.tasks[0].retry.initialInterval', 'initialInterval 2m is longer than maxInterval 30s'],
  // tasks: approval gates
  ['approval-zero-min-approvals', 14, 59, 'spec.tasks[0].with.minApprovals', 'must be an integer of at least 1, got 0: with fewer the gate would pass without anyone approving'],
  ['approval-no-approvers', 15, 20, 'spec.tasks[0].with.approvers', 'must name at least one role'],
  ['signal-schema-not-compiling', 17, 17, 'spec.tasks[0].with.schema', 'does not compile: schema is invalid: data/required must be array'],
  // tasks: uses
  ['bad-uses-format', 13, 13, 'spec.tasks[0].uses', '"wait.sleep" is not a task reference: write group/name@version'],
  ['unknown-task', 13, 13, 'spec.tasks[0].uses', 'unknown task "tasks/wait.nap"'],
  ['unsatisfiable-version-range', 13, 13, 'spec.tasks[0].uses', 'no version of "tasks/wait.sleep" satisfies ^2.0.0'],
  ['invalid-version-range', 13, 13, 'spec.tasks[0].uses', '"latest" is not a semver version or range'],
  // tasks: graph
  ['duplicate-task-id', 15, 11, 'spec.tasks[1].id', 'duplicate task id "first" (first declared at line 12)'],
  ['unknown-needs', 17, 15, 'spec.tasks[1].needs[0]', 'task "second" needs unknown task "frist" (did you mean "first"?)'],
  ['duplicate-needs', 17, 22, 'spec.tasks[1].needs[1]', '"first" is listed twice'],
  ['self-need', 14, 15, 'spec.tasks[0].needs[0]', 'task "first" needs itself'],
  ['cycle-two-tasks', 14, 15, 'spec.tasks[0].needs[0]', 'dependency cycle: build → test → build'],
  ['cycle-three-tasks', 14, 15, 'spec.tasks[0].needs[0]', 'dependency cycle: extract → load → transform → extract'],
  // parameters
  ['bad-param-type', 9, 13, 'spec.parameters[0].type', 'got "int" (did you mean "integer"?)'],
  ['bad-param-name', 8, 13, 'spec.parameters[0].name', '"dry-run" is not a valid parameter name'],
  ['param-default-wrong-type', 10, 16, 'spec.parameters[0].default', 'default must be an integer, got "three"'],
  ['param-default-not-in-enum', 11, 16, 'spec.parameters[0].default', 'default must be one of "dev", "staging", "prod", got "production"'],
  ['param-enum-value-wrong-type', 10, 20, 'spec.parameters[0].enum[2]', 'must be an integer, got "four"'],
  ['param-datetime-default', 10, 16, 'spec.parameters[0].default', 'must be an RFC 3339 date-time'],
  ['duplicate-param', 12, 13, 'spec.parameters[2].name', 'duplicate parameter "env" (first declared at line 8)'],
  // expressions: references
  ['undeclared-param', 18, 15, 'spec.tasks[0].with.ms', 'undeclared parameter "delay_ms"'],
  ['output-of-downstream-task', 15, 37, 'spec.tasks[0].with.url', 'task "store" is not upstream of "fetch"'],
  ['output-of-unknown-task', 20, 17, 'spec.tasks[1].with.body', 'unknown task "fetched" (did you mean "fetch"?)'],
  ['output-field-typo', 20, 17, 'spec.tasks[1].with.body', 'tasks.fetch has no field "output"'],
  ['item-outside-foreach', 15, 37, 'spec.tasks[0].with.url', '"item" is only defined in a task with forEach'],
  ['index-in-foreach-items', 15, 19, 'spec.tasks[0].forEach.items', '"index" is not defined in forEach.items'],
  ['cel-undeclared-identifier', 17, 15, 'spec.tasks[0].when', 'undeclared reference "env"'],
  // expressions: syntax and form
  ['cel-syntax-error-in-when', 17, 26, 'spec.tasks[0].when', 'CEL syntax error in "params.env = \'prod\'"'],
  ['unterminated-template', 18, 35, 'spec.tasks[0].with.url', 'unterminated "${": missing "}"'],
  ['when-two-expressions', 17, 13, 'spec.tasks[0].when', 'must be exactly one expression "${...}"'],
  ['when-without-braces', 17, 13, 'spec.tasks[0].when', 'is not an expression: write exactly one CEL expression inside ${...}'],
  // expressions: types
  ['cel-type-error-comparison', 17, 29, 'spec.tasks[0].when', '">" cannot compare string with int'],
  ['cel-type-error-string-plus-int', 18, 40, 'spec.tasks[0].with.url', '"+" cannot be applied to string and int'],
  ['cel-int-plus-double', 18, 30, 'spec.tasks[0].with.ms', '"*" cannot be applied to double and int (CEL does not mix numeric types'],
  ['cel-not-on-string', 17, 15, 'spec.tasks[0].when', '"!" needs a bool, got string'],
  ['cel-unknown-function', 18, 47, 'spec.tasks[0].with.url', 'unknown function "lowerAscii"'],
  ['when-not-bool', 17, 13, 'spec.tasks[0].when', '"when" must be a bool expression, got string'],
  ['foreach-items-not-a-list', 18, 16, 'spec.tasks[0].forEach.items', 'forEach.items must be a list, got int'],
  ['bad-run-if', 18, 14, 'spec.tasks[1].runIf', 'must be one of "success", "failure", "always", got "on-failure"'],
  ['run-if-without-needs', 17, 14, 'spec.tasks[1].runIf', 'runIf: always reacts to how the tasks in "needs" ended; list them in "needs"'],
  // concurrency keys
  ['concurrency-key-reads-task', 14, 20, 'spec.concurrency.key', 'concurrency.key is evaluated when the run starts, before any task: it may read only params'],
  ['concurrency-bad-on-conflict', 13, 56, 'spec.concurrency.onConflict', 'must be one of "queue", "reject", "cancel-running", got "wait"'],
  ['finally-needs-task', 18, 15, 'spec.finally[0].needs[0]', 'finally task "summary" needs "deploy", a task of spec.tasks'],
  ['compensate-without-uses', 15, 7, 'spec.tasks[0].compensate', 'must have required property "uses"'],
  // runbooks
  ['runbook-missing-workflow-ref', 10, 1, 'spec', 'must have required property "workflowRef"'],
  ['runbook-bad-input-type', 13, 13, 'spec.inputs[0].type', 'got "date" (did you mean "datetime"?)'],
  ['runbook-bad-workflow-ref', 15, 16, 'spec.workflowRef', '"ingest-enrich-handoff@latest" is not a workflow reference'],
  ['runbook-too-few-approvers', 10, 19, 'metadata.approvals.minApprovals', '3 approvals are required but only 2 approvers are listed'],
  ['runbook-unknown-field', 15, 3, 'spec.workflow_ref', 'unknown field "workflow_ref" (did you mean "workflowRef"?)'],
  ['runbook-params-undeclared-input', 13, 23, 'spec.params.source_bucket', 'undeclared input "source_bucket"'],
  ['runbook-params-type-error', 13, 35, 'spec.params.key', '"+" cannot be applied to string and int'],
  ['runbook-params-reads-params', 11, 15, 'spec.params.since', 'undeclared reference "params"'],
  ['runbook-params-bad-name', 11, 5, 'spec.params.source-bucket', '"source-bucket" is not a valid parameter name'],
];

function issuesOf(file: string): ManifestIssue[] {
  try {
    parseManifest(readFileSync(file, 'utf8'), file, { catalog: builtinCatalog });
  } catch (error) {
    if (error instanceof ManifestError) return error.issues;
    throw error;
  }
  return [];
}

describe('invalid manifest corpus', () => {
  it('has an expectation for every file, and a file for every expectation', () => {
    const files = readdirSync(INVALID).map((name) => name.replace(/\.yaml$/, ''));
    expect(files.sort()).toEqual(CASES.map(([file]) => file).sort());
    expect(CASES.length).toBeGreaterThanOrEqual(35);
  });

  it.each(CASES)('%s: reported once at %i:%i, %s', (name, line, column, path, message) => {
    const file = join(INVALID, `${name}.yaml`);
    const issues = issuesOf(file);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file, line, column, path });
    expect(issues[0]?.message).toContain(message);
  });
});

describe('valid manifests', () => {
  it.each(manifestsUnder('test/manifests/valid', 'runbooks'))('%s parses', (file) => {
    expect(issuesOf(join(ROOT, file))).toEqual([]);
  });
});
