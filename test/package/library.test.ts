/**
 * The library as another repository gets it: `npm pack -w lib` (whose prepack builds it), the tarball installed into
 * a fresh project offline from npm's cache with only its peer dependencies, and a cdk8s app for a service that is not
 * the greeter (its own image and port) compiled with tsc (strict, no skipLibCheck, so the shipped .d.ts are checked
 * too), run, and its manifests validated against their schemas and checked for their wiring; and the package's bin,
 * grpc-lb-check (one bundled file with the schemas beside it), run from the consumer as `npx grpc-lb-check` runs it.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { findObject, readManifestDir, validateAgainstSchemas, type KubeObject } from '../../harness/manifests';
import { main as checkFromSource } from '../../lib/check/cli';

const ROOT = path.resolve(__dirname, '..', '..');
const LIBRARY_DIR = path.join(ROOT, 'lib');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const PEERS = ['cdk8s', 'cdk8s-plus-27', 'constructs'];
/** Where the package holds the bundled grpc-lb-check and its data (scripts/bundle-check.ts). */
const CHECK_DIR = 'build/check';
const execFileAsync = promisify(execFile);
const REGISTRY = (process.env.npm_config_registry ?? 'https://registry.npmjs.org/').replace(/\/?$/, '/');

interface PackageJson {
  name: string;
  version: string;
  main: string;
  types: string;
  exports: Record<string, string | Record<string, string>>;
  bin?: Record<string, string>;
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
function consumerLockfile(
  consumer: { name: string; dependencies: Record<string, string> },
  library: PackageJson,
  tarball: { resolved: string; integrity: string },
) {
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  // Node's lookup: the nearest node_modules/<name> from `from` up to the top.
  const resolve = (from: string, name: string): string | undefined => {
    for (
      let base = from;
      ;
      base = base.includes('/node_modules/') ? base.slice(0, base.lastIndexOf('/node_modules/')) : ''
    ) {
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
      ...Object.keys(entry.peerDependencies ?? {}).map((name) => ({
        name,
        optional: entry.peerDependenciesMeta?.[name]?.optional === true,
      })),
    ];
    const queue = edges({ dependencies: library.dependencies, peerDependencies: library.peerDependencies }).map(
      (edge) => ({ from: '', ...edge }),
    );
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
      // npm records a package's bins in the lock, and npm ci links node_modules/.bin from there.
      bin: library.bin,
    },
  };
  for (const location of [...closure(true)].sort()) {
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

/** The package names a built JavaScript file requires (bare specifiers only). */
function requiredPackages(source: string): string[] {
  // tsc writes imports as require("..."); a require() written in the source keeps its own quotes.
  return [...source.matchAll(/\brequire\((["'])([^"'./][^"']*)\1\)/g)].map(([, , specifier]) => {
    const parts = specifier.split('/');
    return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  });
}

const listFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
  );

// A payments service of its own (image, port 9090) behind an Istio ILB gateway and behind a Gateway API gateway, and an
// orders Service that Helm renders elsewhere, routed and protected through GrpcBackend.fromService.
const CONSUMER_MAIN = `import { App, Chart } from 'cdk8s';
import {
  AppNamespace, GrpcApp, GrpcBackend, GrpcGateway, GrpcRoute, GrpcVirtualService, IstioIlbGateway, MeshAccessPolicy, existingNamespace,
} from 'grpc-k8s-lb';

const app = new App({ outdir: 'dist' });
const chart = new Chart(app, 'shop');
const namespace = new AppNamespace(chart, 'namespace', { name: 'shop', mesh: 'istio' });
const payments = new GrpcApp(chart, 'payments', {
  namespace, name: 'payments', port: 9090, replicas: 2,
  image: { repository: 'registry.example.com/shop/payments', tag: '2.3.4' },
  env: [{ name: 'CURRENCY', value: 'EUR' }],
});
const gateway = new IstioIlbGateway(chart, 'gateway', {
  namespace: existingNamespace('istio-system'), configNamespace: namespace,
  host: 'payments.shop.example.com', tlsSecretName: 'payments-shop-tls',
});
new GrpcVirtualService(chart, 'routes', { backend: payments, gateway });
new MeshAccessPolicy(chart, 'access', { backend: payments, allowedCallers: [gateway.identity] });

const orders = GrpcBackend.fromService({
  name: 'orders', namespace: existingNamespace('shop'), port: 50052, portName: 'grpc-orders', selectorLabels: { 'app.kubernetes.io/name': 'orders' },
});
const ordersGateway = new IstioIlbGateway(chart, 'orders-gateway', {
  name: 'orders-gateway', namespace: existingNamespace('istio-system'), configNamespace: namespace,
  host: 'orders.shop.example.com', tlsSecretName: 'orders-shop-tls',
});
new GrpcVirtualService(chart, 'orders-routes', { backend: orders, gateway: ordersGateway });

const apiGateway = new GrpcGateway(chart, 'api-gateway', {
  name: 'api', namespace, host: 'api.shop.example.com', tlsSecretName: 'api-shop-tls',
});
new GrpcRoute(chart, 'payments-route', { gateway: apiGateway, backend: payments, grpcServices: ['shop.payments.v1.Payments'] });
new GrpcRoute(chart, 'orders-route', { gateway: apiGateway, backend: orders });
app.synth();
`;

const work = mkdtempSync(path.join(tmpdir(), 'library-'));
const consumerDir = path.join(work, 'consumer');
const installedDir = path.join(consumerDir, 'node_modules', 'grpc-k8s-lb');
let pack: PackResult;
let packed: PackageJson;
let objects: KubeObject[];
let exported: string[];
let installed: { packages: string[]; bytes: number };
const timings: Record<string, number> = {};

async function timed<T>(step: string, action: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await action();
  } finally {
    timings[step] = Math.round(performance.now() - start);
  }
}

