/**
 * This repository's packages as their users get them: `npm pack` of a workspace (its prepack builds it), kept in a
 * cache keyed by the content of everything the package is built from, so a test run packs each package at most
 * once however many test files install it, and a second run none; and a consumer project that installs tarballs
 * offline, from npm's cache, with a lockfile cut from this repository's (see `consumerLockfile`).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './processes';

const execFileAsync = promisify(execFile);
const CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'packed');
/** Packing runs one at a time: packages build from one another's build/ (lib reads grpc-k8s-lb-common's types). */
const LOCK_DIR = path.join(CACHE_DIR, '.lock');
/** A pack takes seconds; a lock held this long belongs to a process that died. */
const STALE_LOCK_MS = 5 * 60_000;
const REGISTRY = (process.env.npm_config_registry ?? 'https://registry.npmjs.org/').replace(/\/?$/, '/');

/** A workspace folder (`lib`, `common`, `check`, `resolver`), as the root package.json lists it. */
export type Workspace = 'common' | 'lib' | 'check' | 'resolver';

export interface PackageJson {
  name: string;
  version: string;
  main?: string;
  types?: string;
  exports?: Record<string, string | Record<string, string>>;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** One packed workspace: what `npm pack --json` reports, where its tarball is, and its manifest. */
export interface PackedPackage {
  readonly workspace: Workspace;
  readonly name: string;
  readonly version: string;
  readonly tarball: string;
  readonly integrity: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: ReadonlyArray<{ readonly path: string; readonly size: number }>;
  readonly manifest: PackageJson;
}

/** What each package is built from besides its own folder: the repository files its build reads. */
const BUILD_INPUTS: Record<Workspace, readonly string[]> = {
  common: [],
  // Compiled against grpc-k8s-lb-common's declarations.
  lib: ['common'],
  // One esbuild bundle of check/ and grpc-k8s-lb-common, with upstream/'s schemas beside it.
  check: ['common', 'upstream', 'scripts/bundle-check.ts', 'scripts/workspaces.js', 'scripts/register.js'],
  resolver: [],
};
/** What every package's build reads. */
const SHARED_INPUTS = ['tsconfig.json', 'LICENSE', 'package-lock.json'];
/** The workspaces a package's build needs built first. */
const BUILT_FIRST: Record<Workspace, readonly Workspace[]> = { common: [], lib: ['common'], check: [], resolver: [] };

async function run(command: string, args: readonly string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, {
      cwd,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' },
    });
    return stdout;
  } catch (error) {
    // tsc reports its errors on stdout; npm on stderr.
    const { message, stdout } = error as { message: string; stdout?: string };
    throw new Error(`${path.basename(command)} ${args.join(' ')} failed in ${cwd}:\n${message}\n${stdout ?? ''}`);
  }
}

/** Every file under `relative` (a file or a folder), skipping build output and dependencies. */
function inputFiles(relative: string): string[] {
  const full = path.join(ROOT, relative);
  if (!statSync(full).isDirectory()) return [relative];
  return readdirSync(full, { withFileTypes: true })
    .filter((entry) => !['build', 'node_modules'].includes(entry.name))
    .flatMap((entry) => inputFiles(path.join(relative, entry.name)));
}

