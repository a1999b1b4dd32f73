/**
 * The README and docs/ say what the code does: the settings tables are the programs' own `--help`, every relative
 * link resolves, the Quickstart's commands name what the Docker Desktop environment renders, the Node versions match
 * `engines` and the Dockerfile, and nothing user-facing speaks of "the seed".
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { ENVIRONMENTS, GITOPS, IMAGE_NAMES } from '../deploy';
import { ROOT } from '../harness/processes';
import { SETTINGS_DOC, renderedSettingsDoc } from '../scripts/settings-doc';

const README = path.join(ROOT, 'README.md');
const DOCS = path.join(ROOT, 'docs');
const pages = [
  README,
  ...readdirSync(DOCS)
    .filter((file) => file.endsWith('.md'))
    .map((file) => path.join(DOCS, file)),
];
const read = (file: string) => readFileSync(file, 'utf8');
/** Markdown without its fenced code blocks, where a `[x](y)` is code, not a link. */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```/gm, '');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
const anchorsOf = (file: string) =>
  new Set([...prose(read(file)).matchAll(/^#{1,6} (.+)$/gm)].map((match) => slug(match[1])));

test('docs/settings.md lists exactly the settings the server and client print with --help (run `npm run docs:settings` if not)', async () => {
  expect(await renderedSettingsDoc()).toBe(read(SETTINGS_DOC));
});

test.each(pages.map((page) => [path.relative(ROOT, page), page]))(
  'every relative link in %s resolves to a file (and a heading, for #anchors)',
  (_, page) => {
    const links = [...prose(read(page)).matchAll(/\]\(([^)\s]+)\)/g)]
      .map((match) => match[1])
      .filter((link) => !/^[a-z]+:/.test(link));
    const broken = links.filter((link) => {
      const [file, anchor] = link.split('#');
      const target = file === '' ? page : path.resolve(path.dirname(page), file);
      if (!existsSync(target)) return true;
      return (
        anchor !== undefined && statSync(target).isFile() && target.endsWith('.md') && !anchorsOf(target).has(anchor)
      );
    });
    if (page === README) expect(links.length).toBeGreaterThan(0);
    expect(broken).toEqual([]);
  },
);

describe('README', () => {
  const readme = read(README);

  test('stays under 20 KB, with no "seed" there, in docs/ or in the library\'s README and API.md', () => {
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(20 * 1024);
    for (const file of [...pages, path.join(ROOT, 'lib', 'API.md'), path.join(ROOT, 'lib', 'README.md')])
      expect({ file, seed: /\bseed\b/i.test(read(file)) }).toEqual({ file, seed: false });
  });

  test('the Quickstart takes at most 12 commands, and they name what dist/docker-desktop/ renders', () => {
    const section = readme.slice(
      readme.indexOf('## Quickstart'),
      readme.indexOf('\n## ', readme.indexOf('## Quickstart') + 1),
    );
    const commands = /```sh\n([\s\S]*?)```/.exec(section)![1].trim().split('\n');
    expect(commands.length).toBeLessThanOrEqual(12);
    const env = ENVIRONMENTS['docker-desktop'];
    const script = commands.join('\n');
    expect(script).toContain(`kubectl create secret tls ${env.tls.secretName} -n ${env.namespaces.gateway} `);
    expect(script).toContain(`kubectl apply -f dist/${env.name}/${env.argoCd.strategy}/`);
    expect(existsSync(path.join(ROOT, 'dist', env.name, env.argoCd.strategy))).toBe(true);
    expect(script).toContain(`kubectl -n ${env.namespaces.app} rollout status deploy/greeter`);
    for (const image of Object.values(IMAGE_NAMES)) expect(script).toContain(`-t ${image}:$VERSION`);
    // The one place a fork edits for Argo CD, named where a newcomer starts.
    expect(section).toContain('`GITOPS` in `deploy/gitops.ts`');
    expect(readFileSync(path.join(ROOT, 'deploy', 'gitops.ts'), 'utf8')).toContain(`repoURL: '${GITOPS.repoURL}'`);
  });

  test('states the Node versions the tests run on (`engines`) and the images run (the Dockerfile)', () => {
    const engines = (JSON.parse(read(path.join(ROOT, 'package.json'))) as { engines: { node: string } }).engines.node;
    expect(engines).toMatch(/^>=20\.19$/);
    const imageMajor = /^ARG NODE_MAJOR=(\d+)$/m.exec(read(path.join(ROOT, 'Dockerfile')))![1];
    expect(readme).toContain(`tests: 20.19 or later (CI: 20.20); images: ${imageMajor} LTS`);
    // Node 20 reached end of life on 2026-04-30: no stage of the images may build on it.
    expect(read(path.join(ROOT, 'Dockerfile'))).not.toMatch(/node(js)?:?20/);
  });
});

test('git ignores what `npm pack` writes', () => {
  expect(execFileSync('git', ['check-ignore', 'grpc-k8s-lb-0.1.0.tgz'], { cwd: ROOT, encoding: 'utf8' }).trim()).toBe(
    'grpc-k8s-lb-0.1.0.tgz',
  );
});
