/**
 * The built-in tasks and connectors (each a `defineTask` module in this folder), and the catalog a
 * worker serves: these tasks configured from its settings, plus the tasks of its own modules.
 * The {@link Catalog} type that resolves `uses: group/name@semver` lives below, in `src/catalog`.
 */
import { EgressPolicy, maestroEndpoints, type EgressAllowList, type MaestroEndpointSettings } from '../egress/index.js';
import type { TaskDefinition } from '../sdk/index.js';
import { Catalog } from '../catalog/index.js';
import { approvalGate } from './approval-gate.js';
import { containerRun } from './container-run.js';
import { functionInvoke } from './function-invoke.js';
import { createDisclosurePackageTask, disclosurePackage, disclosureProvenance, type FileTaskOptions } from './disclosure-package.js';
import { dbQuery } from './db-query.js';
import { grpcCall } from './grpc-call.js';
import { HttpClient } from './http/send.js';
import { createImageBuildTask, imageBuild, type ImageBuildOptions } from './image-build.js';
import { createImageSignTask, imageSign } from './image-sign.js';
import { createHttpRequestTask, httpRequest } from './http-request.js';
import { kafkaPublish } from './kafka-publish.js';
import { natsPublish } from './nats-publish.js';
import { createNotifySlackTask, notifySlack } from './notify-slack.js';
import { s3Get } from './s3-get.js';
import { s3Put } from './s3-put.js';
import { createSigClaimsTask, sigClaims } from './sig-claims.js';
import { createSigExportTask, sigExport } from './sig-export.js';
import { createSigIngestTask, sigIngest } from './sig-ingest.js';
import { schemaValidate } from './schema-validate.js';
import { transformMap } from './transform-map.js';
import { waitSignal, signalPayloadProblems } from './wait-signal.js';
import { waitSleep } from './wait-sleep.js';
import { addTasks, loadTaskModules } from './task-modules.js';

export { loadTaskModules, type TaskModules } from './task-modules.js';
export { approvalGate, httpRequest, schemaValidate, transformMap, waitSignal, waitSleep };
export { signalPayloadProblems };
export { containerRun, functionInvoke, imageBuild, imageSign };
export { createImageBuildTask, createImageSignTask };
export type { ImageBuildInput, ImageBuildOptions, ImageBuildOutput } from './image-build.js';
export type { ImageSignInput, ImageSignOptions, ImageSignOutput } from './image-sign.js';
export { dbQuery, disclosurePackage, grpcCall, kafkaPublish, natsPublish, notifySlack, s3Get, s3Put, sigClaims, sigExport, sigIngest };
export { createDisclosurePackageTask, disclosureProvenance, createHttpRequestTask, createNotifySlackTask, createSigClaimsTask, createSigExportTask, createSigIngestTask };
export { HttpClient } from './http/send.js';
// The egress adapters of the NATS and Kafka clients, which message triggers' consumers use too.
export { checkedNatsServers } from './nats-publish.js';
export { guardedKafkaSockets } from './kafka-publish.js';
export type { DisclosureProvenance, FileTaskOptions } from './disclosure-package.js';
export type { HttpTaskOptions } from './http-request.js';
export type { DbQueryInput, DbQueryOutput } from './db-query.js';
export type { DisclosurePackageInput, DisclosurePackageOutput } from './disclosure-package.js';
export type { GrpcCallInput, GrpcCallOutput } from './grpc-call.js';
export type { KafkaPublishInput, KafkaPublishOutput } from './kafka-publish.js';
export type { NatsPublishInput, NatsPublishOutput } from './nats-publish.js';
export type { NotifySlackInput, NotifySlackOutput } from './notify-slack.js';
export type { S3GetInput, S3GetOutput } from './s3-get.js';
export type { S3PutInput, S3PutOutput } from './s3-put.js';
export type { SigClaimInput, SigClaimRecord, SigClaimsInput, SigClaimsOutput, SigReceiptLink } from './sig-claims.js';
export type { SigBundleInput, SigExportInput, SigExportOutput } from './sig-export.js';
export type { SigIngestInput, SigIngestOutput } from './sig-ingest.js';
export type { ContainerRunInput, ContainerRunOutput } from './container-run.js';
export type { FunctionInvokeInput, FunctionInvokeOutput } from './function-invoke.js';
export type { HttpRequestInput, HttpRequestOutput } from './http-request.js';
export type { SchemaValidateInput, SchemaValidateOutput } from './schema-validate.js';
export type { TransformMapInput, TransformMapOutput } from './transform-map.js';

/** Every task Maestro ships, each at its current version (the HTTP tasks reach public addresses only; no file roots). */
export const builtinTasks: TaskDefinition[] = [
  waitSleep,
  approvalGate,
  waitSignal,
  transformMap,
  schemaValidate,
  httpRequest,
  containerRun,
  imageBuild,
  imageSign,
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
  sigExport,
  disclosurePackage,
];

/**
 * What the worker's config decides about the built-in tasks: where they may connect (and which of
 * Maestro's own endpoints they never reach), file roots, and, for disclosure bundles, provenance.
 * The config object itself fits.
 */
export interface CatalogOptions extends FileTaskOptions, MaestroEndpointSettings, Omit<ImageBuildOptions, 'fileRoots'> {
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
    createSigExportTask({ http }),
    createDisclosurePackageTask({ fileRoots, ...(provenance === undefined ? {} : { provenance }) }),
    createImageBuildTask(options),
    createImageSignTask(options),
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
