/**
 * upstream/ holds files taken unchanged from other projects, each recorded in upstream/sources.json with its URL,
 * version and sha256; imports/ is generated from them by `npm run import`, offline, from this repository alone.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { filesUnder } from '../harness/manifests';
import { ROOT } from '../harness/processes';

const UPSTREAM = path.join(ROOT, 'upstream');
interface Source {
  path: string;
  project: string;
  version: string;
  url: string;
  sha256: string;
}
const sources = JSON.parse(readFileSync(path.join(UPSTREAM, 'sources.json'), 'utf8')) as Source[];
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

test('sources.json records every upstream file once, and nothing else', () => {
  const recorded = sources.map((source) => source.path).sort();
  expect(recorded).toEqual(filesUnder(UPSTREAM).filter((file) => !['README.md', 'sources.json'].includes(file)));
  expect(new Set(recorded).size).toBe(recorded.length);
});

test.each(sources.map((source) => [source.path, source] as const))(
  'upstream/%s is the file its record names: sha256, and a URL at its version',
  (file, source) => {
    expect({ file, sha256: sha256(path.join(UPSTREAM, file)) }).toEqual({ file, sha256: source.sha256 });
    expect(source.url).toMatch(/^https:\/\//);
    // The version as released (v1.6.1), or a commit the record names beside it.
    expect({
      url: source.url,
      atVersion: source.version.split(/[\s()]+/).some((token) => token !== '' && source.url.includes(token)),
    }).toEqual({ url: source.url, atVersion: true });
    expect(source.project).not.toBe('');
  },
);

test('`npm run import` (scripts/import.sh) generates exactly the committed imports/ and lib/imports/ from upstream/ alone', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'import-'));
  const generated = ['imports', 'lib/imports'];
  for (const dir of generated) mkdirSync(path.join(out, dir), { recursive: true });
  try {
    await new Promise<void>((resolve, reject) =>
      execFile(
        'bash',
        [path.join(ROOT, 'scripts', 'import.sh'), out],
        { cwd: ROOT, timeout: 170_000 },
        (error, _stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve()),
      ),
    );
    for (const dir of generated) {
      const committed = filesUnder(path.join(ROOT, dir));
      expect({ dir, files: filesUnder(path.join(out, dir)) }).toEqual({ dir, files: committed });
      for (const file of committed) {
        expect({
          file: `${dir}/${file}`,
          same: readFileSync(path.join(out, dir, file), 'utf8') === readFileSync(path.join(ROOT, dir, file), 'utf8'),
        }).toEqual({ file: `${dir}/${file}`, same: true });
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
