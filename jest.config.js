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
  testTimeout: 30_000,
  // Real servers and proxies on loopback: two workers match the two cores without starving them.
  maxWorkers: 2,
};