/** Every package directory under node_modules (scoped ones too), and the bytes of all their files. */
function installedPackages(nodeModules: string): { packages: string[]; bytes: number } {
  const packages: string[] = [];
  let bytes = 0;
  const walk = (dir: string, relative: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full, path.join(relative, entry.name));
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
      walk(path.join(nodeModules, name), name);
    }
  }
  return { packages: packages.sort(), bytes };
}

beforeAll(async () => {
  [pack] = JSON.parse(
    await timed('npm pack', () => run('npm', ['pack', '--json', '--pack-destination', work], LIBRARY_DIR)),
  ) as PackResult[];

  mkdirSync(consumerDir);
  const repository = (name: string) =>
    JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as PackageJson;
  const resolved = `file:../${pack.filename}`;
  const consumer = {
    name: 'consumer',
    dependencies: {
      'grpc-k8s-lb': resolved,
      ...Object.fromEntries(PEERS.map((name) => [name, repository(name).version])),
    },
  };
  const library = JSON.parse(readFileSync(path.join(LIBRARY_DIR, 'package.json'), 'utf8')) as PackageJson;
  writeFileSync(
    path.join(consumerDir, 'package.json'),
    JSON.stringify({ ...consumer, version: '1.0.0', private: true }, null, 2),
  );
  writeFileSync(
    path.join(consumerDir, 'package-lock.json'),
    JSON.stringify(consumerLockfile(consumer, library, { resolved, integrity: pack.integrity }), null, 2),
  );
  await timed('npm ci --offline', () =>
    run('npm', ['ci', '--offline', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund'], consumerDir),
  );
  packed = JSON.parse(readFileSync(path.join(installedDir, 'package.json'), 'utf8')) as PackageJson;
  installed = installedPackages(path.join(consumerDir, 'node_modules'));

  writeFileSync(path.join(consumerDir, 'main.ts'), CONSUMER_MAIN);
  writeFileSync(
    path.join(consumerDir, 'tsconfig.json'),
    JSON.stringify({
      // node16 resolution reads the package's "exports" (and its "types" condition), as current projects do.
      compilerOptions: {
        target: 'ES2022',
        module: 'node16',
        moduleResolution: 'node16',
        lib: ['ES2022'],
        types: [],
        strict: true,
        skipLibCheck: false,
        outDir: 'build',
      },
      files: ['main.ts'],
    }),
  );
  await timed('tsc', () => run(process.execPath, [TSC, '-p', '.'], consumerDir));
  await timed('node main.js', () => run(process.execPath, ['build/main.js'], consumerDir));
  objects = readManifestDir(path.join(consumerDir, 'dist')).flatMap((file) => file.objects);
  exported = JSON.parse(
    await run(
      process.execPath,
      ['-e', 'console.log(JSON.stringify(Object.keys(require("grpc-k8s-lb"))))'],
      consumerDir,
    ),
  );
  process.stdout.write(
    `library package: ${pack.filename} ${(pack.size / 1024).toFixed(0)} KiB packed, ${(pack.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${pack.files.length} files; ` +
      `consumer install: ${installed.packages.length} packages, ${(installed.bytes / 1024 / 1024).toFixed(1)} MiB; ms per step ${JSON.stringify(timings)}\n`,
  );
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed library', () => {
  test('holds the built library, its docs, licence and package.json, and nothing else', () => {
    const paths = pack.files.map((file) => file.path);
    const topLevel = ['package.json', 'README.md', 'API.md', 'LICENSE'];
    expect(paths.filter((p) => !topLevel.includes(p) && !p.startsWith('build/'))).toEqual([]);
    expect(paths).toEqual(expect.arrayContaining([...topLevel, 'build/lib/index.js', 'build/lib/index.d.ts']));
    // Built output only: no TypeScript sources, source maps, the app's runtime code, tests, manifests or key material.
    expect(
      paths.filter((p) => /(^|\/)(test|dist|certs|bench|demo|deploy|harness|scripts|node_modules)\//.test(p)),
    ).toEqual([]);
    expect(paths.filter((p) => p.startsWith('build/app/') && !/^build\/app\/settings\.(js|d\.ts)$/.test(p))).toEqual(
      [],
    );
    expect(paths.filter((p) => /\.(ts|map|pem|key|crt|tgz)$/.test(p) && !p.endsWith('.d.ts'))).toEqual([]);
    // Every module of the construct API ships with its declarations; the bin is one bundled file, with no API.
    const js = paths
      .filter((p) => p.endsWith('.js') && !p.startsWith(`${CHECK_DIR}/`))
      .map((p) => p.replace(/\.js$/, ''));
    expect(
      paths
        .filter((p) => p.endsWith('.d.ts'))
        .map((p) => p.replace(/\.d\.ts$/, ''))
        .sort(),
    ).toEqual(js.sort());
    expect(pack.size).toBeLessThan(1024 * 1024);
  });

  test('holds grpc-lb-check as one bundled file with its data beside it: JSON schemas, their sources, the licences', () => {
    const checkFiles = pack.files.filter((file) => file.path.startsWith(`${CHECK_DIR}/`));
    expect(packed.bin).toEqual({ 'grpc-lb-check': `${CHECK_DIR}/grpc-lb-check.js` });
    expect(checkFiles.filter((file) => file.path.endsWith('.js')).map((file) => file.path)).toEqual([
      `${CHECK_DIR}/grpc-lb-check.js`,
    ]);
    expect(readFileSync(path.join(installedDir, CHECK_DIR, 'grpc-lb-check.js'), 'utf8')).toMatch(
      /^#!\/usr\/bin\/env node\n/,
    );
    const data = checkFiles
      .filter((file) => file.path.startsWith(`${CHECK_DIR}/data/`))
      .map((file) => file.path.slice(`${CHECK_DIR}/data/`.length));
    expect(data).toEqual(
      expect.arrayContaining([
        'sources.json',
        'schemas/k8s-v1.27.0-definitions.json',
        'schemas/k8s-v1.32.0-definitions.json',
        'crds/istio-1.30.3-crds.json',
      ]),
    );
    expect(data.filter((file) => !file.endsWith('.json'))).toEqual([]);
    expect(checkFiles.map((file) => file.path)).toContain(`${CHECK_DIR}/THIRD-PARTY-LICENSES.txt`);
    const bytes = checkFiles.reduce((sum, file) => sum + file.size, 0);
    process.stdout.write(
      `grpc-lb-check in the package: ${checkFiles.length} files, ${(bytes / 1024).toFixed(0)} KiB unpacked\n`,
    );
  });

  test('main, types and exports point at files in the tarball, and internal paths stay hidden', async () => {
    const paths = new Set(pack.files.map((file) => file.path));
    const targets = [
      packed.types,
      ...Object.values(packed.exports).flatMap((target) =>
        typeof target === 'string' ? [target] : Object.values(target),
      ),
    ];
    expect(targets.map((target) => path.posix.normalize(target)).filter((target) => !paths.has(target))).toEqual([]);
    expect(Object.keys(packed.exports).sort()).toEqual(['.', './package.json']);
    const deep = await run(
      process.execPath,
      [
        '-e',
        'try { require("grpc-k8s-lb/build/lib/internal/validate.js"); console.log("allowed") } catch (e) { console.log(e.code) }',
      ],
      consumerDir,
    );
    expect(deep.trim()).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  test('declares every package its code requires: cdk8s, cdk8s-plus-27 and constructs as peers, and nothing else', () => {
    const declared = new Set([
      ...Object.keys(packed.dependencies ?? {}),
      ...Object.keys(packed.peerDependencies ?? {}),
      packed.name,
    ]);
    const builtins = new Set(builtinModules);
    const required = new Set(
      listFiles(installedDir)
        .filter((file) => file.endsWith('.js'))
        .flatMap((file) => requiredPackages(readFileSync(file, 'utf8'))),
    );
    expect([...required].filter((name) => !declared.has(name) && !builtins.has(name.replace(/^node:/, '')))).toEqual(
      [],
    );
    expect([...required]).toEqual(expect.arrayContaining(PEERS));
    expect(Object.keys(packed.peerDependencies ?? {}).sort()).toEqual(PEERS);
    expect(packed.dependencies ?? {}).toEqual({});
  });

  test('installs nothing but the peers and their own dependencies', () => {
    const lock = JSON.parse(readFileSync(path.join(consumerDir, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, LockEntry>;
    };
    const expected = Object.entries(lock.packages)
      .filter(
        ([location, entry]) =>
          location.startsWith('node_modules/') &&
          !location.slice('node_modules/'.length).includes('/node_modules/') &&
          entry.optional !== true,
      )
      .map(([location]) => location.slice('node_modules/'.length));
    expect(installed.packages).toEqual(expect.arrayContaining(['grpc-k8s-lb', ...PEERS]));
    expect(installed.packages.filter((name) => !expected.includes(name))).toEqual([]);
    // The app's runtime packages belong to the images, never to construct users.
    expect(installed.packages.filter((name) => /^@grpc\/|^@kubernetes\/|^grpc-health-check$/.test(name))).toEqual([]);
  });

  test('exports a narrow API: the constructs, their props and the interfaces they take, at most 45 names', () => {
    expect(exported).toEqual(
      expect.arrayContaining([
        'GrpcApp',
        'GrpcBackend',
        'GreeterApp',
        'IstioIlbGateway',
        'GrpcVirtualService',
        'GrpcRoute',
        'GrpcGateway',
        'existingNamespace',
      ]),
    );
    // Type-only exports (props, interfaces) vanish at run time; the .d.ts carries them.
    const declarations = readFileSync(path.join(installedDir, 'build', 'lib', 'index.d.ts'), 'utf8');
    const names = [...declarations.matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap(([, list]) =>
      list
        .split(',')
        .map((name) => name.replace(/^\s*type\s+/, '').trim())
        .filter(Boolean),
    );
    expect(names.length).toBeLessThanOrEqual(45);
    expect(
      names.filter((name) =>
        /^(invalidProp|integerIn|oneOf|dnsLabel|ENVIRONMENTS|composedStrategy|TlsGatewayEndpoint)$/.test(name),
      ),
    ).toEqual([]);
  });
});

describe('a cdk8s app for another service, compiled against the package and run', () => {
  const serviceHost = (service: KubeObject) =>
    `${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`;

  test('every object is valid against its schema', () => {
    expect(validateAgainstSchemas(objects).filter((result) => result.error !== null)).toEqual([]);
  });

  test('the service runs its own image on its own port, with nothing of the greeter', () => {
    const deployment = findObject(objects, 'Deployment', 'payments');
    const [container] = deployment.spec.template.spec.containers;
    expect(container.image).toBe('registry.example.com/shop/payments:2.3.4');
    expect(container.name).toBe('payments');
    expect(container.ports).toEqual([{ name: 'grpc', containerPort: 9090, protocol: 'TCP' }]);
    expect(container.env).toEqual([{ name: 'CURRENCY', value: 'EUR' }]);
    expect(container.readinessProbe.grpc).toEqual({ port: 9090 });
    expect(deployment.spec.replicas).toBe(2);
    const service = findObject(objects, 'Service', 'payments');
    expect(service.spec.ports).toEqual([expect.objectContaining({ name: 'grpc', port: 9090, targetPort: 'grpc' })]);
    expect(JSON.stringify(objects)).not.toMatch(/greeter|SHUTDOWN_GRACE_MS|POD_NAME|helloworld/);
  });

  test('no cloud-specific annotation unless asked: the gateway Services are the cluster default LoadBalancer', () => {
    for (const name of ['grpc-gateway', 'orders-gateway'].filter((n) =>
      objects.some((o) => o.kind === 'Service' && o.metadata.name === n),
    )) {
      expect(findObject(objects, 'Service', name).metadata.annotations ?? {}).toEqual({});
    }
    expect(JSON.stringify(objects)).not.toContain('networking.gke.io');
  });

  test('the VirtualService binds to the Gateway and routes its host to the payments Service', () => {
    const virtualService = findObject(objects, 'VirtualService', 'payments');
    const service = findObject(objects, 'Service', 'payments');
    const gateway = objects.find(
      (o) =>
        o.kind === 'Gateway' &&
        o.apiVersion.startsWith('networking.istio.io') &&
        o.spec.servers[0].hosts.includes('payments.shop.example.com'),
    );
    expect(gateway?.spec.servers[0].tls.credentialName).toBe('payments-shop-tls');
    expect(virtualService.spec.gateways).toEqual([`${gateway?.metadata.namespace}/${gateway?.metadata.name}`]);
    expect(virtualService.spec.http[0].route[0].destination).toEqual({
      host: serviceHost(service),
      port: { number: 9090 },
    });
    expect(findObject(objects, 'DestinationRule', 'payments').spec.host).toBe(serviceHost(service));
    const policy = findObject(objects, 'AuthorizationPolicy', 'payments');
    expect(policy.spec.selector.matchLabels).toEqual(service.spec.selector);
    expect(policy.spec.rules[0].to[0].operation.ports).toEqual(['9090']);
  });

  test('a Service rendered elsewhere is routed by name, namespace and port through GrpcBackend.fromService', () => {
    const virtualService = findObject(objects, 'VirtualService', 'orders');
    expect(virtualService.spec.hosts).toEqual(['orders.shop.example.com']);
    expect(virtualService.spec.http[0].route[0].destination).toEqual({
      host: 'orders.shop.svc.cluster.local',
      port: { number: 50052 },
    });
    expect(findObject(objects, 'GRPCRoute', 'orders').spec.rules[0].backendRefs).toEqual([
      { group: '', kind: 'Service', name: 'orders', port: 50052 },
    ]);
  });

  test('the GRPCRoute attaches to the Gateway API listener and matches the service it was given', () => {
    const route = findObject(objects, 'GRPCRoute', 'payments');
    const gateway = objects.find((o) => o.kind === 'Gateway' && o.apiVersion.startsWith('gateway.networking.k8s.io'));
    expect(route.spec.parentRefs).toEqual([
      expect.objectContaining({
        kind: 'Gateway',
        name: gateway?.metadata.name,
        namespace: gateway?.metadata.namespace,
        sectionName: gateway?.spec.listeners[0].name,
      }),
    ]);
    expect(route.spec.hostnames).toEqual(['api.shop.example.com']);
    expect(route.spec.rules[0].matches).toEqual([{ method: { type: 'Exact', service: 'shop.payments.v1.Payments' } }]);
    expect(route.spec.rules[0].backendRefs).toEqual([{ group: '', kind: 'Service', name: 'payments', port: 9090 }]);
  });
});

/** What the installed bin did: exit status and output. */
interface BinRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `npx grpc-lb-check ARGS` in the consumer, as a user runs it: node_modules/.bin, with `stdin` piped in. */
function grpcLbCheck(args: readonly string[], stdin = ''): Promise<BinRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(consumerDir, 'node_modules', '.bin', 'grpc-lb-check'), args, {
      cwd: consumerDir,
      stdio: 'pipe',
    });
    const [stdout, stderr]: string[][] = [[], []];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout: stdout.join(''), stderr: stderr.join('') });
    });
    child.stdin.end(stdin);
  });
}

