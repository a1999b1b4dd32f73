/**
 * The library as another repository gets it: `npm pack -w lib` (whose prepack builds it) and its one dependency,
 * grpc-k8s-lb-common, installed offline from npm's cache (harness/packages.ts) into two fresh cdk8s projects, one on
 * cdk8s-plus-27 and one on cdk8s-plus-32, beside their cdk8s and constructs. In each, a platform's cluster is built
 * with tsc (strict, no skipLibCheck, so the shipped .d.ts are checked too) and run: gateways the platform runs,
 * imported; a team's own service (its own image, port and workload options) and another team's Namespace, Deployment
 * and Service of that project's cdk8s-plus major, passed in through the library's interfaces. The manifests are
 * validated against their schemas and CEL rules and checked for their wiring.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  findObject,
  gatewayParentRef,
  readManifestDir,
  validateAgainstSchemas,
  type KubeObject,
} from '../../harness/manifests';
import {
  installConsumer,
  packWorkspace,
  requiredPackages,
  runCommand as run,
  type LockEntry,
  type PackedPackage,
  type PackageJson,
  writeConsumerTsconfig,
} from '../../harness/packages';

const ROOT = path.resolve(__dirname, '..', '..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const PEERS = ['cdk8s', 'constructs'];
/** The cdk8s-plus majors a consumer project may be on: the deployment's own (27), and a current one. */
const PLUS_MAJORS = ['cdk8s-plus-27', 'cdk8s-plus-32'] as const;
type PlusMajor = (typeof PLUS_MAJORS)[number];

const listFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
  );

/**
 * A platform's cluster: the platform runs an Istio ingress gateway and an Envoy Gateway `Gateway`, both imported. The
 * payments team renders its own service with GrpcApp's workload options, in a meshed namespace; the orders team's
 * Namespace, Deployment and Service are the project's cdk8s-plus, without a mesh. Both route through both gateways.
 */
const consumerMain = (plus: PlusMajor) => `import { App, Chart, Duration } from 'cdk8s';
import * as kplus from '${plus}';
import {
  AppNamespace, GrpcApp, GrpcBackend, GrpcGateway, GrpcRoute, GrpcVirtualService, IstioIlbGateway, LinkerdGrpcPolicy,
  MeshAccessPolicy, existingNamespace, type INamespace,
} from 'grpc-k8s-lb';

const app = new App({ outdir: 'dist' });
const platform = new Chart(app, 'platform');
const istioGateway = IstioIlbGateway.fromGatewayAttributes(platform, 'istio-ingress', {
  name: 'ingressgateway', namespace: existingNamespace('istio-system'), hosts: ['*.shop.example.com'],
  selector: { istio: 'ingressgateway' },
  identity: { namespace: existingNamespace('istio-system'), serviceAccountName: 'istio-ingressgateway' },
});
const apiGateway = GrpcGateway.fromGatewayAttributes(platform, 'api-gateway', {
  name: 'shared', namespace: existingNamespace('gateways'), gatewayClassName: 'eg',
  listeners: [{ name: 'https', hostname: '*.api.example.com' }],
});

const payments = new Chart(app, 'payments');
const paymentsNamespace = new AppNamespace(payments, 'namespace', { name: 'payments', mesh: 'istio' });
const paymentsApp = new GrpcApp(payments, 'app', {
  namespace: paymentsNamespace, name: 'payments', port: 9090,
  image: { repository: 'registry.example.com/shop/payments', tag: '1.4.2' },
  env: [{ name: 'CURRENCY', value: 'EUR' }],
  imagePullSecrets: ['registry-credentials'],
  podAnnotations: { 'prometheus.io/scrape': 'true' },
  labels: { team: 'payments' },
  serviceAccountAnnotations: { 'iam.gke.io/gcp-service-account': 'payments@my-project.iam.gserviceaccount.com' },
  ports: [{ name: 'metrics', port: 9464 }],
  volumes: [{ name: 'config', configMap: { name: 'payments-config' } }],
  volumeMounts: [{ name: 'config', mountPath: '/etc/payments', readOnly: true }],
  command: ['/app/payments'], args: ['--config', '/etc/payments/config.yaml'],
  startupProbe: { grpc: { port: 9090 }, periodSeconds: 2, failureThreshold: 30 },
  autoscaling: { maxReplicas: 8 },
  resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
  nodeSelector: { 'cloud.google.com/gke-nodepool': 'grpc' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'grpc', effect: 'NoSchedule' }],
  affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [
    { weight: 100, podAffinityTerm: { topologyKey: 'topology.kubernetes.io/zone', labelSelector: { matchLabels: { app: 'payments' } } } },
  ] } },
});
new GrpcVirtualService(payments, 'routes', {
  backend: paymentsApp, gateway: istioGateway, hosts: ['payments.shop.example.com'], timeout: Duration.seconds(30),
});
new GrpcRoute(payments, 'route', {
  gateway: apiGateway, backend: paymentsApp, hostnames: ['payments.api.example.com'], grpcServices: ['shop.payments.v1.Payments'],
});
new MeshAccessPolicy(payments, 'access', { backend: paymentsApp, allowedCallers: [istioGateway.identity!] });

// The orders team's own objects, of the project's cdk8s-plus: its Namespace is an INamespace as it is.
const orders = new Chart(app, 'orders');
const ordersNamespace: INamespace = new kplus.Namespace(orders, 'namespace', { metadata: { name: 'orders' } });
const ordersDeployment = new kplus.Deployment(orders, 'deployment', {
  metadata: { name: 'orders', namespace: ordersNamespace.name },
  containers: [{ name: 'orders', image: 'registry.example.com/shop/orders:3.1.0', portNumber: 50052 }],
});
const ordersService = ordersDeployment.exposeViaService({ name: 'orders', ports: [{ name: 'grpc', port: 50052 }] });
const ordersBackend = GrpcBackend.fromService({
  name: ordersService.name, namespace: ordersNamespace, port: ordersService.port,
  selectorLabels: ordersDeployment.matchLabels,
});
new GrpcVirtualService(orders, 'routes', { backend: ordersBackend, gateway: istioGateway, hosts: ['orders.shop.example.com'] });
new GrpcRoute(orders, 'route', { gateway: apiGateway, backend: ordersBackend, hostnames: ['orders.api.example.com'] });
new LinkerdGrpcPolicy(orders, 'linkerd', {
  backend: GrpcBackend.fromService({ name: 'orders', namespace: existingNamespace('orders-meshed', 'linkerd'), port: 50052 }),
});
app.synth();
`;

