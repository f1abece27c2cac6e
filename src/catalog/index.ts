/**
 * The task catalog: the built-in reference tasks and the {@link Catalog} that resolves a manifest's
 * `uses: group/name@semver` to a definition.
 */
import { EgressPolicy, maestroEndpoints, type EgressAllowList, type MaestroEndpointSettings } from '../egress/index.js';
import type { TaskDefinition } from '../sdk/index.js';
import { Catalog } from './catalog.js';
import { approvalGate } from './tasks/approval-gate.js';
import { containerRun } from './tasks/container-run.js';
import { functionInvoke } from './tasks/function-invoke.js';
import { createDisclosurePackageTask, disclosurePackage, type FileTaskOptions } from './tasks/disclosure-package.js';
import { dbQuery } from './tasks/db-query.js';
import { grpcCall } from './tasks/grpc-call.js';
import { HttpClient } from './tasks/http/send.js';
import { createHttpRequestTask, httpRequest } from './tasks/http-request.js';
import { kafkaPublish } from './tasks/kafka-publish.js';
import { natsPublish } from './tasks/nats-publish.js';
import { createNotifySlackTask, notifySlack } from './tasks/notify-slack.js';
import { s3Get } from './tasks/s3-get.js';
import { s3Put } from './tasks/s3-put.js';
import { createSigClaimsTask, sigClaims } from './tasks/sig-claims.js';
import { createSigIngestTask, sigIngest } from './tasks/sig-ingest.js';
import { schemaValidate } from './tasks/schema-validate.js';
import { transformMap } from './tasks/transform-map.js';
import { waitSleep } from './tasks/wait-sleep.js';
import { addTasks, loadTaskModules } from './task-modules.js';

export { Catalog, USES_PATTERN, type ResolveResult } from './catalog.js';
export { loadTaskModules, type TaskModules } from './task-modules.js';
export type { TaskDefinition } from '../sdk/index.js';
export { approvalGate, httpRequest, schemaValidate, transformMap, waitSleep };
export { containerRun, functionInvoke };
export { dbQuery, disclosurePackage, grpcCall, kafkaPublish, natsPublish, notifySlack, s3Get, s3Put, sigClaims, sigIngest };
export { createDisclosurePackageTask, createHttpRequestTask, createNotifySlackTask, createSigClaimsTask, createSigIngestTask };
export { HttpClient } from './tasks/http/send.js';
export type { DisclosureProvenance, FileTaskOptions } from './tasks/disclosure-package.js';
export type { HttpTaskOptions } from './tasks/http-request.js';
export type { DbQueryInput, DbQueryOutput } from './tasks/db-query.js';
export type { DisclosurePackageInput, DisclosurePackageOutput } from './tasks/disclosure-package.js';
export type { GrpcCallInput, GrpcCallOutput } from './tasks/grpc-call.js';
export type { KafkaPublishInput, KafkaPublishOutput } from './tasks/kafka-publish.js';
export type { NatsPublishInput, NatsPublishOutput } from './tasks/nats-publish.js';
export type { NotifySlackInput, NotifySlackOutput } from './tasks/notify-slack.js';
export type { S3GetInput, S3GetOutput } from './tasks/s3-get.js';
export type { S3PutInput, S3PutOutput } from './tasks/s3-put.js';
export type { SigClaimInput, SigClaimRecord, SigClaimsInput, SigClaimsOutput, SigReceiptLink } from './tasks/sig-claims.js';
export type { SigIngestInput, SigIngestOutput } from './tasks/sig-ingest.js';
export type { ContainerRunInput, ContainerRunOutput } from './tasks/container-run.js';
export type { FunctionInvokeInput, FunctionInvokeOutput } from './tasks/function-invoke.js';
export type { HttpRequestInput, HttpRequestOutput } from './tasks/http-request.js';
export type { SchemaValidateInput, SchemaValidateOutput } from './tasks/schema-validate.js';
export type { TransformMapInput, TransformMapOutput } from './tasks/transform-map.js';

