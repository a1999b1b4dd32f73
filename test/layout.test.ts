/**
 * The layout's import directions, checked on every .ts, .mjs, .cjs and .js file of the repository: what each folder
 * may import, read from the import, export-from, require() and import() specifiers TypeScript's own pre-processor
 * finds (comments and strings that merely look like imports are not imports). Relative specifiers and the
 * workspaces' package names both count.
 */
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { ROOT } from '../harness/processes';
import { sourceEntries } from '../scripts/workspaces';

/** A rule: files under `from` import nothing under any of `forbidden`, except the paths in `allowed`. */
interface ImportRule {
  readonly from: string;
  readonly forbidden: readonly string[];
  readonly allowed?: readonly string[];
  readonly why: string;
}

const RULES: readonly ImportRule[] = [
  { from: 'demo/', forbidden: ['test/'], why: 'demo shares code with tests through harness/' },
  { from: 'bench/', forbidden: ['test/'], why: 'benchmarks share code with tests through harness/' },
  { from: 'test/', forbidden: ['demo/', 'bench/'], why: 'tests share code with demo and bench through harness/' },
  {
    from: 'harness/',
    forbidden: ['test/', 'demo/', 'bench/'],
    why: 'the harness is shared: it imports none of its users',
  },
  {
    from: 'common/',
    forbidden: ['lib/', 'check/', 'resolver/', 'app/', 'deploy/', 'harness/', 'test/', 'demo/', 'bench/', 'main.ts'],
    why: 'grpc-k8s-lb-common is what the packages share: it imports none of them',
  },
  {
    from: 'lib/',
    forbidden: ['deploy/', 'harness/', 'test/', 'demo/', 'bench/', 'main.ts', 'app/', 'check/', 'resolver/'],
    why: 'the construct library ships alone: of this repository it imports only grpc-k8s-lb-common',
  },
  {
    from: 'check/',
    forbidden: ['lib/', 'deploy/', 'harness/', 'test/', 'demo/', 'bench/', 'main.ts', 'app/', 'resolver/'],
    why: 'grpc-lb-check ships alone, without cdk8s: of this repository it imports only grpc-k8s-lb-common',
  },
  {
    from: 'resolver/',
    forbidden: ['lib/', 'check/', 'common/', 'deploy/', 'harness/', 'test/', 'demo/', 'bench/', 'main.ts', 'app/'],
    why: 'the kubernetes:/// resolver ships alone, with the Kubernetes client as its one dependency',
  },
  {
    from: 'app/',
    forbidden: ['lib/', 'check/', 'deploy/', 'harness/'],
    why: 'the greeter app ships alone, with its runtime dependencies only',
  },
  {
    from: 'deploy/',
    // Everything under lib/ but its public entry point (`../lib`, `../lib/index`).
    forbidden: ['harness/', 'test/', 'demo/', 'bench/', 'lib/'],
    allowed: ['lib', 'lib/index'],
    why: "this repository's deployment uses the library through its public entry point, never test code",
  },
];

/** A source file by its path from the repository root, with `/` separators. */
interface SourceFile {
  readonly path: string;
  readonly text: string;
}

const SOURCE = /\.(ts|mts|cts|mjs|cjs|js)$/;
const EXTENSIONS = ['.ts', '.mts', '.cts', '.mjs', '.cjs', '.js', '.json'];
/** Generated code, output, dependencies and build products: none of them is the layout. */
const SKIPPED_DIRS = new Set(['node_modules', 'build', 'dist', 'imports', 'coverage']);

/** Every specifier a file imports, exports from, requires or dynamically imports. */
function importSpecifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);
}

/**
 * The repository path a specifier names (`lib/grpc-app`, `app/settings.ts`, `main.ts`), or undefined for a package
 * that is not one of the workspaces. Paths stay as written: a rule on a folder does not need the extension.
 */
function importTarget(
  file: string,
  specifier: string,
  workspaces: Readonly<Record<string, string>>,
): string | undefined {
  if (specifier.startsWith('.')) return path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
  const [scopeOrName, ...rest] = specifier.split('/');
  const name = scopeOrName.startsWith('@') ? `${scopeOrName}/${rest.shift()}` : scopeOrName;
  const folder = workspaces[name];
  // A package's own name is its folder: `grpc-k8s-lb` is `lib`, as `../lib` is.
  return folder === undefined ? undefined : path.posix.join(folder, ...rest).replace(/\/$/, '');
}

