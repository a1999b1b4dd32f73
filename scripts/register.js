/**
 * The fast synth path: run TypeScript transpile-only through swc, and keep each transpiled file in a
 * content-addressed cache, so a second run compiles nothing. Type-checking is `npm run build` (tsc --noEmit).
 * ts-node (what `npm run server` uses) spends ~0.6 s loading the TypeScript compiler even with swc; the generated
 * Istio classes are 1 MB of TypeScript. Used by `npm run synth`, `npx cdk8s synth` and the synth benchmark.
 */
'use strict';
require('./workspaces');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

// SWC_REGISTER_CACHE_DIR lets the synth benchmark measure a cold cache without touching the real one.
const CACHE_DIR =
  process.env.SWC_REGISTER_CACHE_DIR || path.join(__dirname, '..', 'node_modules', '.cache', 'swc-register');
const SWC_OPTIONS = {
  module: { type: 'commonjs' },
  jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
};
// The swc version and options are part of every key, so an upgrade or a change here never serves stale code.
const KEY_PREFIX = `${require('@swc/core/package.json').version}\0${JSON.stringify(SWC_OPTIONS)}\0`;

let swc;
function transpile(source, filename) {
  const key = crypto.createHash('sha256').update(KEY_PREFIX).update(filename).update('\0').update(source).digest('hex');
  const cached = path.join(CACHE_DIR, `${key}.js`);
  try {
    return fs.readFileSync(cached, 'utf8');
  } catch {
    swc ??= require('@swc/core');
    const { code } = swc.transformSync(source, { ...SWC_OPTIONS, filename });
    // Write then rename: a concurrent reader sees the whole file or none.
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    const temporary = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, code);
    fs.renameSync(temporary, cached);
    return code;
  }
}

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  module._compile(transpile(fs.readFileSync(filename, 'utf8'), filename), filename);
};
