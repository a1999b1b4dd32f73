/**
 * Jest's own order (what failed last time first, then the longest by its record of durations, else the largest
 * files), except with no record, as in a fresh clone such as CI's: then the suites that take longest start first,
 * so that neither of the two workers ends the run with one of them on its own while the other has nothing left.
 */
'use strict';
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

/** The longest suites, longest first (measured: docs/development.md). */
const SLOWEST = [
  'test/app/xds.test.ts',
  'test/demo/load-balancing.test.ts',
  'test/app/faults.test.ts',
  'test/package/library.test.ts',
  'test/demo/demo-cleanup.test.ts',
  'test/bench/strategies.test.ts',
  'test/package/api-docs.test.ts',
  'test/upstream.test.ts',
  'test/app/process.test.ts',
  'test/app/hardening.test.ts',
  'test/app/client.test.ts',
  'test/app/compiled.test.ts',
  'test/package/check.test.ts',
];

class SlowestFirst extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    if (sorted.some((test) => this.time(test) !== undefined)) return sorted;
    const rank = (test) => {
      const index = SLOWEST.indexOf(path.relative(test.context.config.rootDir, test.path).split(path.sep).join('/'));
      return index === -1 ? SLOWEST.length : index;
    };
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = SlowestFirst;
module.exports.SLOWEST = SLOWEST;
