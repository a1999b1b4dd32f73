/**
 * API.md is generated from lib/index.ts and its TSDoc (`npm run docs`); this regenerates it with the same
 * typedoc.json into a temporary directory and fails when the committed file differs, and checks that every type it
 * names is a link: to its own section, or to the reference of Kubernetes, cdk8s or constructs (typedoc.json's
 * externalSymbolLinkMappings; typedoc itself fails on a type it can neither document nor link).
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

/** Names a type position may show unlinked: TypeScript's own types, and the type parameters of the API. */
const UNLINKED = new Set([
  ...['string', 'number', 'boolean', 'object', 'unknown', 'undefined', 'Readonly', 'Record', 'Error'],
  ...['T', 'Condition'],
]);

/**
 * The backticked names in API.md's type positions that are not links: the Type column of its tables, the first line
 * under a Returns heading, and the items under Extends and Implements.
 */
function unlinkedTypeNames(markdown: string): string[] {
  const names: string[] = [];
  const unlinked = (text: string) => [...text.matchAll(/(?<!\[)`([A-Za-z_][A-Za-z0-9_]*)`/g)].map((m) => m[1]);
  let typeColumn = -1;
  let heading = '';
  let linesUnder = 0;
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced || line.trim() === '') continue;
    if (line.startsWith('#')) {
      heading = line.replace(/^#+\s*/, '');
      linesUnder = 0;
      continue;
    }
    if (!line.startsWith('|')) {
      typeColumn = -1;
      const typeLine = heading === 'Returns' ? linesUnder === 0 : ['Extends', 'Implements'].includes(heading);
      if (typeLine) names.push(...unlinked(line));
      linesUnder++;
      continue;
    }
    const cells = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim());
    if (typeColumn === -1) typeColumn = cells.indexOf('Type');
    else if (typeColumn >= 0 && !/^-+$/.test(cells[typeColumn] ?? '')) names.push(...unlinked(cells[typeColumn] ?? ''));
  }
  return names;
}

test('lib/API.md is current with lib/, and links every type it names', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'api-docs-'));
  try {
    await promisify(execFile)(process.execPath, [TYPEDOC, '--out', out, '--logLevel', 'Warn'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).catch((error: { message: string; stdout?: string }) => {
      throw new Error(`typedoc failed: ${error.message}\n${error.stdout ?? ''}`);
    });
    const generated = readFileSync(path.join(out, 'API.md'), 'utf8');
    expect(generated).toContain('### GrpcApp');
    expect(generated).toContain(
      '[`Probe`](https://kubernetes.io/docs/reference/generated/kubernetes-api/v1.32/#probe-v1-core)',
    );
    expect(unlinkedTypeNames(generated).filter((name) => !UNLINKED.has(name))).toEqual([]);
    const difference = firstDifference(readFileSync(path.join(ROOT, 'lib', 'API.md'), 'utf8'), generated);
    if (difference !== undefined)
      throw new Error(`lib/API.md is out of date with lib/: run npm run docs\nfirst difference at ${difference}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 90_000);