/** The same command run from this repository's sources against upstream/, in this process. */
async function checkWithSources(args: readonly string[]): Promise<BinRun> {
  const [stdout, stderr]: string[][] = [[], []];
  const status = await checkFromSource(args, {
    stdin: Readable.from([]),
    stdout: (text) => stdout.push(text),
    stderr: (text) => stderr.push(text),
  });
  return { status, stdout: stdout.join(''), stderr: stderr.join('') };
}

interface JsonReport {
  summary: { errors: number; warnings: number; objects: number };
  findings: Array<{
    rule: string;
    severity: string;
    object: { kind: string; namespace?: string; name: string; file: string; line: number };
  }>;
  validation: { celRulesEvaluated: number };
}

// A payments service in a namespace no mesh injects, and a checkout client dialing its ClusterIP: every call of
// checkout goes to one payments pod (grpc-clusterip-single-pod, on the Service).
const UNBALANCED = `apiVersion: v1
kind: Namespace
metadata: { name: billing }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: payments, namespace: billing }
spec:
  replicas: 3
  selector: { matchLabels: { app: payments } }
  template:
    metadata: { labels: { app: payments } }
    spec:
      containers:
        - name: payments
          image: registry.example.com/shop/payments:2.3.4
          ports: [{ name: grpc, containerPort: 9090 }]
          readinessProbe: { grpc: { port: 9090 } }
---
apiVersion: v1
kind: Service
metadata: { name: payments, namespace: billing }
spec:
  selector: { app: payments }
  ports: [{ name: grpc, port: 9090, targetPort: grpc }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: checkout, namespace: billing }
spec:
  selector: { matchLabels: { app: checkout } }
  template:
    metadata: { labels: { app: checkout } }
    spec:
      containers:
        - name: checkout
          image: registry.example.com/shop/checkout:1.0.0
          env: [{ name: PAYMENTS_ADDRESS, value: "payments.billing.svc.cluster.local:9090" }]
`;

