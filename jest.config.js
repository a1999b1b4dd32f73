/**
 * Tests run transpile-only through swc: type-checking the whole tree once is `npm run build` (tsc --noEmit),
 * which `npm test` runs first.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 30_000,
  // Real servers and proxies on loopback: two workers match the two cores without starving them.
  maxWorkers: 2,
};
