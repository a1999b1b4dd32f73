/** scripts/jest-sequencer.js: with no record of durations, the suites it names start first, in its order. */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../../harness/processes';

const SlowestFirst = require('../../scripts/jest-sequencer');
const { SLOWEST } = SlowestFirst as { SLOWEST: string[] };

/** Tests as jest hands them to a sequencer, in a context whose cache is off: no record of durations. */
const tests = (files: readonly string[]) =>
  files.map((file) => ({
    path: path.join(ROOT, file),
    context: { config: { rootDir: ROOT, cache: false }, hasteFS: { getSize: () => 0 } },
  }));

test('every suite it names exists', () => {
  expect(SLOWEST.filter((file) => !existsSync(path.join(ROOT, file)))).toEqual([]);
});

test('with no record, the named suites come first, longest first, then the rest', () => {
  const others = ['test/layout.test.ts', 'test/lint.test.ts'];
  const order = new SlowestFirst({})
    .sort(tests([...others, ...[...SLOWEST].reverse()]))
    .map((test: { path: string }) => path.relative(ROOT, test.path));
  expect(order.slice(0, SLOWEST.length)).toEqual(SLOWEST);
  expect(order.slice(SLOWEST.length).sort()).toEqual(others);
});
