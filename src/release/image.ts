/**
 * The release's container image, built by podman without a registry pull: a base image the build
 * imports locally (`podman import` of a rootfs tar), and a Containerfile `FROM` it adding the
 * application. Every tar is made by the build itself, deterministic (GNU tar: sorted names, every
 * mtime the commit time, owner 0) —
 *   1. the base, `localhost/maestro-base:<sha256 of its tar>`: this machine's `node` and the shared
 *      libraries it links, `/etc/os-release`, `/etc/passwd` with the `node` user (1000); the tar's
 *      own mtime is set to the commit time, which `podman import` takes as the base's creation time;
 *   2. the source tree at the commit (`git archive`, so uncommitted files never ship) under `/app`;
 *   3. the production packages of `package-lock.json` from `node_modules` under `/app/node_modules`
 *      (what `npm ci --omit=dev` installs; no registry is reachable to install them afresh).
 * `podman build --pull=never --timestamp <commit time>` fixes the image's dates (the base's
 * history entry included), the base is named by its content (the manifest's
 * `org.opencontainers.image.base.name` annotation), and the image is saved as an OCI layout
 * re-packed as a deterministic tar, so the same commit on the same machine gives a byte-identical
 * archive and the same image digest.
 *
 * The repository's Dockerfile pulls `golang` and `node` images and runs `npm ci`, none of which
 * this offline build can do; the policy bundle and console (`dist/`) are build outputs it leaves out.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, realpath, rm, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../errors/index.js';
import { isRecord } from '../ir/index.js';
import { fileSha256 } from './digest.js';

const run = promisify(execFile);
const BIG = { maxBuffer: 256 * 1024 * 1024 };

/** Options of {@link buildImage}. */
export interface BuildImageOptions {
  /** The repository root. */
  root: string;
  /** The git commit whose tree goes into the image. */
  commit: string;
  /** Seconds since the epoch every date in the image is set to (the commit time). */
  sourceDateEpoch: number;
  /** Image name, e.g. `localhost/maestro:0.1.0`. */
  tag: string;
  /** Where the OCI archive is written. */
  out: string;
  /** The environment podman runs with (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF). @default process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * Also put the production `node_modules` in the image (hundreds of MB).
   * @default true — false builds the runtime and the sources only, for tests of the build itself
   */
  packages?: boolean;
}

/** The built image. */
export interface BuiltImage {
  /** `sha256:<hex>` of the image manifest: what a registry, a signature and a pull by digest name. */
  digest: string;
  /** The tag it was built as. */
  tag: string;
}

/** Builds the image and writes it to `out` as an OCI archive; returns its manifest digest. */
export async function buildImage(options: BuildImageOptions): Promise<BuiltImage> {
  const { root, commit, sourceDateEpoch, tag, out, env = process.env, packages = true } = options;
  const context = await mkdtemp(join(tmpdir(), 'maestro-release-image-'));
  try {
    const base = await importBase(context, sourceDateEpoch, env);
    const layout = join(context, 'oci');
    try {
      await run('git', ['archive', '--format=tar', '--prefix=app/', '-o', join(context, 'app.tar'), commit], { cwd: root });
      const lines = [`FROM ${base}`, 'ADD app.tar /'];
      if (packages) {
        await packagesLayer(root, join(context, 'packages.tar'), sourceDateEpoch);
        lines.push('ADD packages.tar /app/');
      }
      lines.push(
        'WORKDIR /app',
        'ENV NODE_ENV=production PATH=/usr/bin:/bin',
        'USER node',
        'CMD ["node", "--import", "tsx", "src/cli/main.ts", "worker"]',
      );
      await writeFile(join(context, 'Containerfile'), `${lines.join('\n')}\n`);
      // No intermediate images (--layers=false), and the image and its base removed once saved:
      // the archive is the release, and the storage (often shared with tests) keeps nothing per build.
      await podman(['build', '--pull=never', '--layers=false', '--timestamp', String(sourceDateEpoch), '-t', tag, '-f', join(context, 'Containerfile'), context], env);
      try {
        await podman(['save', '--format', 'oci-dir', '-o', layout, tag], env);
      } finally {
        await podman(['rmi', tag], env);
      }
    } finally {
      await podman(['rmi', base], env);
    }
    // Entries named without `./`: syft refuses `./` as a path traversal.
    await deterministicTar(layout, (await readdir(layout)).sort(), out, sourceDateEpoch);
    return { digest: await manifestDigest(layout), tag };
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

async function podman(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await run('podman', args, { env, ...BIG })).stdout;
  } catch (error) {
    const detail = isRecord(error) && typeof error['stderr'] === 'string' ? error['stderr'].trim().split('\n').slice(-6).join('\n') : String(error);
    throw new ConfigError(`podman ${args[0] ?? ''} failed: ${detail}`, { cause: error, ...(isMissing(error) ? { code: 'TOOL_MISSING' } : {}) });
  }
}