/** Two teams' apps of one name in one namespace: synth must fail, naming both construct paths. */
const DUPLICATE_MAIN = `import { App, Chart } from 'cdk8s';
import { GrpcApp, existingNamespace } from 'grpc-k8s-lb';

const app = new App({ outdir: 'duplicate' });
for (const team of ['team-a', 'team-b']) {
  new GrpcApp(new Chart(app, team), 'api', {
    namespace: existingNamespace('shared'), name: 'api', port: 9090, image: { repository: 'api', tag: '1.0.0' },
  });
}
app.synth();
`;

/** One consumer project: its install, its compiled app's manifests, and what `node duplicate.js` printed. */
interface Consumer {
  readonly dir: string;
  installed: { packages: string[]; bytes: number };
  objects: KubeObject[];
  duplicate: string;
  /** What the example of the package's README.md renders. */
  readmeObjects: KubeObject[];
}

const work = mkdtempSync(path.join(tmpdir(), 'library-'));
const consumers = Object.fromEntries(
  PLUS_MAJORS.map((plus) => [plus, { dir: path.join(work, plus), objects: [], duplicate: '' } as unknown as Consumer]),
) as Record<PlusMajor, Consumer>;
/** The first consumer holds the packaging checks, which are the same in both. */
const installedDir = path.join(consumers[PLUS_MAJORS[0]].dir, 'node_modules', 'grpc-k8s-lb');
let pack: PackedPackage;
let common: PackedPackage;
let packed: PackageJson;
let exported: string[];
const timings: Record<string, number> = {};

async function timed<T>(step: string, action: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await action();
  } finally {
    timings[step] = Math.round(performance.now() - start);
  }
}

