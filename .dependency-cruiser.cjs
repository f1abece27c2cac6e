// Maestro's import rules, checked by `npm run lint:deps` (part of `npm test`): the layers of
// ARCHITECTURE.md, bottom to top, where a module imports only from its own layer or lower ones;
// no import cycles; and `src/` never imports `workers/` or `interpreters/`. Tests (`*.test.ts`,
// `test/`) may import anything and are not cruised. The workflow sandbox rule (what
// `interpreters/` and `src/ir` may import) is ESLint's, in eslint.config.js.

/**
 * Bottom to top. Each layer names its `src/` folders (`workers/` and `interpreters/` are top-level
 * folders); modules of one layer may import each other (the cycle rule keeps that one way).
 */
const LAYERS = [
  // Canonical JSON and digests, errors, the IR, the egress guard, the worker-thread pool.
  { name: 'ground', folders: ['errors', 'ir', 'canonical', 'egress', 'threads'] },
  // Settings, the task ABI, the task registry (type and lookup only), secrets, the payload codec,
  // traces and metrics.
  { name: 'settings', folders: ['config', 'sdk', 'catalog', 'secrets', 'codec', 'telemetry'] },
  // YAML with positions -> validated manifest -> IR + digest.
  { name: 'manifest', folders: ['manifest', 'compiler'] },
  // Registry, audit log, task log, artifacts, blobs; the Temporal client calls.
  { name: 'storage', folders: ['store', 'client'] },
  // Receipts, signing, verification; the task cache; releases (artefacts, SBOMs, attestation).
  { name: 'provenance', folders: ['provenance', 'cache', 'release'] },
  // Where an attempt executes; the PDP and decision log.
  { name: 'execution', folders: ['runners', 'policy'] },
  // The built-in tasks and connectors.
  { name: 'tasks', folders: ['tasks'] },
  // Task attempts; the one run-start path and run reads.
  { name: 'runs', folders: ['activities', 'runs'] },
  // Webhook and message triggers: start runs for events, through runs/.
  { name: 'triggers', folders: ['triggers'] },
  // The Temporal worker and the one workflow.
  { name: 'worker', folders: ['worker', 'workers/', 'interpreters/'] },
  // Entry points.
  { name: 'entry', folders: ['api', 'cli', 'devserver'] },
];

/** Path pattern of a layer entry: `src/<name>/`, or the top-level folder itself. */
const folder = (name) => (name.endsWith('/') ? `^${name}` : `^src/${name}/`);
const anyOf = (names) => `(${names.map(folder).join('|')})`;

const TESTS = ['\\.test\\.ts$', '^test/'];

/** One rule per layer: what it may not import (every layer above it). */
const layerRules = LAYERS.slice(0, -1).map(({ name, folders }, index) => {
  const above = LAYERS.slice(index + 1).flatMap((layer) => layer.folders);
  const below = LAYERS.slice(0, index).flatMap((layer) => layer.folders);
  return {
    name: `layer-${name}`,
    severity: 'error',
    comment:
      `layer "${name}" (${folders.join(', ')}) imports only from itself and below (${below.join(', ') || 'nothing'}), ` +
      `never from a layer above (${above.join(', ')}): move what both need down instead.`,
    from: { path: anyOf(folders), pathNot: TESTS },
    to: { path: anyOf(above) },
  };
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Imports go one way: break the cycle by moving what both sides need into a lower module.',
      from: { pathNot: TESTS },
      to: { circular: true },
    },
    {
      name: 'src-not-workers-interpreters',
      severity: 'error',
      comment: 'src/ never imports workers/ or interpreters/: move what they share down into src/ (the interpreter is bundled from its file path).',
      from: { path: '^src/', pathNot: TESTS },
      to: { path: '^(workers|interpreters)/' },
    },
    {
      name: 'layer-unknown',
      severity: 'error',
      comment: 'Every src/ module has a layer: add the new folder to LAYERS in .dependency-cruiser.cjs (and to ARCHITECTURE.md).',
      from: { pathNot: TESTS },
      to: { path: '^src/[^/]+/', pathNot: anyOf(LAYERS.flatMap((layer) => layer.folders)) },
    },
    {
      name: 'no-deep-imports',
      severity: 'error',
      comment:
        "A module's index.ts is its only door: import another src/ module through it, not a file inside it. " +
        'Exceptions: a lazy `await import()` (the CLI loads the API only when it serves), and the SDK, ' +
        'which reads two files of the IR directly so that the packed SDK compiles only what it uses.',
      from: { path: '^src/([^/]+)/', pathNot: [...TESTS, '^src/sdk/'] },
      to: { path: '^src/[^/]+/.', pathNot: ['^src/$1/', '^src/[^/]+/index\\.ts$'], dynamic: false },
    },
    {
      name: 'no-deep-imports-sdk',
      severity: 'error',
      comment: 'The SDK imports from the IR only ir/types.ts and ir/values.ts (what `npm pack` compiles), and no other module directly.',
      from: { path: '^src/sdk/', pathNot: TESTS },
      to: { path: '^src/(?!sdk/)[^/]+/.', pathNot: ['^src/[^/]+/index\\.ts$', '^src/ir/(types|values)\\.ts$'] },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['(^|/)node_modules/', ...TESTS] },
    // Type-only imports count: an upward `import type` is an upward dependency too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
