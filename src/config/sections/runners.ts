/**
 * Settings of where task attempts run (containers, Kubernetes Jobs, serverless functions), their
 * resource classes, and which container images they may run.
 */
import { Type, type Static } from '@sinclair/typebox';
import { parseDuration } from '../../ir/index.js';
import { checkedList, namespaceList, pathList, stringMap } from '../decode.js';
import { SettingValueError, optional, section, type SettingsOf } from '../setting.js';

const text = Type.String({ minLength: 1 });

/** What a resource class grants one attempt (see the runners module). */
export const ResourceClassSchema = Type.Object({
  /** CPU cores; fractions allowed. */
  cpu: Type.Number({ minimum: 0.01, maximum: 1024 }),
  memoryBytes: Type.Integer({ minimum: 4 * 2 ** 20 }),
  timeoutMs: Type.Number({ exclusiveMinimum: 0 }),
});
/** What a resource class grants one attempt. */
export type ResourceClassSetting = Readonly<Static<typeof ResourceClassSchema>>;

const MEMORY_UNITS: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** A Kubernetes-style memory quantity (`512Mi`, `2Gi`, `1G`, bytes) in bytes. */
function memoryBytes(raw: unknown): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '');
  const bytes = match ? Math.round(Number(match[1]) * (MEMORY_UNITS[match[2] ?? ''] ?? Number.NaN)) : Number.NaN;
  if (!Number.isFinite(bytes) || bytes < 4 * 2 ** 20) throw new SettingValueError(`has a memory "${String(raw)}" that is not a quantity of at least 4Mi (e.g. 512Mi, 2Gi)`);
  return bytes;
}

function resourceClass(name: string, cpuRaw: unknown, memoryRaw: unknown, timeoutRaw: unknown): ResourceClassSetting {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new SettingValueError(`has an invalid resource class name "${name}"`);
  const cpu = typeof cpuRaw === 'string' ? Number(cpuRaw.trim()) : cpuRaw;
  if (typeof cpu !== 'number' || !Number.isFinite(cpu) || cpu < 0.01 || cpu > 1024) throw new SettingValueError(`class "${name}": cpu must be a number of cores from 0.01`);
  const timeoutMs = typeof timeoutRaw === 'string' ? parseDuration(timeoutRaw) : undefined;
  if (timeoutMs === undefined || timeoutMs <= 0) throw new SettingValueError(`class "${name}": timeout must be a duration such as 10m`);
  return Object.freeze({ cpu, memoryBytes: memoryBytes(memoryRaw), timeoutMs });
}

/** `name=cpu:memory:timeout,…` (environment) or a mapping of name to `{cpu, memory, timeout}` (file). */
function resourceClasses(raw: unknown): Readonly<Record<string, ResourceClassSetting>> {
  const classes: Record<string, ResourceClassSetting> = {};
  if (typeof raw === 'string') {
    for (const part of raw.split(',').filter((entry) => entry.trim() !== '')) {
      const [name = '', spec = ''] = part.split('=').map((piece) => piece.trim());
      const [cpu, memory, timeout] = spec.split(':');
      classes[name] = resourceClass(name, cpu, memory, timeout);
    }
  } else if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    for (const [name, spec] of Object.entries(raw)) {
      if (spec === null || typeof spec !== 'object') throw new SettingValueError(`class "${name}" must be a mapping {cpu, memory, timeout}`);
      const { cpu, memory, timeout } = spec as Record<string, unknown>;
      classes[name] = resourceClass(name, cpu, memory, timeout);
    }
  }
  if (Object.keys(classes).length === 0) throw new SettingValueError('must list resource classes, e.g. gpu=4:16Gi:2h');
  return Object.freeze(classes);
}