/** Whether a target is a path, or under a folder, that a rule names (`app/settings` matches `app/settings.ts`). */
function matches(target: string, entry: string): boolean {
  if (entry.endsWith('/')) return target === entry.slice(0, -1) || target.startsWith(entry);
  return (
    [entry, ...EXTENSIONS.map((ext) => entry.replace(/\.[a-z]+$/, '') + ext)].includes(target) ||
    target === entry.replace(/\.[a-z]+$/, '')
  );
}

/** Every import that breaks a rule, as `<file> imports '<specifier>' (<target>): <why>`. */
function layoutViolations(
  files: readonly SourceFile[],
  rules: readonly ImportRule[],
  workspaces: Readonly<Record<string, string>>,
): string[] {
  const violations: string[] = [];
  for (const file of files) {
    for (const rule of rules.filter((r) => file.path.startsWith(r.from))) {
      for (const specifier of importSpecifiers(file.text)) {
        const target = importTarget(file.path, specifier, workspaces);
        if (target === undefined) continue;
        const forbidden =
          rule.forbidden.some((entry) => matches(target, entry)) &&
          !(rule.allowed ?? []).some((entry) => matches(target, entry));
        if (forbidden) violations.push(`${file.path} imports '${specifier}' (${target}): ${rule.why}`);
      }
    }
  }
  return violations;
}

/** The repository's source files, skipping generated code, output and dependencies. */
function sourceFiles(dir = ''): SourceFile[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory())
      return entry.name.startsWith('.') || SKIPPED_DIRS.has(entry.name) ? [] : sourceFiles(relative);
    return entry.isFile() && SOURCE.test(entry.name)
      ? [{ path: relative, text: readFileSync(path.join(ROOT, relative), 'utf8') }]
      : [];
  });
}

/** The workspaces' package names, each to its folder: `import 'greeter-app/client'` is an import of app/. */
function workspaceFolders(): Record<string, string> {
  const { workspaces } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
  return Object.fromEntries(
    workspaces.map((folder) => [
      JSON.parse(readFileSync(path.join(ROOT, folder, 'package.json'), 'utf8')).name as string,
      `${folder}/`,
    ]),
  );
}

describe('the repository', () => {
  const files = sourceFiles();
  const workspaces = workspaceFolders();

  test('every folder a rule names has source files, whose imports the checker reads', () => {
    for (const rule of RULES)
      expect({ folder: rule.from, files: files.some((f) => f.path.startsWith(rule.from)) }).toEqual({
        folder: rule.from,
        files: true,
      });
    // Imports that must be there, so an empty parse cannot pass: tests use the harness, the library the app's settings.
    const targets = (folder: string) =>
      files
        .filter((f) => f.path.startsWith(folder))
        .flatMap((f) => importSpecifiers(f.text).map((s) => importTarget(f.path, s, workspaces)));
    expect(targets('test/').some((t) => t?.startsWith('harness/'))).toBe(true);
    expect(targets('lib/')).toContain('common');
    expect(Object.values(workspaces).sort()).toEqual(['app/', 'check/', 'common/', 'lib/', 'resolver/']);
  });

  test('tsc resolves each workspace package by name to the source the tests and scripts run (scripts/workspaces.js)', () => {
    const { compilerOptions } = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile).config as {
      compilerOptions: { paths: Record<string, string[]> };
    };
    const fromTsconfig = Object.fromEntries(
      Object.entries(compilerOptions.paths).map(([name, [entry]]) => [name, path.join(ROOT, entry)]),
    );
    expect(fromTsconfig).toEqual(sourceEntries());
  });

  test('imports only in the directions the layout allows', () => {
    expect(layoutViolations(files, RULES, workspaces)).toEqual([]);
  });
});

