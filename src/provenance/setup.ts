/**
 * Provenance from config: the signer, trusted keys, receipt store and task cache a worker, the
 * API or the CLI use, built once from the provenance settings ({@link ProvenanceConfig}).
 */
import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Catalog } from '../catalog/index.js';
import { ConfigError } from '../errors/index.js';
import type { ProvenanceSettings, StoreSettings, TemporalSettings } from '../config/index.js';
import { BlobTaskCache, type TaskCache } from '../cache/index.js';
import { FsBlobStore, S3BlobStore, type BlobStore } from '../store/index.js';
import { CodeDigester, catalogCodeDigests } from './code-digest.js';
import { digestOf } from '../canonical/index.js';
import { loadSigningKey, readPublicKeys, type SigningKey } from './keys.js';
import type { PolicyDecisionIds } from './receipt-statement.js';
import { ReceiptStore, createReceiptWriter, type WriteReceiptInput, type WriteReceiptResult } from './receipt-store.js';
import { keylessBundleSigner, localBundleSigner, type BundleSigner } from './signing.js';

/**
 * The settings provenance is opened with: its section, the data folder (dev keys, the `fs` store)
 * and the Temporal namespace and task queue (the default `builder.id`).
 */
export type ProvenanceConfig = ProvenanceSettings & Pick<StoreSettings, 'dataDir'> & Pick<TemporalSettings, 'temporalNamespace' | 'taskQueue'>;

/** Everything provenance needs at run time, from config. */
export interface Provenance {
  /** Signs receipts, disclosure manifests and attestations. */
  signer: BundleSigner;
  /** The local signing key; undefined when signing keylessly. */
  signingKey: SigningKey | undefined;
  /** Public keys verification trusts: the signing key's own and those in `trustedKeysDir`. */
  trustedKeys: KeyObject[];
  /** Where the cache and receipts live. */
  blobs: BlobStore;
  receipts: ReceiptStore;
  /** The task cache; undefined when `taskCache` is false. */
  taskCache: TaskCache | undefined;
  /** `builder.id` of receipts. */
  builderId: string;
}

/** The dev signing key's path when `signingKey` is unset. */
export function defaultSigningKeyFile(config: Pick<StoreSettings, 'dataDir'>): string {
  return join(config.dataDir, 'keys', 'receipt-signing.key');
}

/**
 * Opens provenance from config. The signing key is loaded (the dev key is created on first use
 * when `signingKey` is unset); keyless signing is used when both `fulcioUrl` and `rekorUrl` are set.
 *
 * @throws ConfigError for a missing configured key, an unreadable trusted key, or an `s3` store without a bucket.
 */
export async function openProvenance(config: ProvenanceConfig): Promise<Provenance> {
  const keyless = config.fulcioUrl !== undefined && config.rekorUrl !== undefined;
  const signingKey = keyless ? undefined : await loadSigningKey(config.signingKey ?? defaultSigningKeyFile(config), { create: config.signingKey === undefined });
  const signer =
    keyless && config.fulcioUrl && config.rekorUrl
      ? keylessBundleSigner({ fulcioUrl: config.fulcioUrl, rekorUrl: config.rekorUrl })
      : localBundleSigner(signingKey as SigningKey);
  const trustedKeys = [...(signingKey ? [signingKey.publicKey] : []), ...(await trustedKeysIn(config.trustedKeysDir))];
  const blobs = blobStore(config);
  return {
    signer,
    signingKey,
    trustedKeys,
    blobs,
    receipts: new ReceiptStore(blobs),
    taskCache: config.taskCache === false ? undefined : new BlobTaskCache(blobs),
    builderId: config.builderId ?? `urn:maestro:builder:${config.temporalNamespace}/${config.taskQueue}`,
  };
}

/**
 * The public keys verification trusts, without creating anything: the signing key's own (when its
 * file exists) and every key in `trustedKeysDir`. What `maestro receipt verify` uses when given no
 * `--key`.
 *
 * @throws ConfigError when a configured `signingKey` is missing or a trusted key is unreadable.
 */
export async function trustedKeysFromConfig(config: Pick<ProvenanceSettings, 'signingKey' | 'trustedKeysDir'> & Pick<StoreSettings, 'dataDir'>): Promise<KeyObject[]> {
  const file = config.signingKey ?? defaultSigningKeyFile(config);
  const own = config.signingKey !== undefined || existsSync(file) ? [(await loadSigningKey(file)).publicKey] : [];
  return [...own, ...(await trustedKeysIn(config.trustedKeysDir))];
}