describe('grpc-lb-check, the bin the package installs, run from the consumer', () => {
  const errors = (report: JsonReport) =>
    report.findings
      .filter((f) => f.severity === 'error')
      .map((f) => `${f.rule} on ${f.object.kind} ${f.object.namespace}/${f.object.name}`);

  test('the consumer’s rendered dist/ has no error (--partial: the orders Service is rendered elsewhere), CRDs and CEL rules included', async () => {
    const result = await grpcLbCheck(['--partial', '--format', 'json', 'dist']);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as JsonReport;
    expect(errors(report)).toEqual([]);
    expect(result.status).toBe(0);
    expect(report.summary.objects).toBe(objects.length);
    // The VirtualServices, Gateways and GRPCRoutes went through their CRDs' rules: the shipped data was found.
    expect(report.validation.celRulesEvaluated).toBeGreaterThan(0);
  }, 60_000);

  test('a planted unbalanced client: exit 1 with grpc-clusterip-single-pod on the Service, from a file and from standard input', async () => {
    writeFileSync(path.join(consumerDir, 'unbalanced.yaml'), UNBALANCED);
    const fromFile = await grpcLbCheck(['--format', 'json', 'unbalanced.yaml']);
    const fromStdin = await grpcLbCheck(['--format', 'json', '-'], UNBALANCED);
    for (const [result, file] of [
      [fromFile, 'unbalanced.yaml'],
      [fromStdin, '<stdin>'],
    ] as const) {
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 1, stderr: '' });
      const report = JSON.parse(result.stdout) as JsonReport;
      expect(errors(report)).toEqual(['grpc-clusterip-single-pod on Service billing/payments']);
      // The Service document's first line (its apiVersion, just above its kind).
      expect(report.findings.find((f) => f.severity === 'error')?.object).toEqual(
        expect.objectContaining({ file, line: UNBALANCED.split('\n').indexOf('kind: Service') }),
      );
    }
    const text = await grpcLbCheck(['-'], UNBALANCED);
    expect(text.status).toBe(1);
    expect(text.stdout).toMatch(/grpc-clusterip-single-pod/);
  }, 60_000);

  test('bad input: exit 2 with the reason and no stack trace', async () => {
    const result = await grpcLbCheck(['-'], 'kind: [unclosed');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^grpc-lb-check: <stdin>:1: not YAML or JSON/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  test('reports exactly what the checker run from source against upstream/ reports', async () => {
    writeFileSync(path.join(consumerDir, 'unbalanced.yaml'), UNBALANCED);
    const inputs = [path.join(consumerDir, 'dist'), path.join(consumerDir, 'unbalanced.yaml')];
    for (const format of ['json', 'sarif', 'text']) {
      const args = ['--partial', '--format', format, ...inputs];
      const [installed, fromSource] = await Promise.all([grpcLbCheck(args), checkWithSources(args)]);
      expect(installed).toEqual(fromSource);
    }
  }, 120_000);
});
