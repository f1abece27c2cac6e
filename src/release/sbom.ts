/**
 * CycloneDX SBOMs of a release: the npm tree (`npm sbom`, from `package-lock.json`) and the image's
 * contents (syft over the OCI archive), each normalised so the same commit gives the same bytes —
 * the timestamp is the commit time, the serial number is derived from the commit and the SBOM's
 * name, and the paths of this build's folders are left out — plus the pure reading of their
 * components that `maestro sbom search` uses.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../errors/index.js';
import { isRecord } from '../ir/index.js';

const run = promisify(execFile);
const BIG = { maxBuffer: 256 * 1024 * 1024 };

/** What a normalised SBOM is stamped with. */
export interface SbomStamp {
  /** The git commit of the release. */
  commit: string;
  /** Seconds since the epoch: the commit time. */
  sourceDateEpoch: number;
  /** The SBOM's file name, e.g. `sbom.npm.cdx.json` (part of its serial number). */
  name: string;
  /** What the SBOM describes: `metadata.component.name` and `.version`. */
  component: { name: string; version: string };
}

/**
 * The npm tree's SBOM (`npm sbom --sbom-format cyclonedx --package-lock-only`): every locked
 * package, production ones with scope `required`, development ones `optional`. Read from the lock,
 * not `node_modules`, so what is installed beside it does not change it.
 */
export async function npmSbom(root: string, stamp: SbomStamp): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await run('npm', ['sbom', '--sbom-format', 'cyclonedx', '--package-lock-only'], { cwd: root, ...BIG }));
  } catch (error) {
    throw new ConfigError(`npm sbom failed in ${root} (npm >= 10 is needed): ${errorText(error)}`, { cause: error });
  }
  return normaliseSbom(JSON.parse(stdout) as unknown, stamp, []);
}

/**
 * The image's SBOM: `syft scan oci-archive:<archive> -o cyclonedx-json`, the packages syft finds
 * in every layer (the npm packages under `/app/node_modules`, the runtime's files).
 */
export async function imageSbom(syft: string, archive: string, stamp: SbomStamp): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await run(syft, ['scan', `oci-archive:${archive}`, '-o', 'cyclonedx-json', '-q', '--source-name', stamp.component.name, '--source-version', stamp.component.version], {
      ...BIG,
      env: { ...process.env, SYFT_CHECK_FOR_APP_UPDATE: 'false' },
    }));
  } catch (error) {
    throw new ConfigError(`syft failed on ${archive}: ${errorText(error)}`, { cause: error });
  }
  return normaliseSbom(JSON.parse(stdout) as unknown, stamp, [archive]);
}

/**
 * Makes an SBOM depend only on what it describes: `metadata.timestamp` = the commit time,
 * `serialNumber` = a UUID from sha256(commit, name), `metadata.component` named as given, and every
 * occurrence of `paths` (this build's temporary and output folders) replaced by the file's base name.
 * Returns the JSON text (2-space indented, newline-terminated).
 */
export function normaliseSbom(sbom: unknown, stamp: SbomStamp, paths: string[]): string {
  if (!isRecord(sbom) || sbom['bomFormat'] !== 'CycloneDX') throw new ConfigError(`${stamp.name}: the scanner did not produce a CycloneDX SBOM`);
  const metadata = isRecord(sbom['metadata']) ? sbom['metadata'] : {};
  const component = isRecord(metadata['component']) ? metadata['component'] : {};
  const normalised = {
    ...sbom,
    serialNumber: `urn:uuid:${uuidFrom(`${stamp.commit}\0${stamp.name}`)}`,
    metadata: {
      ...metadata,
      timestamp: new Date(stamp.sourceDateEpoch * 1000).toISOString(),
      component: { ...component, name: stamp.component.name, version: stamp.component.version },
    },
  };
  let text = `${JSON.stringify(normalised, null, 2)}\n`;
  for (const path of paths) text = text.split(path).join(basename(path));
  return text;
}

/** A UUID (version 5 layout) from sha256 of `seed`. */
function uuidFrom(seed: string): string {
  const bytes = createHash('sha256').update(seed).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** One component of an SBOM, as search reports it. */
export interface SbomComponent {
  /** Full package name, e.g. `@temporalio/worker` (CycloneDX `group` + `/` + `name` when grouped). */
  name: string;
  version: string;
  /** Package URL, when the SBOM gives one. */
  purl?: string;
}

/** The components of a CycloneDX SBOM's JSON text, nested ones included; malformed entries are skipped. */
export function sbomComponents(text: string): SbomComponent[] {
  const sbom: unknown = JSON.parse(text);
  const out: SbomComponent[] = [];
  const visit = (list: unknown): void => {
    if (!Array.isArray(list)) return;
    for (const entry of list) {
      if (!isRecord(entry) || typeof entry['name'] !== 'string' || typeof entry['version'] !== 'string') continue;
      const group = typeof entry['group'] === 'string' && entry['group'] !== '' ? `${entry['group']}/` : '';
      const name = entry['name'].startsWith('@') || group === '' ? entry['name'] : `${group}${entry['name']}`;
      out.push({ name, version: entry['version'], ...(typeof entry['purl'] === 'string' ? { purl: entry['purl'] } : {}) });
      visit(entry['components']);
    }
  };
  visit(isRecord(sbom) ? sbom['components'] : undefined);
  return out;
}

function errorText(error: unknown): string {
  return isRecord(error) && typeof error['stderr'] === 'string' && error['stderr'].trim() !== '' ? error['stderr'].trim().split('\n').slice(-6).join('\n') : String(error);
}
