/**
 * Storage: the artifact store that keeps large outputs out of workflow history.
 */
export {
  FsArtifactStore,
  isArtifactRef,
  offloadLargeFields,
  resolveArtifactRefs,
  type ArtifactStore,
  type FsArtifactStoreOptions,
} from './artifact-store.js';
