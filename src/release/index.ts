/**
 * Releases: `npm run release` builds the npm package, the container image, their CycloneDX SBOMs
 * and a signed SLSA attestation naming them all; `maestro release verify` checks a release folder
 * offline; `maestro sbom search` finds which recorded release ships which version of a component.
 */
export {
  ATTESTATION_FILE,
  IMAGE_SIGNATURE_FILE,
  LOCAL_IMAGE_REPOSITORY,
  MAESTRO_RELEASE_BUILD_TYPE,
  RELEASE_FILE,
  SBOM_FILES,
  buildRelease,
  type BuildReleaseOptions,
  type BuiltRelease,
  type ImagePublication,
  type ImageSignatureFile,
  type ReleaseRecord,
} from './build.js';
export { buildImage, deterministicTar, productionPackageDirs, type BuildImageOptions, type BuiltImage } from './image.js';
export { normaliseSbom, sbomComponents, type SbomComponent, type SbomStamp } from './sbom.js';
export { parseSbomQuery, searchSboms, versionMatches, type SbomMatch, type SbomQuery } from './search.js';
export { verifyRelease, type ReleaseVerification, type VerifyReleaseOptions } from './verify.js';
