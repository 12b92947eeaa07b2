// Mutation testing of the pure core: `make mutation` (docs/testing.md). Not part of CI.
//
// Run from the repository root: `tools/mutation/node_modules/.bin/stryker run tools/mutation/stryker.config.mjs`.
// Stryker 9.6.1 (the last release that runs on Node 20) with its mocha runner, which loads
// mocha < 12 only: that mocha 11 lives in tools/mutation/node_modules, apart from the project's
// mocha 12. Stryker copies the project into a sandbox, instruments the `mutate` files there,
// compiles the sandbox with tsc (`buildCommand`) and runs the compiled specs with mocha 11.

/** The pure core: no I/O, no clock of its own. */
const mutate = [
  'src/domain/**/*.ts',
  'src/queue/**/*.ts',
  'src/status/phase.ts',
  'src/config.ts',
  'src/docker/items.ts',
  'src/docker/json-array-stream.ts',
  'src/docker/events.ts',
];

/** Specs that start no server (no dockerd, MariaDB, Podman or service process), compiled. */
const spec = [
  'dist/spec/domain/**/*.spec.js',
  'dist/spec/queue/**/*.spec.js',
  'dist/spec/status/phase*.spec.js',
  'dist/spec/config*.spec.js',
  'dist/spec/docker/parsing*.spec.js',
  'dist/spec/docker/items*.spec.js',
  'dist/spec/docker/events*.spec.js',
  'dist/spec/docker/json-array-stream*.spec.js',
  'dist/spec/metrics.spec.js',
  'dist/spec/cache/**/*.spec.js',
  'dist/spec/refusals/**/*.spec.js',
  'dist/spec/unit/**/*.spec.js',
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  plugins: ['@stryker-mutator/mocha-runner'],
  testRunner: 'mocha',
  mochaOptions: {
    spec,
    // The project's .mocharc.json loads the server teardown hooks; these specs need none.
    'no-config': true,
    'no-package': true,
  },
  mutate,
  buildCommand: 'npx tsc -p tsconfig.json',
  coverageAnalysis: 'perTest',
  concurrency: 2,
  // Mutants that loop for ever are timed out: 3 s plus 1.5 x the test's own time.
  timeoutMS: 3000,
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  clearTextReporter: { allowColor: false, reportTests: false, logTests: false },
  thresholds: { high: 85, low: 80, break: null },
  ignorePatterns: ['/dist', '/.tmp', '/data', '/reports', '/tools', '/coverage', '*.log'],
  tempDirName: '.tmp/stryker',
  cleanTempDir: true,
};