/** The receipt store of the configured provenance store, without touching any key. */
export function receiptStoreFromConfig(config: BlobStoreSettings): ReceiptStore {
  return new ReceiptStore(blobStore(config));
}

/** The settings of the store receipts and the task cache live in. */
type BlobStoreSettings = Pick<ProvenanceSettings, 'provenanceStore' | 'provenanceS3Bucket' | 'provenanceS3Prefix' | 'provenanceS3Endpoint'> & Pick<StoreSettings, 'dataDir'>;

function blobStore(config: BlobStoreSettings): BlobStore {
  if (config.provenanceStore !== 's3') return new FsBlobStore(config.dataDir);
  if (!config.provenanceS3Bucket) throw new ConfigError('MAESTRO_PROVENANCE_STORE=s3 needs MAESTRO_PROVENANCE_S3_BUCKET');
  return new S3BlobStore({
    bucket: config.provenanceS3Bucket,
    ...(config.provenanceS3Prefix === undefined ? {} : { prefix: config.provenanceS3Prefix }),
    ...(config.provenanceS3Endpoint === undefined ? {} : { endpoint: config.provenanceS3Endpoint }),
  });
}

async function trustedKeysIn(dir: string | undefined): Promise<KeyObject[]> {
  if (dir === undefined) return [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new ConfigError(`MAESTRO_TRUSTED_KEYS_DIR=${dir} cannot be read`, { cause: error });
  }
  return readPublicKeys(names.filter((name) => /\.(pub|pem)$/.test(name)).sort().map((name) => join(dir, name)));
}

/**
 * `sha256:<hex>` naming the worker's code: the worker module and the interpreter with every local
 * module they import, and the versions of the packages they use (see {@link CodeDigester}).
 */
export async function workerBuildId(modules: readonly (string | URL)[] = WORKER_MODULES, digester = new CodeDigester()): Promise<string> {
  const digests: string[] = [];
  for (const module of modules) digests.push(await digester.moduleDigest(module));
  return digestOf(digests);
}

const WORKER_MODULES = [
  fileURLToPath(new URL('../../workers/worker.ts', import.meta.url)),
  fileURLToPath(new URL('../../interpreters/dag-interpreter.ts', import.meta.url)),
];

/** What the worker registers for provenance. */
export interface WorkerProvenance {
  /** The `writeReceipt` activity. */
  writeReceipt: (input: WriteReceiptInput) => Promise<WriteReceiptResult>;
  /** For `runTask`: the cache, undefined when off. */
  taskCache: TaskCache | undefined;
  /** For `runTask` (cache keys) and receipts: code digest by exact `uses`. */
  taskCodeDigests: Readonly<Record<string, string>>;
  workerBuildId: string;
  provenance: Provenance;
}

/** Options of {@link createWorkerProvenance}. */
export interface WorkerProvenanceOptions {
  config: ProvenanceConfig;
  catalog: Catalog;
  /** Module files of tasks outside `src/tasks`' naming convention. @default {} */
  taskModules?: Readonly<Record<string, string | URL>>;
  /** @default undefined — no policy decision ids in receipts */
  policyDecisions?: (runId: string) => Promise<PolicyDecisionIds>;
}

/**
 * Builds the worker's provenance dependencies once at start-up: code digests of every catalog
 * task, the worker build id, the signer and stores, and the `writeReceipt` activity.
 */
export async function createWorkerProvenance(options: WorkerProvenanceOptions): Promise<WorkerProvenance> {
  const { config, catalog, taskModules = {}, policyDecisions } = options;
  const digester = new CodeDigester();
  const [provenance, taskCodeDigests, buildId] = await Promise.all([
    openProvenance(config),
    catalogCodeDigests(catalog, { modules: taskModules, digester }),
    workerBuildId(WORKER_MODULES, digester),
  ]);
  const writeReceipt = createReceiptWriter({
    receipts: provenance.receipts,
    signer: provenance.signer,
    builderId: provenance.builderId,
    workerBuildId: buildId,
    taskCodeDigests,
    ...(policyDecisions === undefined ? {} : { policyDecisions }),
  });
  return { writeReceipt, taskCache: provenance.taskCache, taskCodeDigests, workerBuildId: buildId, provenance };
}
