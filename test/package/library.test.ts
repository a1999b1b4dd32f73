/**
 * The package as another repository gets it: `npm pack` (whose prepack builds the library), the tarball installed
 * into a fresh project offline from npm's cache, a cdk8s app that imports the constructs by package name compiled
 * with tsc (strict, no skipLibCheck, so the shipped .d.ts are checked too), run, and its manifests checked.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { findObject, readManifestDir, type KubeObject } from '../../harness/manifests';

const ROOT = path.resolve(__dirname, '..', '..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const PEERS = ['cdk8s', 'cdk8s-plus-27', 'constructs'];
const execFileAsync = promisify(execFile);
const REGISTRY = (process.env.npm_config_registry ?? 'https://registry.npmjs.org/').replace(/\/?$/, '/');

interface PackageJson {
  name: string;
  version: string;
  main: string;
  types: string;
  exports: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** What `npm pack --json` reports for one tarball. */
interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  integrity: string;
  files: Array<{ path: string; size: number }>;
}

/** One `packages` entry of a package-lock.json (v3). */
interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

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

/**
 * A lockfile for the consumer, cut from this repository's: the packed library, its dependencies and peers, and
 * theirs, at the versions and paths this repository tests. With it `npm ci --offline` resolves nothing: it reads
 * each tarball from npm's cache by its integrity, as this repository's `npm ci` left them. Resolving version ranges
 * instead needs registry metadata that an offline cache may lack (this one lacked `ws`'s).
 * Optional dependencies stay in the lock, flagged, for npm ci's sync check, and are omitted at install:
 * cdk8s-plus-27's optional `backport` alone is ~140 packages a construct user never loads.
 */
function consumerLockfile(consumer: { name: string; dependencies: Record<string, string> }, library: PackageJson, tarball: { resolved: string; integrity: string }) {
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  // Node's lookup: the nearest node_modules/<name> from `from` up to the top.
  const resolve = (from: string, name: string): string | undefined => {
    for (let base = from; ; base = base.includes('/node_modules/') ? base.slice(0, base.lastIndexOf('/node_modules/')) : '') {
      const candidate = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
      if (lock.packages[candidate]) return candidate;
      if (base === '') return undefined;
    }
  };
  // Every package reachable from the library, over required edges only or over optional ones too.
  const closure = (withOptional: boolean): Set<string> => {
    const found = new Set<string>();
    const edges = (entry: LockEntry) => [
      ...Object.keys(entry.dependencies ?? {}).map((name) => ({ name, optional: false })),
      ...Object.keys(entry.optionalDependencies ?? {}).map((name) => ({ name, optional: true })),
      ...Object.keys(entry.peerDependencies ?? {}).map((name) => ({ name, optional: entry.peerDependenciesMeta?.[name]?.optional === true })),
    ];
    const queue = edges({ dependencies: library.dependencies, peerDependencies: library.peerDependencies }).map((edge) => ({ from: '', ...edge }));
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
      queue.push(...edges(lock.packages[location]).map((next) => ({ from: location, ...next })));
    }
    return found;
  };
  const required = closure(false);
  const packages: Record<string, LockEntry> = {
    '': { name: consumer.name, version: '1.0.0', dependencies: consumer.dependencies },
    [`node_modules/${library.name}`]: {
      version: library.version,
      ...tarball,
      dependencies: library.dependencies,
      peerDependencies: library.peerDependencies,
    },
  };
  for (const location of [...closure(true)].sort()) {
    // The repository's flags (dev, peer, optional) describe its own tree, not the consumer's.
    const entry: LockEntry = Object.fromEntries(Object.entries(lock.packages[location]).filter(([field]) => !['dev', 'devOptional', 'peer', 'optional'].includes(field)));
    // This repository's lock omits registry URLs (npm's omit-lockfile-registry-resolved), and without one npm asks
    // the registry metadata where the tarball is. The standard URL plus the integrity let it read the cache instead.
    if (entry.resolved === undefined && entry.inBundle !== true && typeof entry.version === 'string') {
      const name = typeof entry.name === 'string' ? entry.name : location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
      entry.resolved = `${REGISTRY}${name}/-/${name.split('/').pop()}-${entry.version}.tgz`;
    }
    packages[location] = required.has(location) ? entry : { ...entry, optional: true };
  }
  return { name: consumer.name, version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

/** The package names a built JavaScript file requires (bare specifiers only). */
function requiredPackages(source: string): string[] {
  // tsc writes imports as require("..."); a require() written in the source keeps its own quotes.
  return [...source.matchAll(/\brequire\((["'])([^"'./][^"']*)\1\)/g)].map(([, , specifier]) => {
    const parts = specifier.split('/');
    return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  });
}

const listFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? listFiles(path.join(dir, entry.name)) : [path.join(dir, entry.name)]));

