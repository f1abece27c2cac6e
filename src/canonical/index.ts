/**
 * Canonical JSON (RFC 8785) and sha256 digests: the ground layer every module that hashes or signs
 * a value uses, so that one value has one digest everywhere.
 */
export { canonicalJson, canonicalSha256, digestOf, hexOf, outputsJson, outputsSha256, sha256Hex } from './digest.js';
