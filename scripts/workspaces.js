/**
 * In this repository a workspace package is imported by its name (`import … from 'grpc-k8s-lb-common'`) exactly as
 * its users import it, but resolves to its TypeScript source (`<folder>/index.ts`), not to the build/ it publishes:
 * nothing has to be built before tests, synth or the scripts run. Loaded for its side effect by scripts/register.js
 * and by ts-node (tsconfig.json `ts-node.require`); jest.config.js maps the same names. tsconfig.json's `paths` say
 * the same to tsc, and test/layout.test.ts checks that they agree.
 */
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

/** Each workspace with a source entry: its package name → `<folder>/index.ts`. */
function sourceEntries() {
  const { workspaces } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const entries = {};
  for (const folder of workspaces) {
    const entry = path.join(ROOT, folder, 'index.ts');
    if (!fs.existsSync(entry)) continue;
    const { name } = JSON.parse(fs.readFileSync(path.join(ROOT, folder, 'package.json'), 'utf8'));
    entries[name] = entry;
  }
  return entries;
}

const entries = sourceEntries();
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveWorkspaceSource(request, ...rest) {
  return resolveFilename.call(this, Object.hasOwn(entries, request) ? entries[request] : request, ...rest);
};

module.exports = { sourceEntries };