/** Installs, compiles and runs one consumer project; the duplicate app is expected to fail. */
async function buildConsumer(plus: PlusMajor): Promise<void> {
  const consumer = consumers[plus];
  consumer.installed = await timed(`${plus}: npm ci --offline`, () =>
    installConsumer(consumer.dir, { local: [common, pack], registry: [...PEERS, plus] }),
  );
  writeFileSync(path.join(consumer.dir, 'main.ts'), consumerMain(plus));
  writeFileSync(path.join(consumer.dir, 'duplicate.ts'), DUPLICATE_MAIN);
  const readme = readFileSync(path.join(consumer.dir, 'node_modules', 'grpc-k8s-lb', 'README.md'), 'utf8');
  writeFileSync(path.join(consumer.dir, 'readme.ts'), /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? 'no example');
  writeConsumerTsconfig(consumer.dir, ['main.ts', 'duplicate.ts', 'readme.ts'], {
    lib: ['ES2022'],
    types: [],
    outDir: 'build',
  });
  await timed(`${plus}: tsc`, () => run(process.execPath, [TSC, '-p', '.'], consumer.dir));
  // The README's App writes to cdk8s's default dist/ too: read it before main.js writes there.
  await run(process.execPath, ['build/readme.js'], consumer.dir);
  consumer.readmeObjects = readManifestDir(path.join(consumer.dir, 'dist')).flatMap((file) => file.objects);
  rmSync(path.join(consumer.dir, 'dist'), { recursive: true });
  await timed(`${plus}: node main.js`, () => run(process.execPath, ['build/main.js'], consumer.dir));
  consumer.objects = readManifestDir(path.join(consumer.dir, 'dist')).flatMap((file) => file.objects);
  consumer.duplicate = await run(process.execPath, ['build/duplicate.js'], consumer.dir).then(
    () => 'synthesized',
    (error: Error) => error.message,
  );
}

beforeAll(async () => {
  [common, pack] = await timed('npm pack (or the cache)', async () => [
    await packWorkspace('common'),
    await packWorkspace('lib'),
  ]);
  for (const plus of PLUS_MAJORS) await buildConsumer(plus);
  packed = JSON.parse(readFileSync(path.join(installedDir, 'package.json'), 'utf8')) as PackageJson;
  exported = JSON.parse(
    await run(
      process.execPath,
      ['-e', 'console.log(JSON.stringify(Object.keys(require("grpc-k8s-lb"))))'],
      consumers[PLUS_MAJORS[0]].dir,
    ),
  );
  const installs = PLUS_MAJORS.map(
    (plus) =>
      `${plus} project: ${consumers[plus].installed.packages.length} packages, ${(consumers[plus].installed.bytes / 1024 / 1024).toFixed(1)} MiB`,
  );
  process.stdout.write(
    `library package: ${path.basename(pack.tarball)} ${(pack.size / 1024).toFixed(0)} KiB packed, ${(pack.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${pack.files.length} files; ` +
      `consumer installs: ${installs.join('; ')}; ms per step ${JSON.stringify(timings)}\n`,
  );
}, 600_000);

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
      consumers[PLUS_MAJORS[0]].dir,
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

  test.each(PLUS_MAJORS)(
    'in a %s project, installs nothing but the peers and their own dependencies, and no other cdk8s-plus',
    (plus) => {
      const { dir, installed } = consumers[plus];
      const lock = JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8')) as {
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
      expect(installed.packages).toEqual(expect.arrayContaining(['grpc-k8s-lb', common.name, ...PEERS, plus]));
      // Kubernetes' L1 classes are the library's own (lib/imports): the project's cdk8s-plus is the only one.
      expect(installed.packages.filter((name) => name.startsWith('cdk8s-plus'))).toEqual([plus]);
      for (const other of PLUS_MAJORS.filter((major) => major !== plus))
        expect(existsSync(path.join(dir, 'node_modules', other))).toBe(false);
      expect(installed.packages.filter((name) => !expected.includes(name))).toEqual([]);
      // The app's runtime packages belong to the images, never to construct users.
      expect(installed.packages.filter((name) => /^@grpc\/|^@kubernetes\/|^grpc-health-check$/.test(name))).toEqual([]);
    },
  );

  test('exports a narrow API: the constructs, their props, the interfaces they take and the helpers for constructs built on them', () => {
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
    // About eight names per data plane (constructs and their props): Istio sidecar and ambient, Envoy Gateway, GKE,
    // Linkerd, proxyless, headless, ingress-nginx, Cloud Endpoints, plus the shared backend, gateway and namespace.
    expect(names.length).toBeLessThanOrEqual(90);
    // The internal helpers stay internal: PropValidator is their one public face.
    expect(
      names.filter((name) =>
        /^(invalidProp|integerIn|oneOf|dnsLabel|subjectOf|childSubject|containerImage|containerResources|grpcRetries|checkUniqueObjects|ENVIRONMENTS|composedStrategy|TlsGatewayEndpoint)$/.test(
          name,
        ),
      ),
    ).toEqual([]);
    expect(names.filter((name) => /_CONDITIONS$|^DATA_PLANE/.test(name))).toEqual([]);
  });
});