const CONSUMER_MAIN = `import { App, Chart } from 'cdk8s';
import { AppNamespace, existingNamespace, GreeterApp, GrpcVirtualService, IstioIlbGateway } from 'grpc-k8s-lb';

const app = new App({ outdir: 'dist' });
const chart = new Chart(app, 'shop');
const namespace = new AppNamespace(chart, 'namespace', { name: 'shop' });
const greeter = new GreeterApp(chart, 'greeter', { namespace, image: { repository: 'registry.example.com/greeter-server', tag: '1.2.3' } });
const gateway = new IstioIlbGateway(chart, 'gateway', {
  namespace: existingNamespace('istio-system'), configNamespace: namespace,
  host: 'grpc.shop.example.com', tlsSecretName: 'grpc-shop-tls',
});
new GrpcVirtualService(chart, 'routes', { app: greeter, gateway });
app.synth();
`;

// What the installed package answers at run time: the version it reads from its own package.json, its subpath
// encapsulation, and its exports.
const RUNTIME_PROBE = `
const library = require('grpc-k8s-lb');
let deepImport = 'allowed';
try { require('grpc-k8s-lb/build/library/lib/validate.js'); } catch (error) { deepImport = error.code; }
console.log(JSON.stringify({
  version: require('grpc-k8s-lb/package.json').version,
  imageTag: library.ENVIRONMENTS.gke.images.tag,
  deepImport,
  exports: Object.keys(library),
}));
`;

const work = mkdtempSync(path.join(tmpdir(), 'library-'));
const consumerDir = path.join(work, 'consumer');
const installedDir = path.join(consumerDir, 'node_modules', 'grpc-k8s-lb');
let pack: PackResult;
let packed: PackageJson;
let objects: KubeObject[];
let probe: { version: string; imageTag: string; deepImport: string; exports: string[] };
const timings: Record<string, number> = {};

async function timed<T>(step: string, action: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await action();
  } finally {
    timings[step] = Math.round(performance.now() - start);
  }
}

