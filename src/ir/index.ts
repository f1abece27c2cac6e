/**
 * The IR module: types and pure helpers, safe inside the Temporal workflow sandbox.
 */
export * from './types.js';
export * from './duration.js';
export * from './template.js';
export * from './expr.js';
export * from './search-attributes.js';
export * from './messages.js';
export * from './concurrency.js';
export * from './values.js';
export * from './json-depth.js';
export * from './signals.js';
