/**
 * API.md is generated from lib/index.ts and its TSDoc (`npm run docs`); this regenerates it with the same
 * typedoc.json into a temporary directory and fails when the committed file differs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '..', '..');
const TYPEDOC = path.join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');

/** The first line where two texts differ, both versions of it, or undefined when they are equal. */
function firstDifference(committed: string, generated: string): string | undefined {
  if (committed === generated) return undefined;
  const [a, b] = [committed.split('\n'), generated.split('\n')];
  const line = a.findIndex((text, i) => text !== b[i]);
  const at = line === -1 ? a.length : line;
  return `line ${at + 1}:\n  committed: ${JSON.stringify(a[at] ?? '<end of file>')}\n  generated: ${JSON.stringify(b[at] ?? '<end of file>')}`;
}

test('lib/API.md is current with lib/', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'api-docs-'));
  try {
    await promisify(execFile)(process.execPath, [TYPEDOC, '--out', out, '--logLevel', 'Error'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const generated = readFileSync(path.join(out, 'API.md'), 'utf8');
    expect(generated).toContain('### GrpcApp');
    const difference = firstDifference(readFileSync(path.join(ROOT, 'lib', 'API.md'), 'utf8'), generated);
    if (difference !== undefined)
      throw new Error(`lib/API.md is out of date with lib/: run npm run docs\nfirst difference at ${difference}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 90_000);
