/**
 * `npm run lint` enforces the formatting: it runs `prettier --check .`, which fails on a file Prettier would
 * change. Checked on planted files with the repository's own Prettier configuration.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ROOT, startProcess } from '../harness/processes';

const PRETTIER = path.join(ROOT, 'node_modules', '.bin', 'prettier');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'lint-test-'));
  copyFileSync(path.join(ROOT, '.prettierrc.json'), path.join(dir, '.prettierrc.json'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `prettier --check .` in a folder holding only `file` with `text` and the repository's configuration. */
async function check(file: string, text: string) {
  writeFileSync(path.join(dir, file), text);
  try {
    const prettier = startProcess(PRETTIER, ['--check', '.'], { cwd: dir });
    return { code: await prettier.exited, output: [...prettier.stdout, ...prettier.stderr].join('\n') };
  } finally {
    rmSync(path.join(dir, file));
  }
}

test('npm run lint runs eslint and prettier --check over the whole tree', () => {
  const { scripts } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  expect(scripts.lint).toMatch(/^eslint (--cache --cache-location \S+ )?\. && prettier --check (--cache )?\.$/);
});

test('prettier --check fails on an unformatted file and names it; a formatted one passes', async () => {
  const unformatted = await check('planted.ts', 'export const greeting = "hello" ;\n');
  expect(unformatted.code).toBe(1);
  expect(unformatted.output).toContain('planted.ts');
  expect(await check('planted.ts', "export const greeting = 'hello';\n")).toMatchObject({ code: 0 });
});