describe.each(PLUS_MAJORS)('a platform cluster built in a %s project, compiled against the package and run', (plus) => {
  const objects = () => consumers[plus].objects;
  const serviceHost = (name: string, namespace: string) => `${name}.${namespace}.svc.cluster.local`;

  test('every object is valid against its schema and CEL rules, cdk8s-plus objects included', () => {
    expect(objects().length).toBeGreaterThan(15);
    expect(validateAgainstSchemas(objects()).filter((result) => result.error !== null)).toEqual([]);
  });

  test('two teams route through the imported Istio gateway and Gateway API gateway: no gateway objects rendered', () => {
    const kinds = objects().map((o) => o.kind);
    expect(
      kinds.filter((kind) => ['Gateway', 'EnvoyProxy', 'Role', 'RoleBinding', 'ConfigMap'].includes(kind)),
    ).toEqual([]);
    expect(
      objects()
        .filter((o) => o.kind === 'Deployment')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['orders', 'payments']);
    expect(objects().filter((o) => o.kind === 'Service' && o.spec.type === 'LoadBalancer')).toEqual([]);
    // Files are named by chart: orders.k8s.yaml, then payments.k8s.yaml.
    const virtualServices = objects().filter((o) => o.kind === 'VirtualService');
    expect(virtualServices.map((o) => [o.metadata.namespace, o.spec.gateways, o.spec.hosts])).toEqual([
      ['orders', ['istio-system/ingressgateway'], ['orders.shop.example.com']],
      ['payments', ['istio-system/ingressgateway'], ['payments.shop.example.com']],
    ]);
    const routes = objects().filter((o) => o.kind === 'GRPCRoute' && o.spec.parentRefs[0].kind === 'Gateway');
    expect(routes.map((o) => [o.metadata.namespace, o.spec.parentRefs, o.spec.hostnames])).toEqual(
      ['orders', 'payments'].map((team) => [
        team,
        [gatewayParentRef({ name: 'shared', namespace: 'gateways' }, 'https')],
        [`${team}.api.example.com`],
      ]),
    );
  });

  // Istio 1.30.3 pilot/pkg/networking/core/route/retry/retry.go defaultNumRetries and defaultRetryOn.
  test("default retries are Istio's own, with no per-try timeout; the route timeout is the one asked for", () => {
    for (const name of ['payments', 'orders']) {
      const [route] = findObject(objects(), 'VirtualService', name).spec.http;
      expect(route.retries).toEqual({
        attempts: 2,
        retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
      });
    }
    expect(findObject(objects(), 'VirtualService', 'payments').spec.http[0].timeout).toBe('30s');
    expect(findObject(objects(), 'VirtualService', 'orders').spec.http[0].timeout).toBeUndefined();
    // Linkerd retries nothing unless its annotations say so.
    const linkerd = objects().find((o) => o.kind === 'GRPCRoute' && o.metadata.namespace === 'orders-meshed');
    expect(linkerd?.metadata.annotations).toBeUndefined();
  });

  test('TLS follows the backend: ISTIO_MUTUAL to the meshed payments pods, none to the orders pods without a mesh', () => {
    expect(findObject(objects(), 'DestinationRule', 'payments').spec).toMatchObject({
      host: serviceHost('payments', 'payments'),
      trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } },
    });
    expect(findObject(objects(), 'DestinationRule', 'orders').spec).toMatchObject({
      host: serviceHost('orders', 'orders'),
      trafficPolicy: { tls: { mode: 'DISABLE' } },
    });
  });

  test(`the orders team's ${plus} Namespace and Service are the backend, by name, port and pod selector`, () => {
    const service = findObject(objects(), 'Service', 'orders');
    expect(service.metadata.namespace).toBe('orders');
    expect(findObject(objects(), 'Namespace', 'orders').metadata.name).toBe('orders');
    expect(findObject(objects(), 'VirtualService', 'orders').spec.http[0].route[0].destination).toEqual({
      host: serviceHost('orders', 'orders'),
      port: { number: 50052 },
    });
    const routes = objects().filter((o) => o.metadata.namespace === 'orders');
    expect(findObject(routes, 'GRPCRoute', 'orders').spec.rules[0].backendRefs).toEqual([
      { group: '', kind: 'Service', name: 'orders', port: 50052 },
    ]);
  });

  test("the payments team's own service: its image and port, and every workload option, with nothing of the greeter", () => {
    const deployment = findObject(objects(), 'Deployment', 'payments');
    const pod = deployment.spec.template;
    const [container] = pod.spec.containers;
    expect(container.image).toBe('registry.example.com/shop/payments:1.4.2');
    expect(pod.metadata.labels).toMatchObject({ app: 'payments', version: '1.4.2', team: 'payments' });
    expect(container.ports).toEqual([
      { name: 'grpc', containerPort: 9090, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9464, protocol: 'TCP' },
    ]);
    expect(container.env).toEqual([{ name: 'CURRENCY', value: 'EUR' }]);
    expect(container.command).toEqual(['/app/payments']);
    expect(container.args).toEqual(['--config', '/etc/payments/config.yaml']);
    expect(container.startupProbe).toEqual({ grpc: { port: 9090 }, periodSeconds: 2, failureThreshold: 30 });
    expect(container.resources).toEqual({ requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } });
    expect(container.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toEqual(['/etc/payments', '/tmp']);
    expect(pod.spec.imagePullSecrets).toEqual([{ name: 'registry-credentials' }]);
    // The team's annotation, and Istio's sidecar kept up through the pod's preStop sleep (GrpcApp's 5 s drain delay).
    expect(pod.metadata.annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'proxy.istio.io/config': JSON.stringify({ terminationDrainDuration: '5s' }),
    });
    expect(container.lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
    expect(pod.spec.nodeSelector).toEqual({ 'cloud.google.com/gke-nodepool': 'grpc' });
    expect(pod.spec.tolerations).toHaveLength(1);
    expect(pod.spec.affinity.podAntiAffinity).toBeDefined();
    expect(deployment.spec.replicas).toBeUndefined();
    expect(findObject(objects(), 'HorizontalPodAutoscaler', 'payments').spec).toMatchObject({
      minReplicas: 2,
      maxReplicas: 8,
    });
    expect(findObject(objects(), 'ServiceAccount', 'payments').metadata.annotations).toEqual({
      'iam.gke.io/gcp-service-account': 'payments@my-project.iam.gserviceaccount.com',
    });
    expect(findObject(objects(), 'AuthorizationPolicy', 'payments').spec.rules[0]).toEqual({
      from: [{ source: { principals: ['cluster.local/ns/istio-system/sa/istio-ingressgateway'] } }],
      to: [{ operation: { ports: ['9090'] } }],
    });
    expect(JSON.stringify(objects())).not.toMatch(/greeter|SHUTDOWN_GRACE_MS|POD_NAME|helloworld/);
  });

  test("the example in the package's README.md compiles, and renders the team's service and routes, valid", () => {
    const { readmeObjects } = consumers[plus];
    expect(readmeObjects.map((o) => o.kind).sort()).toEqual(
      [
        'AuthorizationPolicy',
        'DestinationRule',
        'Deployment',
        'HorizontalPodAutoscaler',
        'Namespace',
        'PeerAuthentication',
        'PodDisruptionBudget',
        'Service',
        'ServiceAccount',
        'VirtualService',
      ].sort(),
    );
    expect(validateAgainstSchemas(readmeObjects).filter((result) => result.error !== null)).toEqual([]);
  });

  test('two objects of one kind, namespace and name fail synth, naming both construct paths', () => {
    expect(consumers[plus].duplicate).toContain(
      'apps Deployment shared/api is rendered twice, by team-a/api/Deployment and team-b/api/Deployment',
    );
    // cdk8s creates the output directory, then validates: nothing is written into it.
    const outdir = path.join(consumers[plus].dir, 'duplicate');
    expect(existsSync(outdir) ? readdirSync(outdir) : []).toEqual([]);
  });
});