describe('the checker', () => {
  const workspaces = {
    'grpc-k8s-lb': 'lib/',
    'greeter-app': 'app/',
    'grpc-k8s-lb-common': 'common/',
    'grpc-lb-check': 'check/',
  };
  const check = (file: string, text: string) => layoutViolations([{ path: file, text }], RULES, workspaces);

  test.each([
    ['demo/lb.ts', "import { startPods } from '../test/support/pods';"],
    ['bench/lb.ts', "const { fixture } = require('../test/fixtures');"],
    ['bench/soak.ts', "export { fixture } from '../test/fixtures';"],
    ['test/lb/load.test.ts', "const demo = await import('../../demo/lb');"],
    ['test/lb/load.test.ts', "import type { Row } from '../../bench/h2load';"],
    ['harness/pods.ts', "import '../demo/lb';"],
    ['harness/pods.ts', "import { x } from '../test/app/server.test';"],
    ['lib/grpc-app.ts', "import { ENVIRONMENTS } from '../deploy';"],
    ['lib/internal/names.ts', "import { ROOT } from '../../harness/processes';"],
    ['lib/grpc-app.ts', "import { synthesize } from '../main';"],
    ['lib/grpc-app.ts', "import { serverSettings } from '../app/server';"],
    ['lib/grpc-app.ts', "import { checkManifests } from '../check';"],
    ['check/graph.ts', "import { GrpcApp } from '../lib';"],
    ['check/graph.ts', "import { GrpcApp } from 'grpc-k8s-lb';"],
    ['resolver/index.ts', "import { dns1123Label } from 'grpc-k8s-lb-common';"],
    ['deploy/strategy.ts', "import { invalidProp } from '../lib/internal/validate';"],
    ['deploy/strategies/x.ts', "import * as istio from '../../lib/imports/networking.istio.io';"],
    ['deploy/greeter-app.ts', "import { GrpcApp } from '../lib/grpc-app';"],
    ['deploy/strategies/x.ts', "import { ENVOY_GATEWAY_CLASS } from 'grpc-k8s-lb/grpc-gateway';"],
    ['lib/greeter-app.ts', "import { version } from '../app/package.json';"],
    ['lib/greeter-app.ts', "import { serverSettings } from 'greeter-app/server';"],
    ['app/server.ts', "import { GrpcApp } from '../lib';"],
    ['app/client.ts', "import { GrpcApp } from 'grpc-k8s-lb';"],
    ['app/client.ts', "import { fixture } from '../harness/fixtures';"],
    ['deploy/strategy.ts', "import { image } from '../harness/fixtures';"],
    ['deploy/strategies/istio-ilb.ts', "import { fixture } from '../../test/lib/x';"],
  ])('finds the planted violation in %s: %s', (file, text) => {
    expect(check(file, text)).toEqual([expect.stringContaining(`${file} imports `)]);
  });

  test.each([
    ['demo/lb.ts', "import { startPods } from '../harness/pods';"],
    ['bench/synth.ts', "import { ENVIRONMENTS } from '../deploy';"],
    [
      'test/lib/x.test.ts',
      "import { GrpcApp } from '../../lib'; import { ENVIRONMENTS } from '../../deploy'; import { fixture } from '../../harness/fixtures';",
    ],
    [
      'lib/grpc-app.ts',
      "import { declaresGrpc } from 'grpc-k8s-lb-common'; import * as gw from './imports/gateway.networking.k8s.io'; import { Construct } from 'constructs';",
    ],
    ['app/server.ts', "import { SERVER_ENV } from './settings'; import * as grpc from '@grpc/grpc-js';"],
    ['deploy/environments.ts', "import { version } from '../app/package.json'; import { GrpcApp } from '../lib';"],
    ['deploy/strategies/x.ts', "import { GrpcRoute } from '../../lib/index'; import { GrpcApp } from 'grpc-k8s-lb';"],
    // Not imports: a comment, a string, a path handed to a child process.
    [
      'lib/grpc-app.ts',
      "// import { x } from '../deploy';\nconst s = \"import { y } from '../harness/z'\";\nspawn('node', ['test/run.ts']);",
    ],
  ])('allows %s: %s', (file, text) => {
    expect(check(file, text)).toEqual([]);
  });

  test('names the file, the specifier, the path and the reason', () => {
    expect(check('demo/lb.ts', "import { x } from '../test/support/pods';")).toEqual([
      "demo/lb.ts imports '../test/support/pods' (test/support/pods): demo shares code with tests through harness/",
    ]);
  });
});
