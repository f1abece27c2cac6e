/**
 * Release commands: `release verify DIR` checks a release folder offline (`npm run release` builds
 * one); `sbom search NAME[@RANGE]` says which recorded release ships which version of a component.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { trustedKeys, trustedKeysOption } from './provenance.js';

/**
 * Adds the release commands. Exit codes: `release verify` 0 verified, 1 not; `sbom search` 0 found,
 * 1 nothing matches; 2 bad input.
 *
 * @param setExitCode receives the command's exit code.
 */
export function registerReleaseCommands(program: Command, setExitCode: (code: number) => void): void {
  const release = program.command('release').description('signed releases: npm package, container image, SBOMs, SLSA attestation (npm run release builds one)');
  release
    .command('verify')
    .description('verify a release folder offline: the attestation signature, every file against its digest, no file unaccounted for, the image and its signature; exit 0 valid, 1 invalid naming the file')
    .argument('<dir>', 'the release folder (release/<version>/ by default)')
    .addOption(trustedKeysOption())
    .option('--json', 'print {ok, file, reason, ...} as JSON')
    .action(async (dir: string, options: { key: string[]; json?: boolean }) => {
      const { verifyRelease } = await import('../release/index.js');
      const result = await verifyRelease(dir, { publicKeys: await trustedKeys(options.key) });
      if (options.json) console.log(JSON.stringify(result, null, 2));
      else if (result.ok) {
        const image = `image ${result.image.digest} ${result.image.signedBy === undefined ? 'unsigned (keyless release)' : `signed by key ${result.image.signedBy}`}`;
        console.log(`${dir}: verified (key ${result.keyId ?? 'keyless'}; commit ${result.revision}; ${image}; ${result.files.length + 1} files: ${result.files.join(', ')}, attestation)`);
      }
      else console.log(`${dir}: NOT verified: ${result.file}: ${result.reason}`);
      setExitCode(result.ok ? 0 : 1);
    });

  program
    .command('sbom')
    .description('the SBOMs of recorded releases (MAESTRO_RELEASES_DIR)')
    .command('search')
    .description('which recorded release ships which version of a component (npm and image SBOMs); exit 0 found, 1 none')
    .argument('<query>', 'NAME[@RANGE], e.g. @temporalio/worker or yaml@^2')
    .option('--json', 'print the matches as JSON')
    .action(async (query: string, options: { json?: boolean }) => {
      const { parseSbomQuery, searchSboms } = await import('../release/index.js');
      const parsed = parseSbomQuery(query);
      const { releasesDir } = loadConfig();
      const matches = await searchSboms(releasesDir, parsed);
      if (options.json) console.log(JSON.stringify({ query: parsed, releasesDir, matches }, null, 2));
      else if (matches.length === 0) console.log(`no recorded release ships ${query} (searched ${releasesDir})`);
      else for (const match of matches) console.log(`${match.release}\t${match.sbom}\t${match.name}@${match.version}`);
      setExitCode(matches.length > 0 ? 0 : 1);
    });
}
