/** Settings of releases (`npm run release`, `maestro release`, `maestro sbom search`): where releases are recorded. */
import { resolve } from 'node:path';
import { Type } from '@sinclair/typebox';
import { section, setting, type SettingsOf } from '../setting.js';

/** Where built releases are recorded. */
export const releaseSection = section('release', 'Releases: where `npm run release` records each release (its attestation and SBOMs) for `maestro sbom search`.', {
  releasesDir: setting(Type.String({ minLength: 1 }), {
    env: 'MAESTRO_RELEASES_DIR',
    path: true,
    defaultFrom: (settings) => resolve(String(settings.dataDir), 'releases'),
    shownDefault: '<dataDir>/releases',
    description: 'Folder of recorded releases, one sub-folder per release with its `release.json`, attestation and CycloneDX SBOMs; `maestro sbom search` reads every one.',
  }),
});

/** Releases (see {@link releaseSection}). */
export type ReleaseSettings = SettingsOf<typeof releaseSection>;