/** A hash of the content of every file the workspace's tarball is built from. */
function contentKey(workspace: Workspace): string {
  const hash = createHash('sha256');
  for (const file of [workspace, ...BUILD_INPUTS[workspace], ...SHARED_INPUTS].flatMap(inputFiles).sort()) {
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(path.join(ROOT, file)))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Takes the packing lock (a directory: mkdir is atomic), across test workers and processes, and returns its release.
 * Packing rebuilds a workspace's build/ and then deletes it (its prepack and postpack), so whatever else builds or
 * runs from a build/ (the compiled app from resolver/build) holds the lock meanwhile.
 */
export async function acquirePackLock(): Promise<() => void> {
  mkdirSync(CACHE_DIR, { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      return () => rmSync(LOCK_DIR, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (statSync(LOCK_DIR, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > STALE_LOCK_MS) rmSync(LOCK_DIR, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Runs `action` holding the packing lock. */
async function withPackLock<T>(action: () => Promise<T>): Promise<T> {
  const release = await acquirePackLock();
  try {
    return await action();
  } finally {
    release();
  }
}

/** What `npm pack --json` reports for one tarball. */
interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  integrity: string;
  files: Array<{ path: string; size: number }>;
}

/**
 * The workspace packed, from the cache when nothing it is built from changed: `npm pack -w <workspace>`, whose
 * prepack builds it (after the workspaces it is built against).
 */
export async function packWorkspace(workspace: Workspace): Promise<PackedPackage> {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, workspace, 'package.json'), 'utf8')) as PackageJson;
  const dir = path.join(CACHE_DIR, `${workspace}-${contentKey(workspace)}`);
  const record = path.join(dir, 'pack.json');
  if (!existsSync(record)) {
    await withPackLock(async () => {
      if (existsSync(record)) return;
      for (const first of BUILT_FIRST[workspace]) await run('npm', ['run', '--silent', 'build', '-w', first], ROOT);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const [pack] = JSON.parse(
        await run('npm', ['pack', '--json', '--pack-destination', dir], path.join(ROOT, workspace)),
      ) as PackResult[];
      writeFileSync(record, JSON.stringify(pack));
    });
  }
  const pack = JSON.parse(readFileSync(record, 'utf8')) as PackResult;
  return {
    workspace,
    name: manifest.name,
    version: manifest.version,
    tarball: path.join(dir, pack.filename),
    integrity: pack.integrity,
    size: pack.size,
    unpackedSize: pack.unpackedSize,
    files: pack.files,
    manifest,
  };
}

/** One `packages` entry of a package-lock.json (v3). */
export interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

export interface ConsumerLockfile {
  name: string;
  version: string;
  lockfileVersion: 3;
  requires: true;
  packages: Record<string, LockEntry>;
}

/**
 * A lockfile for a consumer of the packed packages, cut from this repository's: the tarballs (each `file:` beside the
 * consumer), the registry packages the consumer names, their dependencies and peers, and theirs, at the versions and
 * paths this repository tests. With it `npm ci --offline` resolves nothing: it reads each tarball from npm's cache by
 * its integrity, as this repository's `npm ci` left them. Resolving version ranges instead needs registry metadata
 * that an offline cache may lack.
 * Optional dependencies stay in the lock, flagged, for npm ci's sync check, and are omitted at install.
 */
export function consumerLockfile(
  consumer: { name: string; dependencies: Record<string, string> },
  local: readonly PackedPackage[],
): ConsumerLockfile {
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const localByName = new Map(local.map((pkg) => [pkg.name, pkg]));
  const localEntry = (pkg: PackedPackage): LockEntry => ({
    version: pkg.version,
    resolved: `file:${path.basename(pkg.tarball)}`,
    integrity: pkg.integrity,
    dependencies: pkg.manifest.dependencies,
    peerDependencies: pkg.manifest.peerDependencies,
    // npm records a package's bins in the lock, and npm ci links node_modules/.bin from there.
    bin: pkg.manifest.bin,
  });
  // The consumer's tree, flat: every local package at the top, as npm installs them.
  const entryAt = (location: string): LockEntry | undefined => {
    const name = location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const pkg = location === `node_modules/${name}` ? localByName.get(name) : undefined;
    return pkg ? localEntry(pkg) : lock.packages[location];
  };
  // Node's lookup: the nearest node_modules/<name> from `from` up to the top.
  const resolve = (from: string, name: string): string | undefined => {
    for (
      let base = from;
      ;
      base = base.includes('/node_modules/') ? base.slice(0, base.lastIndexOf('/node_modules/')) : ''
    ) {
      const candidate = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
      if (entryAt(candidate)) return candidate;
      if (base === '') return undefined;
    }
  };
  const edges = (entry: LockEntry) => [
    ...Object.keys(entry.dependencies ?? {}).map((name) => ({ name, optional: false })),
    ...Object.keys(entry.optionalDependencies ?? {}).map((name) => ({ name, optional: true })),
    ...Object.keys(entry.peerDependencies ?? {}).map((name) => ({
      name,
      optional: entry.peerDependenciesMeta?.[name]?.optional === true,
    })),
  ];
  // Every package reachable from the consumer, over required edges only or over optional ones too.
  const closure = (withOptional: boolean): Set<string> => {
    const found = new Set<string>();
    const queue = edges({ dependencies: consumer.dependencies }).map((edge) => ({ from: '', ...edge }));
    for (let edge = queue.pop(); edge !== undefined; edge = queue.pop()) {
      if (edge.optional && !withOptional) continue;
      const location = resolve(edge.from, edge.name);
      if (location === undefined) {
        // An optional dependency for another platform is absent from the lock; a required one must not be.
        if (edge.optional) continue;
        throw new Error(`package-lock.json has no ${edge.name} for ${edge.from || 'the root'}: run npm ci`);
      }
      if (found.has(location)) continue;
      found.add(location);
      queue.push(...edges(entryAt(location)!).map((next) => ({ from: location, ...next })));
    }
    return found;
  };
  const required = closure(false);
  const packages: Record<string, LockEntry> = {
    '': { name: consumer.name, version: '1.0.0', dependencies: consumer.dependencies },
  };
  for (const location of [...closure(true)].sort()) {
    const local = localByName.get(location.slice('node_modules/'.length));
    if (local && location === `node_modules/${local.name}`) {
      packages[location] = localEntry(local);
      continue;
    }
    // The repository's flags (dev, peer, optional) describe its own tree, not the consumer's.
    const entry: LockEntry = Object.fromEntries(
      Object.entries(lock.packages[location]).filter(
        ([field]) => !['dev', 'devOptional', 'peer', 'optional'].includes(field),
      ),
    );
    // This repository's lock omits registry URLs (npm's omit-lockfile-registry-resolved), and without one npm asks
    // the registry metadata where the tarball is. The standard URL plus the integrity let it read the cache instead.
    if (entry.resolved === undefined && entry.inBundle !== true && typeof entry.version === 'string') {
      const name =
        typeof entry.name === 'string'
          ? entry.name
          : location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
      entry.resolved = `${REGISTRY}${name}/-/${name.split('/').pop()}-${entry.version}.tgz`;
    }
    packages[location] = required.has(location) ? entry : { ...entry, optional: true };
  }
  return { name: consumer.name, version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

/** The version of a package as this repository installed it (node_modules/<name>). */
export function repositoryVersion(name: string): string {
  return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as PackageJson)
    .version;
}

/** Every package directory under node_modules (scoped ones too), and the bytes of all their files. */
export function installedPackages(nodeModules: string): { packages: string[]; bytes: number } {
  const packages: string[] = [];
  let bytes = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) bytes += statSync(full).size;
    }
  };
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const names = entry.name.startsWith('@')
      ? readdirSync(path.join(nodeModules, entry.name)).map((scoped) => `${entry.name}/${scoped}`)
      : [entry.name];
    for (const name of names) {
      packages.push(name);
      walk(path.join(nodeModules, name));
    }
  }
  return { packages: packages.sort(), bytes };
}