/**
 * Imports the base image (the runtime, {@link runtimeLayer}) into podman's storage, named by the
 * sha256 of its tar; returns its name. The tar's mtime is the commit time: `podman import` dates
 * the image by it.
 */
async function importBase(context: string, epoch: number, env: NodeJS.ProcessEnv): Promise<string> {
  const tar = join(context, 'base.tar');
  await runtimeLayer(tar, epoch);
  await utimes(tar, epoch, epoch);
  const name = `localhost/maestro-base:${(await fileSha256(tar)).slice(0, 16)}`;
  await podman(['import', '--quiet', tar, name], env);
  return name;
}

/** `node`, its shared libraries, and the few files a process expects in `/etc`. */
async function runtimeLayer(out: string, epoch: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'maestro-release-rootfs-'));
  try {
    const node = await realpath(process.execPath);
    const files = new Map<string, string>([['usr/bin/node', node]]);
    const { stdout } = await run('ldd', [node]);
    for (const line of stdout.split('\n')) {
      // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` or `/lib64/ld-linux-x86-64.so.2 (0x…)`
      const path = /=>\s*(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)/.exec(line)?.[1];
      if (path) files.set(path.slice(1), await realpath(path));
    }
    if (existsSync('/etc/os-release')) files.set('etc/os-release', await realpath('/etc/os-release'));
    for (const [target, source] of files) {
      await mkdir(dirname(join(dir, target)), { recursive: true });
      await copyFile(source, join(dir, target));
    }
    await mkdir(join(dir, 'tmp'), { mode: 0o1777 });
    await writeFile(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/false\nnode:x:1000:1000:node:/app:/bin/false\n');
    await writeFile(join(dir, 'etc', 'group'), 'root:x:0:\nnode:x:1000:\n');
    await run('chmod', ['1777', join(dir, 'tmp')]);
    await deterministicTar(dir, ['.'], out, epoch);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The top-level `node_modules/<name>` folders of the lock's production packages that are installed. */
export async function productionPackageDirs(root: string): Promise<string[]> {
  const lock: unknown = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8'));
  const entries = isRecord(lock) && isRecord(lock['packages']) ? Object.entries(lock['packages']) : [];
  const dirs = new Set<string>();
  for (const [path, entry] of entries) {
    if (!path.startsWith('node_modules/') || !isRecord(entry) || entry['dev'] === true) continue;
    // A nested package ships inside its parent's folder.
    const top = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
    if (top && existsSync(join(root, 'node_modules', top))) dirs.add(top);
  }
  return [...dirs].sort();
}

async function packagesLayer(root: string, out: string, epoch: number): Promise<void> {
  const dirs = await productionPackageDirs(root);
  await deterministicTar(join(root, 'node_modules'), dirs, out, epoch, 'node_modules/');
}

/**
 * A tar of `paths` under `dir` whose bytes depend only on the files' contents, names and modes:
 * sorted names, every mtime `epoch`, owner and group 0 with no names, no atime/ctime (GNU format).
 */
export async function deterministicTar(dir: string, paths: string[], out: string, epoch: number, prefix?: string): Promise<void> {
  const args = [
    '--sort=name',
    `--mtime=@${epoch}`,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--format=gnu',
    '--dereference',
    ...(prefix === undefined ? [] : [`--transform=s,^,${prefix},S`]),
    '-C',
    dir,
    '-cf',
    out,
    '--',
    ...paths,
  ];
  await run('tar', args, BIG);
}

/** The manifest digest an OCI layout's `index.json` names (the image podman saved). */
async function manifestDigest(layout: string): Promise<string> {
  const index: unknown = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
  const manifests = isRecord(index) && Array.isArray(index['manifests']) ? index['manifests'] : [];
  const digest: unknown = isRecord(manifests[0]) ? manifests[0]['digest'] : undefined;
  if (typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest)) throw new ConfigError(`podman saved an OCI layout without a manifest digest in ${layout}/index.json`);
  return digest;
}

function isMissing(error: unknown): boolean {
  return isRecord(error) && error['code'] === 'ENOENT';
}