/** Every task Maestro ships, each at its current version (the HTTP tasks reach public addresses only; no file roots). */
export const builtinTasks: TaskDefinition[] = [
  waitSleep,
  approvalGate,
  transformMap,
  schemaValidate,
  httpRequest,
  containerRun,
  functionInvoke,
  grpcCall,
  kafkaPublish,
  natsPublish,
  s3Get,
  s3Put,
  dbQuery,
  notifySlack,
  sigIngest,
  sigClaims,
  disclosurePackage,
];

/**
 * What the worker's config decides about the built-in tasks: where they may connect (and which of
 * Maestro's own endpoints they never reach), file roots, and, for disclosure bundles, provenance.
 * The config object itself fits.
 */
export interface CatalogOptions extends FileTaskOptions, MaestroEndpointSettings {
  /**
   * Non-public ranges and exact endpoints each namespace's tasks may reach, whatever opens the
   * connection (HTTP, gRPC, Kafka, NATS, S3, PostgreSQL, functions): config `egressAllow`
   * (`MAESTRO_EGRESS_ALLOW`).
   * @default {} — public addresses only
   */
  egressAllow?: EgressAllowList;
  /** Namespaces whose containers and Jobs may have a network: config `containerNetworkNamespaces`. @default [] — none */
  containerNetworkNamespaces?: readonly string[];
}

/**
 * The egress policy of a worker: its allow-lists, and Maestro's own endpoints named by the same
 * settings (Temporal, the API, the registry database, OPA), which no task reaches.
 */
export function egressPolicyOf({ egressAllow = {}, containerNetworkNamespaces = [], ...endpoints }: CatalogOptions = {}): EgressPolicy {
  return new EgressPolicy({ allow: egressAllow, infrastructure: maestroEndpoints(endpoints), containerNetwork: containerNetworkNamespaces });
}

/**
 * The built-in tasks configured for one worker: its egress policy, file roots and provenance.
 *
 * @example
 * const egress = egressPolicyOf(config);
 * const catalog = new Catalog(createBuiltinTasks(config, egress), {}, egress);
 */
export function createBuiltinTasks(options: CatalogOptions = {}, egress: EgressPolicy = egressPolicyOf(options)): TaskDefinition[] {
  const { fileRoots = [], provenance } = options;
  const http = new HttpClient(egress);
  const configured: TaskDefinition[] = [
    createHttpRequestTask({ http }),
    createNotifySlackTask({ http }),
    createSigIngestTask({ http }),
    createSigClaimsTask({ http }),
    createDisclosurePackageTask({ fileRoots, ...(provenance === undefined ? {} : { provenance }) }),
  ];
  const names = new Set(configured.map((task) => task.name));
  return [...builtinTasks.filter((task) => !names.has(task.name)), ...configured];
}

/** A {@link Catalog} of {@link createBuiltinTasks}: what a worker serves, configured from its config. */
export function createBuiltinCatalog(options: CatalogOptions = {}): Catalog {
  const egress = egressPolicyOf(options);
  return new Catalog(createBuiltinTasks(options, egress), {}, egress);
}

/** What a worker's config decides about its catalog: the built-in tasks' settings and your own tasks. */
export interface LoadCatalogOptions extends CatalogOptions {
  /**
   * Modules of your own tasks, added beside the built-in ones: config `taskModules`
   * (`MAESTRO_TASK_MODULES`); see {@link loadTaskModules}.
   * @default [] — the built-in tasks only
   */
  taskModules?: readonly string[];
}

/**
 * The catalog a worker serves: {@link createBuiltinTasks} plus the tasks of `taskModules`, whose
 * files it keeps in {@link Catalog.modules}.
 *
 * @throws `ConfigError` (`CONFIG_INVALID`) when a module cannot be loaded, exports no task, or redefines a
 * task's `name@version`.
 *
 * @example
 * const catalog = await loadCatalog(config);
 */
export async function loadCatalog({ taskModules = [], ...options }: LoadCatalogOptions = {}): Promise<Catalog> {
  const { tasks, modules } = await loadTaskModules(taskModules);
  const egress = egressPolicyOf(options);
  return new Catalog(addTasks(createBuiltinTasks(options, egress), tasks), modules, egress);
}

/** A catalog of {@link builtinTasks}: what a worker serves when it adds no tasks of its own. */
export const builtinCatalog: Catalog = new Catalog(builtinTasks);