/** The container engine, Kubernetes, serverless functions and resource classes. */
export const runnersSection = section('runners', 'Where task attempts run: the container engine, Kubernetes, serverless functions; their resource classes and network.', {
  dockerHost: optional(Type.String({ pattern: '^(unix|tcp|http|https)://.' }), {
    env: 'DOCKER_HOST',
    message: 'must be unix:///path.sock, tcp://host:port or https://host:port',
    unset: 'unix:///var/run/docker.sock',
    description: "The container engine's Docker API: `unix:///path.sock` (Docker, or Podman's `podman system service`), `tcp://host:port`.",
  }),
  resourceClasses: optional(Type.Record(Type.String(), ResourceClassSchema), {
    env: 'MAESTRO_RESOURCE_CLASSES',
    decode: resourceClasses,
    unset: 'the built-in classes only',
    description:
      'Resource classes of container, Kubernetes and serverless attempts, added to or replacing the built-in `small` (0.5 CPU, 512Mi, 15m), `medium` (1, 2Gi, 1h) and `large` (2, 8Gi, 4h): `name=cpu:memory:timeout,…`, e.g. `gpu=4:16Gi:2h`; in the file, a mapping of name to `{cpu, memory, timeout}`.',
  }),
  containerNetworkNamespaces: optional(Type.Array(text, { minItems: 1 }), {
    env: 'MAESTRO_CONTAINER_NETWORK_NAMESPACES',
    decode: namespaceList(true),
    unset: 'none',
    description:
      'Maestro namespaces whose containers and Kubernetes Jobs may have a network (`network: true`), e.g. `ops,payments`, `*` for every namespace; in the file, a list. Elsewhere such a task fails with `EGRESS_DENIED` before the container starts.',
  }),
  kubeconfig: optional(text, {
    env: 'KUBECONFIG',
    unset: 'in-cluster credentials when the worker runs in a pod, else `~/.kube/config`',
    description: 'Kubeconfig file(s) of the Kubernetes runner.',
  }),
  k8sNamespaces: optional(Type.Record(Type.String(), text), {
    env: 'MAESTRO_K8S_NAMESPACES',
    decode: stringMap('namespace=k8s-namespace pairs', (value) => /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value), 'default=maestro'),
    unset: '`maestro-<namespace>` for every Maestro namespace',
    description: "Kubernetes namespace of each Maestro namespace's Jobs, e.g. `default=maestro,team-a=team-a-jobs`; in the file, a mapping.",
  }),
  functions: optional(Type.Record(Type.String(), text), {
    env: 'MAESTRO_FUNCTIONS',
    decode: stringMap(
      'name=target pairs',
      (value) => /^lambda:[A-Za-z0-9:_-]+$/.test(value) || (/^https?:\/\//.test(value) && URL.canParse(value)),
      'resize=http://gateway:8080/function/resize or bill=lambda:bill',
    ),
    unset: 'no functions',
    description:
      'Functions the serverless runner may invoke, by name, e.g. `resize=http://gateway:8080/function/resize,bill=lambda:arn:aws:lambda:eu-west-1:1:function:bill`; in the file, a mapping: an HTTP URL (Knative, OpenFaaS) or `lambda:<name or ARN>`.',
  }),
  lambdaEndpoint: optional(Type.String({ format: 'url' }), { env: 'MAESTRO_LAMBDA_ENDPOINT', unset: "the region's AWS endpoint", description: 'AWS Lambda API endpoint, e.g. a local emulator.' }),
  lambdaRegion: optional(text, { env: 'MAESTRO_LAMBDA_REGION', unset: "the AWS SDK's (AWS_REGION, profile)", description: 'AWS region of Lambda functions.' }),
});

/** Runners (see {@link runnersSection}). */
export type RunnersSettings = SettingsOf<typeof runnersSection>;

/** Which container images may run. */
export const imagesSection = section('images', 'Which container images may run: required signatures and the keys trusted to vouch for an image.', {
  requireSignedImages: optional(Type.Boolean(), {
    env: 'MAESTRO_REQUIRE_SIGNED_IMAGES',
    unset: 'false',
    description: 'Start only containers whose image signature the configured verifier accepts (true | false). Without a verifier, containers fail closed.',
  }),
  signedImageNamespaces: optional(Type.Array(text, { minItems: 1 }), {
    env: 'MAESTRO_SIGNED_IMAGE_NAMESPACES',
    decode: namespaceList(false),
    unset: 'only where MAESTRO_REQUIRE_SIGNED_IMAGES or the task asks',
    description: 'Maestro namespaces whose containers must run signed images, as if MAESTRO_REQUIRE_SIGNED_IMAGES were set for them alone, e.g. `prod,payments`; in the file, a list.',
  }),
  imageKeys: optional(Type.Array(text, { minItems: 1 }), {
    env: 'MAESTRO_IMAGE_KEYS',
    decode: pathList('key file'),
    unset: 'no key: a required image signature always fails (closed)',
    description: "Public keys (SPKI PEM files) whose image signatures are trusted (separated by `:`; in the file, a list). Separate from the receipt keys: who may vouch for an image is not who may sign a run's receipt.",
  }),
  imageSignaturesDir: optional(text, {
    env: 'MAESTRO_IMAGE_SIGNATURES_DIR',
    path: true,
    unset: '`<dataDir>/image-signatures`',
    description: 'Folder of image signatures, one Sigstore bundle per image digest, `sha256-<hex>.sigstore.json`; written by `maestro images sign --to folder`.',
  }),
  imageSignatureStores: optional(Type.Array(Type.Union([Type.Literal('registry'), Type.Literal('folder')]), { minItems: 1, maxItems: 2, uniqueItems: true }), {
    env: 'MAESTRO_IMAGE_SIGNATURE_STORES',
    decode: checkedList('signature store', (item) => item === 'registry' || item === 'folder', (item) => `has an unknown signature store "${item}" (registry | folder)`),
    unset: '`folder`',
    description:
      "Where image signatures are looked up, in order, the first that verifies winning: `registry` (cosign's `sha256-<hex>.sig` tag beside the image in its registry), `folder` (`MAESTRO_IMAGE_SIGNATURES_DIR`, for air-gapped hosts), e.g. `registry,folder`; in the file, a list.",
  }),
  imageRegistryInsecure: optional(Type.Array(text, { minItems: 1 }), {
    env: 'MAESTRO_IMAGE_REGISTRY_INSECURE',
    decode: checkedList('registry', (item) => /^[a-zA-Z0-9.-]+(?::\d{1,5})?$/.test(item), (item) => `has an invalid registry "${item}" (host[:port])`),
    unset: 'none: every registry over HTTPS',
    description: 'Registries (`host[:port]`) whose signatures are read over plain HTTP, e.g. a test registry `127.0.0.1:5000`; in the file, a list.',
  }),
  imageRegistryAuthFile: optional(text, {
    env: 'MAESTRO_IMAGE_REGISTRY_AUTH_FILE',
    path: true,
    unset: 'no credentials: anonymous reads',
    description: 'A Docker `config.json`-style file whose `auths.<registry>.auth` (base64 `user:password`) is sent as basic auth to that registry.',
  }),
});

/** Image signatures (see {@link imagesSection}). */
export type ImagesSettings = SettingsOf<typeof imagesSection>;