/**
 * A new project in `dir` (created) that depends on the packed packages and on registry packages at this
 * repository's versions, installed with `npm ci --offline`; returns what node_modules holds.
 */
export async function installConsumer(
  dir: string,
  options: { readonly local: readonly PackedPackage[]; readonly registry?: readonly string[] },
): Promise<{ packages: string[]; bytes: number }> {
  mkdirSync(dir, { recursive: true });
  for (const pkg of options.local) copyFileSync(pkg.tarball, path.join(dir, path.basename(pkg.tarball)));
  const consumer = {
    name: 'consumer',
    dependencies: {
      ...Object.fromEntries(options.local.map((pkg) => [pkg.name, `file:${path.basename(pkg.tarball)}`])),
      ...Object.fromEntries((options.registry ?? []).map((name) => [name, repositoryVersion(name)])),
    },
  };
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ ...consumer, version: '1.0.0', private: true }));
  writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(consumerLockfile(consumer, options.local)));
  await run('npm', ['ci', '--offline', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund'], dir);
  return installedPackages(path.join(dir, 'node_modules'));
}

/** The package names a built JavaScript file requires (bare specifiers only, `node:` builtins included). */
export function requiredPackages(source: string): string[] {
  // tsc writes imports as require("..."); a require() written in the source keeps its own quotes.
  return [...source.matchAll(/\brequire\((["'])([^"'./][^"']*)\1\)/g)].map(([, , specifier]) => {
    const parts = specifier.split('/');
    return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  });
}

/**
 * Writes a consumer project's tsconfig.json for `files`: strict, with no skipLibCheck (so the packages' .d.ts are
 * checked too), and node16 resolution, which reads a package's "exports" and its "types" condition as current
 * projects do; `compilerOptions` adds to or overrides that.
 */
export function writeConsumerTsconfig(
  dir: string,
  files: readonly string[],
  compilerOptions: Record<string, unknown> = {},
): void {
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'node16',
        moduleResolution: 'node16',
        strict: true,
        skipLibCheck: false,
        ...compilerOptions,
      },
      files,
    }),
  );
}

export { run as runCommand };
