/**
 * `npm run release [-- --out DIR] [--runtime-only] [--push REGISTRY/REPO]`: builds a reproducible,
 * signed release of the commit checked out (HEAD) into DIR (default `release/<version>/`,
 * git-ignored) and records it in MAESTRO_RELEASES_DIR for `maestro sbom search`. See src/release
 * for what a release holds. `--push` then pushes the image to `REGISTRY/REPO:<version>`, byte for
 * byte (same digest), with its signature in cosign's layout (`sha256-<hex>.sig`), through the image
 * settings' registry client (MAESTRO_IMAGE_REGISTRY_INSECURE, MAESTRO_IMAGE_REGISTRY_AUTH_FILE).
 *
 * Tools: syft (built from its Go module into `.tools/bin` on first use by scripts/syft.mjs) and
 * podman with the project's configuration (scripts/peers/podman.sh). The attestation is signed
 * with MAESTRO_SIGNING_KEY (the dev key under `.maestro/keys/` when unset), or keylessly when
 * MAESTRO_FULCIO_URL and MAESTRO_REKOR_URL are set. `--runtime-only` leaves the production
 * node_modules out of the image (a quick build of the release machinery itself, not a release).
 * Verify with `maestro release verify DIR`.
 */
import { execFile } from 'node:child_process';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { ConfigError } from '../src/errors/index.js';
import { loadConfig, type ImagesSettings } from '../src/config/index.js';
import { openProvenance } from '../src/provenance/index.js';
import { buildRelease, type BuiltRelease, type ImagePublication } from '../src/release/index.js';
import { namesRegistry, parseImageReference, pushOciLayout, registryClientFrom, storeSignatureInRegistry } from '../src/runners/index.js';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** `KEY=VALUE` lines (podman.sh's environment) as an object. */
function parseEnv(output: string): Record<string, string> {
  return Object.fromEntries(output.split('\n').flatMap((line) => {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    return match?.[1] && match[2] !== undefined ? [[match[1], match[2]]] : [];
  }));
}

/** Options of {@link release}. */
export interface ReleaseOptions {
  /** @default `release/<version>/` */
  out?: string;
  /** Leave the production packages out of the image. @default false */
  runtimeOnly?: boolean;
  /** `REGISTRY/REPO` to push the image and its signature to. @default undefined — not pushed */
  push?: string;
  /** Progress messages. @default console.log */
  log?: (message: string) => void;
}

/**
 * Pushing to `target` (`REGISTRY/REPO`, no tag: the tag is the version) with the registry client
 * of the image settings: the image's OCI layout byte for byte, then its signature beside it.
 *
 * @throws ConfigError when `target` names no registry, or names a tag or digest.
 */
export function registryPublication(target: string, config: Pick<ImagesSettings, 'imageRegistryInsecure' | 'imageRegistryAuthFile'>): ImagePublication {
  const reference = parseImageReference(target);
  if (!namesRegistry(target) || reference.digest !== undefined || target.endsWith(`:${reference.tag ?? ''}`)) {
    throw new ConfigError(`--push ${target}: expected REGISTRY/REPO (e.g. registry.example:5000/maestro), without a tag or digest`);
  }
  const client = registryClientFrom(config);
  return {
    repository: `${reference.registry}/${reference.repository}`,
    async push({ layout, tag, digest, payload, signature }) {
      const pushed = await pushOciLayout(client, layout, reference, tag);
      if (pushed.digest !== digest) throw new ConfigError(`the registry stored ${pushed.digest}, not the built image ${digest}`);
      await storeSignatureInRegistry(client, reference, payload, signature);
      return pushed.image;
    },
  };
}

/** Installs the tools when missing, then builds and records the release. */
export async function release(options: ReleaseOptions = {}): Promise<BuiltRelease> {
  const { log = (message: string) => console.log(`maestro release: ${message}`) } = options;
  const started = Date.now();
  const config = loadConfig();
  const syft = (await run(process.execPath, [join(ROOT, 'scripts', 'syft.mjs')], { cwd: ROOT })).stdout.trim().split('\n').at(-1) ?? '';
  const podmanEnv = { ...process.env, ...parseEnv((await run('bash', [join(ROOT, 'scripts', 'peers', 'podman.sh'), 'setup'], { cwd: ROOT })).stdout) };
  const provenance = await openProvenance(config);
  const { version } = (await import(join(ROOT, 'package.json'), { with: { type: 'json' } })).default as { version: string };
  const built = await buildRelease({
    root: ROOT,
    out: resolve(options.out ?? join(ROOT, 'release', version)),
    signer: provenance.signer,
    signingKey: provenance.signingKey,
    builderId: config.builderId ?? 'urn:maestro:builder:release',
    syft,
    podmanEnv,
    releasesDir: config.releasesDir,
    imagePackages: options.runtimeOnly !== true,
    ...(options.push === undefined ? {} : { publish: registryPublication(options.push, config) }),
    log,
  });
  for (const file of built.files) log(`${relative(process.cwd(), join(built.dir, file.name))}\t${(file.bytes / 1e6).toFixed(2)} MB\tsha256:${file.sha256}`);
  log(`image ${built.record.image.tag}@${built.record.image.digest}${built.record.image.signature === undefined ? ' (unsigned: keyless)' : `, signature ${built.record.image.signature}`}`);
  if (built.pushed !== undefined) log(`pushed ${built.pushed} with its signature`);
  log(`steps (s): ${Object.entries(built.timings).map(([step, ms]) => `${step} ${(ms / 1000).toFixed(1)}`).join(', ')}; total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  log(`verify: npx tsx src/cli/main.ts release verify ${relative(process.cwd(), built.dir) || '.'}`);
  return built;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { out: { type: 'string', short: 'o' }, 'runtime-only': { type: 'boolean' }, push: { type: 'string' } } });
  await release({ ...(values.out === undefined ? {} : { out: values.out }), ...(values.push === undefined ? {} : { push: values.push }), runtimeOnly: values['runtime-only'] === true });
}
