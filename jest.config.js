/**
 * Tests run transpile-only through swc: type-checking the whole tree once is `npm run build` (tsc --noEmit),
 * which `npm test` runs first. Workspace packages imported by name resolve to their source, as in
 * scripts/workspaces.js.
 * @type {import('jest').Config}
 */
const { sourceEntries } = require('./scripts/workspaces');

const escape = (name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  moduleNameMapper: Object.fromEntries(
    Object.entries(sourceEntries()).map(([name, entry]) => [`^${escape(name)}$`, entry]),
  ),
  // Only catches a hang: tests wait for events, each wait bounded by harness/wait.ts HANG_MS (2 minutes), and a busy
  // machine may make a test ten times slower than a quiet one.
  testTimeout: 300_000,
  // Real servers and proxies on loopback: two workers match the two cores without starving them.
  maxWorkers: 2,
  // How long a worker may take to exit once told to: at that moment a worker holds only its IPC and stdio pipes
  // (process.getActiveResourcesInfo()), but on a busy 2-core machine its exit can take longer than jest's 500 ms,
  // which jest then reports as a leak. A handle left open still keeps it past this bound, and is reported.
  workerGracefulExitTimeout: 10_000,
  testSequencer: '<rootDir>/scripts/jest-sequencer.js',
};
