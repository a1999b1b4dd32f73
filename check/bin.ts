#!/usr/bin/env node
/**
 * The grpc-lb-check process: its arguments, standard streams and exit status around {@link main}. From source
 * (`npm run check`) it validates against the repository's upstream/. Packed, scripts/bundle-check.ts bundles it with
 * its dependencies into the package's build/check/grpc-lb-check.js and defines PACKED_DATA_DIR: the directory beside
 * the bundle that holds the schemas, so the installed command needs no dependency and no repository.
 */
import * as path from 'node:path';
import { main } from './cli';

/** Defined by the bundler (esbuild `define`): the data directory, relative to the bundle; undeclared from source. */
declare const PACKED_DATA_DIR: string | undefined;

main(
  process.argv.slice(2),
  {
    stdin: process.stdin,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  },
  { dataDir: typeof PACKED_DATA_DIR === 'string' ? path.join(__dirname, PACKED_DATA_DIR) : undefined },
).then((status) => {
  process.exitCode = status;
});