beforeAll(async () => {
  [pack] = JSON.parse(await timed('npm pack', () => run('npm', ['pack', '--json', '--pack-destination', work], ROOT))) as PackResult[];

  mkdirSync(consumerDir);
  const repository = (name: string) => JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as PackageJson;
  const resolved = `file:../${pack.filename}`;
  const consumer = {
    name: 'consumer',
    dependencies: { 'grpc-k8s-lb': resolved, ...Object.fromEntries(PEERS.map((name) => [name, repository(name).version])) },
  };
  const library = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as PackageJson;
  writeFileSync(path.join(consumerDir, 'package.json'), JSON.stringify({ ...consumer, version: '1.0.0', private: true }, null, 2));
  writeFileSync(path.join(consumerDir, 'package-lock.json'), JSON.stringify(consumerLockfile(consumer, library, { resolved, integrity: pack.integrity }), null, 2));
  await timed('npm ci --offline', () => run('npm', ['ci', '--offline', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund'], consumerDir));
  packed = JSON.parse(readFileSync(path.join(installedDir, 'package.json'), 'utf8')) as PackageJson;

  writeFileSync(path.join(consumerDir, 'main.ts'), CONSUMER_MAIN);
  writeFileSync(path.join(consumerDir, 'tsconfig.json'), JSON.stringify({
    // node16 resolution reads the package's "exports" (and its "types" condition), as current projects do.
    compilerOptions: { target: 'ES2022', module: 'node16', moduleResolution: 'node16', lib: ['ES2022'], types: [], strict: true, skipLibCheck: false, outDir: 'build' },
    files: ['main.ts'],
  }));
  await timed('tsc', () => run(process.execPath, [TSC, '-p', '.'], consumerDir));
  await timed('node main.js', () => run(process.execPath, ['build/main.js'], consumerDir));
  objects = readManifestDir(path.join(consumerDir, 'dist')).flatMap((file) => file.objects);
  probe = JSON.parse(await run(process.execPath, ['-e', RUNTIME_PROBE], consumerDir));
  process.stdout.write(`library package: ${pack.filename} ${(pack.size / 1024).toFixed(0)} KiB packed, ${(pack.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${pack.files.length} files; ms per step ${JSON.stringify(timings)}\n`);
}, 90_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed library', () => {
  test('holds the built library, the docs and package.json, and nothing else', () => {
    const paths = pack.files.map((file) => file.path);
    const topLevel = ['package.json', 'README.md', 'CHANGELOG.md', 'API.md', 'LICENSE'];
    expect(paths.filter((p) => !topLevel.includes(p) && !p.startsWith('build/library/'))).toEqual([]);
    expect(paths).toEqual(expect.arrayContaining(['package.json', 'README.md', 'CHANGELOG.md', 'API.md', 'build/library/lib/index.js', 'build/library/lib/index.d.ts']));
    // Built output only: no TypeScript sources, source maps, app, tests, manifests or key material.
    expect(paths.filter((p) => /(^|\/)(app|test|dist|certs|bench|demo|scripts|node_modules)\//.test(p.replace(/^build\/library\//, '')))).toEqual([]);
    expect(paths.filter((p) => /\.(ts|map|pem|key|crt|tgz)$/.test(p) && !p.endsWith('.d.ts'))).toEqual([]);
    // Every module ships with its declarations.
    const js = paths.filter((p) => p.endsWith('.js')).map((p) => p.replace(/\.js$/, ''));
    expect(paths.filter((p) => p.endsWith('.d.ts')).map((p) => p.replace(/\.d\.ts$/, '')).sort()).toEqual(js.sort());
    expect(pack.size).toBeLessThan(1024 * 1024);
  });

  test('main, types and exports point at files in the tarball', () => {
    const paths = new Set(pack.files.map((file) => file.path));
    const targets = [packed.main, packed.types, ...Object.values(packed.exports).flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target)))];
    expect(targets.map((target) => path.posix.normalize(target)).filter((target) => !paths.has(target))).toEqual([]);
    expect(Object.keys(packed.exports).sort()).toEqual(['.', './package.json']);
  });

  test('declares every package its code requires: cdk8s, cdk8s-plus-27 and constructs as peers', () => {
    const declared = new Set([...Object.keys(packed.dependencies ?? {}), ...Object.keys(packed.peerDependencies ?? {}), packed.name]);
    const builtins = new Set(builtinModules);
    const required = new Set(listFiles(installedDir).filter((file) => file.endsWith('.js')).flatMap((file) => requiredPackages(readFileSync(file, 'utf8'))));
    expect([...required].filter((name) => !declared.has(name) && !builtins.has(name.replace(/^node:/, '')))).toEqual([]);
    expect([...required]).toEqual(expect.arrayContaining(PEERS));
    // One copy of each in the user's tree: a second `constructs` would make a separate construct tree.
    expect(Object.keys(packed.peerDependencies ?? {}).sort()).toEqual(PEERS);
    expect(PEERS.filter((name) => packed.dependencies?.[name] !== undefined)).toEqual([]);
  });

  test('exports the constructs by package name, reads its own version, and hides its internal paths', () => {
    expect(probe.exports).toEqual(expect.arrayContaining(['GreeterApp', 'IstioIlbGateway', 'GrpcVirtualService', 'AppNamespace', 'MeshAccessPolicy', 'existingNamespace']));
    expect(probe.version).toBe(packed.version);
    expect(probe.imageTag).toBe(packed.version);
    expect(probe.deepImport).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });
});

describe('a cdk8s app in another repository, compiled against the package and run', () => {
  const serviceHost = (service: KubeObject) => `${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`;

  test('renders the greeter, the gateway and the routes with the names and images it was given', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)).toEqual(expect.arrayContaining([
      'Namespace//shop',
      'Deployment/shop/greeter',
      'Service/shop/greeter',
      'Deployment/istio-system/greeter-gateway',
      'Service/istio-system/greeter-gateway',
      'Gateway/shop/greeter-gateway',
      'VirtualService/shop/greeter',
      'DestinationRule/shop/greeter',
    ]));
    const greeter = findObject(objects, 'Deployment', 'greeter');
    expect(greeter.spec.template.spec.containers[0].image).toBe('registry.example.com/greeter-server:1.2.3');
  });

  test('the VirtualService binds to the Gateway and routes its host to the greeter Service', () => {
    const virtualService = findObject(objects, 'VirtualService');
    const gateway = findObject(objects, 'Gateway');
    const service = findObject(objects, 'Service', 'greeter');
    expect(virtualService.spec.hosts).toEqual(['grpc.shop.example.com']);
    expect(gateway.spec.servers[0].hosts).toEqual(['grpc.shop.example.com']);
    expect(gateway.spec.servers[0].tls.credentialName).toBe('grpc-shop-tls');
    expect(virtualService.spec.gateways).toEqual([`${gateway.metadata.namespace}/${gateway.metadata.name}`]);
    const destination = virtualService.spec.http[0].route[0].destination;
    expect(destination).toEqual({ host: serviceHost(service), port: { number: service.spec.ports[0].port } });
    expect(findObject(objects, 'DestinationRule').spec.host).toBe(serviceHost(service));
  });

  test('the Gateway and the gateway Service select the gateway pods', () => {
    const gateway = findObject(objects, 'Gateway');
    const deployment = findObject(objects, 'Deployment', 'greeter-gateway');
    const service = findObject(objects, 'Service', 'greeter-gateway');
    const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
    for (const selector of [gateway.spec.selector, service.spec.selector] as Array<Record<string, string>>) {
      expect(Object.keys(selector).length).toBeGreaterThan(0);
      expect(podLabels).toEqual(expect.objectContaining(selector));
    }
  });
});
