/**
 * The library as another repository gets it: `npm pack -w lib` (whose prepack builds it) and its one dependency,
 * grpc-k8s-lb-common, installed into a fresh project offline from npm's cache with only its peer dependencies
 * (harness/packages.ts), and a cdk8s app for a service that is not the greeter (its own image and port) compiled with
 * tsc (strict, no skipLibCheck, so the shipped .d.ts are checked too), run, and its manifests validated against their
 * schemas and checked for their wiring.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { findObject, readManifestDir, validateAgainstSchemas, type KubeObject } from '../../harness/manifests';
import {
  installConsumer,
  packWorkspace,
  runCommand as run,
  type LockEntry,
  type PackedPackage,
  type PackageJson,
} from '../../harness/packages';

const ROOT = path.resolve(__dirname, '..', '..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const PEERS = ['cdk8s', 'constructs'];

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
let pack: PackedPackage;
let common: PackedPackage;
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

beforeAll(async () => {
  [common, pack] = await timed('npm pack (or the cache)', async () => [
    await packWorkspace('common'),
    await packWorkspace('lib'),
  ]);
  installed = await timed('npm ci --offline', () =>
    installConsumer(consumerDir, { local: [common, pack], registry: PEERS }),
  );
  packed = JSON.parse(readFileSync(path.join(installedDir, 'package.json'), 'utf8')) as PackageJson;

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
    `library package: ${path.basename(pack.tarball)} ${(pack.size / 1024).toFixed(0)} KiB packed, ${(pack.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${pack.files.length} files; ` +
      `consumer install: ${installed.packages.length} packages, ${(installed.bytes / 1024 / 1024).toFixed(1)} MiB; ms per step ${JSON.stringify(timings)}\n`,
  );
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed library', () => {
  test('holds the built library, its docs, licence and package.json, and nothing else', () => {
    const paths = pack.files.map((file) => file.path);
    const topLevel = ['package.json', 'README.md', 'API.md', 'LICENSE'];
    expect(paths.filter((p) => !topLevel.includes(p) && !p.startsWith('build/'))).toEqual([]);
    expect(paths).toEqual(expect.arrayContaining([...topLevel, 'build/index.js', 'build/index.d.ts']));
    // Built output only: no TypeScript sources, source maps, the app's runtime code, tests, manifests or key material.
    expect(
      paths.filter((p) => /(^|\/)(test|dist|certs|bench|demo|deploy|harness|scripts|node_modules)\//.test(p)),
    ).toEqual([]);
    expect(paths.filter((p) => /^build\/(app|check|common|resolver)\//.test(p))).toEqual([]);
    expect(paths.filter((p) => /\.(ts|map|pem|key|crt|tgz)$/.test(p) && !p.endsWith('.d.ts'))).toEqual([]);
    // Every module of the construct API ships with its declarations; the bin is one bundled file, with no API.
    const js = paths.filter((p) => p.endsWith('.js')).map((p) => p.replace(/\.js$/, ''));
    expect(
      paths
        .filter((p) => p.endsWith('.d.ts'))
        .map((p) => p.replace(/\.d\.ts$/, ''))
        .sort(),
    ).toEqual(js.sort());
    expect(pack.size).toBeLessThan(1024 * 1024);
  });

  test('carries no bin: grpc-lb-check is its own package', () => {
    expect(packed.bin).toBeUndefined();
  });

  test('main, types and exports point at files in the tarball, and internal paths stay hidden', async () => {
    const paths = new Set(pack.files.map((file) => file.path));
    const exports = packed.exports ?? {};
    const targets = [
      packed.types ?? '',
      ...Object.values(exports).flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target))),
    ];
    expect(targets.map((target) => path.posix.normalize(target)).filter((target) => !paths.has(target))).toEqual([]);
    expect(Object.keys(exports).sort()).toEqual(['.', './package.json']);
    const deep = await run(
      process.execPath,
      [
        '-e',
        'try { require("grpc-k8s-lb/build/internal/validate.js"); console.log("allowed") } catch (e) { console.log(e.code) }',
      ],
      consumerDir,
    );
    expect(deep.trim()).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  test('declares every package its code requires: cdk8s and constructs as peers, grpc-k8s-lb-common as its one dependency', () => {
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
    expect(packed.dependencies).toEqual({ [common.name]: common.version });
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
    expect(installed.packages).toEqual(expect.arrayContaining(['grpc-k8s-lb', common.name, ...PEERS]));
    // Kubernetes' L1 classes are the library's own (lib/imports): no cdk8s-plus of any major comes with it.
    expect(installed.packages.filter((name) => name.startsWith('cdk8s-plus'))).toEqual([]);
    expect(installed.packages.filter((name) => !expected.includes(name))).toEqual([]);
    // The app's runtime packages belong to the images, never to construct users.
    expect(installed.packages.filter((name) => /^@grpc\/|^@kubernetes\/|^grpc-health-check$/.test(name))).toEqual([]);
  });

  test('exports a narrow API: the constructs, their props and the interfaces they take, at most 45 names', () => {
    expect(exported).toEqual(
      expect.arrayContaining([
        'GrpcApp',
        'GrpcBackend',
        'IstioIlbGateway',
        'GrpcVirtualService',
        'GrpcRoute',
        'GrpcGateway',
        'existingNamespace',
      ]),
    );
    // Type-only exports (props, interfaces) vanish at run time; the .d.ts carries them.
    expect(exported.filter((name) => /greeter/i.test(name))).toEqual([]);
    const declarations = readFileSync(path.join(installedDir, 'build', 'index.d.ts'), 'utf8');
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
