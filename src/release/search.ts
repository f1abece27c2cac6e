/**
 * `maestro sbom search NAME[@RANGE]`: which recorded release ships which version of a component,
 * from the npm and image SBOMs of every release under the releases folder.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { ParamsError } from '../errors/index.js';
import { isRecord } from '../ir/index.js';
import { RELEASE_FILE, SBOM_FILES } from './build.js';
import { sbomComponents } from './sbom.js';

/** Largest SBOM read: the image SBOM of a release is a few MB. */
const SBOM_MAX_BYTES = 64 * 1024 * 1024;

/** A parsed query: a package name, and a semver range or `undefined` for any version. */
export interface SbomQuery {
  name: string;
  range: string | undefined;
}

/** One hit: a release shipping a version of the component, found in one of its SBOMs. */
export interface SbomMatch {
  /** The release folder's name, e.g. `0.1.0-3dc35ec1a2b4`. */
  release: string;
  /** The release's version and commit (`release.json`). */
  releaseVersion: string;
  commit: string;
  /** Which SBOM: the npm tree or the image's contents. */
  sbom: keyof typeof SBOM_FILES;
  name: string;
  version: string;
  purl?: string;
}

/**
 * Parses `NAME[@RANGE]`: `@temporalio/worker`, `@temporalio/worker@^1.24`, `yaml@2.8.1`.
 * @throws ParamsError for an empty name or a range semver cannot read.
 */
export function parseSbomQuery(text: string): SbomQuery {
  const at = text.indexOf('@', 1);
  const name = at === -1 ? text : text.slice(0, at);
  const range = at === -1 ? undefined : text.slice(at + 1);
  if (name === '' || name.length > 214) throw new ParamsError([{ name: 'NAME[@RANGE]', message: `"${text}" names no package (e.g. @temporalio/worker@^1.24)` }]);
  if (range !== undefined && semver.validRange(range) === null) throw new ParamsError([{ name: 'NAME[@RANGE]', message: `"${range}" is not a semver range (e.g. ^1.24, 1.2.3, >=2 <3)` }]);
  return { name, range };
}

/** True when `version` is in `range` (any version when there is no range; a non-semver version only by equality). */
export function versionMatches(version: string, range: string | undefined): boolean {
  if (range === undefined) return true;
  if (semver.valid(version) === null) return version === range;
  return semver.satisfies(version, range, { includePrerelease: true });
}

/** Searches every release recorded under `releasesDir` (an absent folder has none). */
export async function searchSboms(releasesDir: string, query: SbomQuery): Promise<SbomMatch[]> {
  const releases = await readdir(releasesDir).catch((error: unknown) => (isRecord(error) && error['code'] === 'ENOENT' ? [] : Promise.reject(error)));
  const out: SbomMatch[] = [];
  for (const release of releases.sort()) {
    const dir = join(releasesDir, release);
    const record = await readJson(join(dir, RELEASE_FILE));
    if (!isRecord(record) || typeof record['version'] !== 'string' || typeof record['commit'] !== 'string') continue;
    for (const sbom of Object.keys(SBOM_FILES) as (keyof typeof SBOM_FILES)[]) {
      const path = join(dir, SBOM_FILES[sbom]);
      const info = await lstat(path).catch(() => undefined);
      if (!info?.isFile() || info.size > SBOM_MAX_BYTES) continue;
      const seen = new Set<string>();
      for (const component of sbomComponents(await readFile(path, 'utf8'))) {
        const key = `${component.name}@${component.version}`;
        if (component.name !== query.name || !versionMatches(component.version, query.range) || seen.has(key)) continue;
        seen.add(key);
        out.push({ release, releaseVersion: record['version'], commit: record['commit'], sbom, ...component });
      }
    }
  }
  return out;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch {
    // A folder without a readable release.json is not a recorded release: search skips it.
    return undefined;
  }
}
