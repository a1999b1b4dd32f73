/** The constructs one by one: options that change the output, and bad props that must fail synthesis clearly. */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Chart, Duration, Testing } from 'cdk8s';
import {
  AppNamespace,
  ENVIRONMENTS,
  GreeterApp,
  GreeterClientTest,
  GrpcVirtualService,
  IstioIlbGateway,
  MeshAccessPolicy,
  SelfSignedCertificate,
  existingNamespace,
  istioIlbWalkthrough,
  type EnvironmentConfig,
  type GreeterAppProps,
  type GrpcVirtualServiceProps,
  type IstioIlbGatewayProps,
} from '../../lib';
import { synthesize } from '../../main';
import { startProcess } from '../support/processes';
import { containerEnv, findObject, validateAgainstSchemas, type KubeObject } from '../support/manifests';

const image = { repository: 'greeter-server', tag: '1.0.0' };

function fixture(chart: Chart = Testing.chart()) {
  const namespace = new AppNamespace(chart, 'ns', { name: 'testing' });
  const app = new GreeterApp(chart, 'greeter', { namespace, image });
  const gateway = new IstioIlbGateway(chart, 'gateway', {
    namespace: existingNamespace('istio-system'),
    configNamespace: namespace,
    host: 'grpc.example.com',
    tlsSecretName: 'grpc-tls',
  });
  return { chart, namespace, app, gateway };
}

const synthOf = (chart: Chart) => Testing.synth(chart) as KubeObject[];
const envOf = (deployment: KubeObject) => containerEnv(deployment.spec.template.spec.containers[0]);

describe('GreeterApp', () => {
  test('a port of its own flows to the container, the Service, both probes and the route', () => {
    const chart = Testing.chart();
    const namespace = new AppNamespace(chart, 'ns', { name: 'apps' });
    const app = new GreeterApp(chart, 'greeter', { namespace, image, name: 'hello', port: 8443, replicas: 5 });
    const gateway = new IstioIlbGateway(chart, 'gateway', { namespace, host: 'hello.example.org', tlsSecretName: 'hello-tls' });
    new GrpcVirtualService(chart, 'routes', { app, gateway });
    const objects = synthOf(chart);
    const deployment = findObject(objects, 'Deployment', 'hello');
    const container = deployment.spec.template.spec.containers[0];
    expect(deployment.spec.replicas).toBe(5);
    expect(container.ports).toEqual([{ name: 'grpc', containerPort: 8443, protocol: 'TCP' }]);
    expect([container.readinessProbe.grpc.port, container.livenessProbe.grpc.port]).toEqual([8443, 8443]);
    expect(envOf(deployment).PORT).toBe('8443');
    expect(findObject(objects, 'Service', 'hello').spec.ports[0]).toMatchObject({ port: 8443, targetPort: 'grpc' });
    expect(findObject(objects, 'VirtualService').spec.http[0].route[0].destination).toEqual({ host: 'hello.apps.svc.cluster.local', port: { number: 8443 } });
    expect(findObject(objects, 'Gateway').metadata.namespace).toBe('apps');
  });

  test('maxConnectionAge and shutdownGrace reach the server, and the grace period covers the drain', () => {
    const { chart, namespace } = fixture();
    new GreeterApp(chart, 'aged', { namespace, image, name: 'aged', maxConnectionAge: Duration.minutes(5), shutdownGrace: Duration.seconds(45) });
    const deployment = findObject(synthOf(chart), 'Deployment', 'aged');
    expect(envOf(deployment)).toMatchObject({ MAX_CONNECTION_AGE_MS: '300000', SHUTDOWN_GRACE_MS: '45000' });
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBe(55);
    // The sidecar keeps proxying for as long as the server drains.
    expect(JSON.parse(deployment.spec.template.metadata.annotations['proxy.istio.io/config'])).toEqual({ terminationDrainDuration: '45s' });
  });
});

describe('GrpcVirtualService', () => {
  test('takes a load balancer and a retry policy', () => {
    const { chart, app, gateway } = fixture();
    new GrpcVirtualService(chart, 'routes', {
      app,
      gateway,
      loadBalancer: 'LEAST_REQUEST',
      retries: { attempts: 2, perTryTimeout: Duration.millis(1500), retryOn: ['unavailable', 'resource-exhausted'] },
    });
    const objects = synthOf(chart);
    expect(findObject(objects, 'DestinationRule').spec.trafficPolicy.loadBalancer).toEqual({ simple: 'LEAST_REQUEST' });
    expect(findObject(objects, 'VirtualService').spec.http[0].retries).toEqual({ attempts: 2, perTryTimeout: '1500ms', retryOn: 'unavailable,resource-exhausted' });
  });

  test('attempts: 0 turns retries off', () => {
    const { chart, app, gateway } = fixture();
    new GrpcVirtualService(chart, 'routes', { app, gateway, retries: { attempts: 0 } });
    expect(findObject(synthOf(chart), 'VirtualService').spec.http[0].retries).toEqual({ attempts: 0 });
  });
});

describe('SelfSignedCertificate (cert-manager, opt-in)', () => {
  test("writes the gateway's TLS Secret for its host, from a self-signed Issuer in the gateway's namespace", () => {
    const { chart, gateway } = fixture();
    new SelfSignedCertificate(chart, 'certificate', { gateway });
    const objects = synthOf(chart);
    const issuer = findObject(objects, 'Issuer');
    const certificate = findObject(objects, 'Certificate');
    expect(issuer.spec).toEqual({ selfSigned: {} });
    expect(certificate.metadata.namespace).toBe('istio-system');
    expect(certificate.spec).toMatchObject({
      secretName: 'grpc-tls',
      dnsNames: ['grpc.example.com'],
      duration: '2160h',
      renewBefore: '360h',
      issuerRef: { kind: 'Issuer', name: issuer.metadata.name },
    });
    expect(validateAgainstSchemas([issuer, certificate]).filter((r) => r.error !== null)).toEqual([]);
  });

  test("an environment with tls.source 'cert-manager' renders it into the gateway file", () => {
    const app = Testing.app();
    const env: EnvironmentConfig = { ...ENVIRONMENTS.gke, tls: { ...ENVIRONMENTS.gke.tls, source: 'cert-manager' } };
    const { certificate, gateway } = istioIlbWalkthrough(app, env);
    expect(certificate).toBeDefined();
    const gatewayChart = Chart.of(gateway);
    expect((gatewayChart.toJson() as KubeObject[]).map((o) => o.kind)).toEqual(expect.arrayContaining(['Issuer', 'Certificate', 'Gateway']));
  });
});

describe('MeshAccessPolicy', () => {
  test('allows every caller named, in a custom trust domain', () => {
    const { chart, app, gateway } = fixture();
    const caller = { namespace: existingNamespace('batch'), serviceAccountName: 'reporter' };
    new MeshAccessPolicy(chart, 'access', { app, allowedCallers: [gateway.identity, caller], trustDomain: 'prod.example.com' });
    expect(findObject(synthOf(chart), 'AuthorizationPolicy').spec.rules[0].from[0].source.principals).toEqual([
      'prod.example.com/ns/istio-system/sa/greeter-gateway',
      'prod.example.com/ns/batch/sa/reporter',
    ]);
  });
});

// Each bad prop fails synthesis with a message that names the construct, the prop and the value.
type BadCase = [label: string, build: () => void, subject: string, value: unknown];
const withApp = (props: Partial<GreeterAppProps>) => () => {
  const { chart, namespace } = fixture();
  new GreeterApp(chart, 'bad', { namespace, image, name: 'bad', ...props });
};
const withGateway = (props: Partial<IstioIlbGatewayProps>) => () => {
  const { chart, namespace } = fixture();
  new IstioIlbGateway(chart, 'bad', { namespace, host: 'grpc.example.com', tlsSecretName: 'tls', name: 'bad', ...props });
};
const withRoutes = (props: Partial<GrpcVirtualServiceProps>) => () => {
  const { chart, app, gateway } = fixture();
  new GrpcVirtualService(chart, 'bad', { app, gateway, ...props });
};
const badCases: BadCase[] = [
  ['replicas 0', withApp({ replicas: 0 }), `GreeterApp 'bad': replicas must be an integer >= 1`, 0],
  ['replicas 1.5', withApp({ replicas: 1.5 }), `GreeterApp 'bad': replicas must be an integer >= 1`, 1.5],
  ['port 70000', withApp({ port: 70000 }), `GreeterApp 'bad': port must be an integer from 1 to 65535`, 70000],
  ['port 0', withApp({ port: 0 }), `GreeterApp 'bad': port must be an integer from 1 to 65535`, 0],
  ['name Greeter_App', withApp({ name: 'Greeter_App' }), `GreeterApp 'bad': name must be a DNS-1123 label`, 'Greeter_App'],
  ['version v1.0', withApp({ version: 'v1.0' }), `GreeterApp 'bad': version must be a DNS-1123 label`, 'v1.0'],
  ['image repository with upper case', withApp({ image: { repository: 'gcr.io/PROJECT_ID/greeter', tag: '1' } }), `GreeterApp 'bad': image.repository must be an image repository`, 'gcr.io/PROJECT_ID/greeter'],
  ['image tag with a colon', withApp({ image: { repository: 'greeter', tag: '1:2' } }), `GreeterApp 'bad': image.tag must be an image tag`, '1:2'],
  ['image pull policy', withApp({ image: { ...image, pullPolicy: 'Sometimes' as 'Never' } }), `GreeterApp 'bad': image.pullPolicy must be one of "Always", "IfNotPresent", "Never"`, 'Sometimes'],
  ['cpu "lots"', withApp({ resources: { requests: { cpu: 'lots', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } } }), `GreeterApp 'bad': resources.requests.cpu must be a Kubernetes quantity`, 'lots'],
  ['memory "1GB"', withApp({ resources: { requests: { cpu: '1', memory: '64Mi' }, limits: { cpu: '1', memory: '1GB' } } }), `GreeterApp 'bad': resources.limits.memory must be a Kubernetes quantity`, '1GB'],
  ['terminationMargin 500 ms', withApp({ terminationMargin: Duration.millis(500) }), `GreeterApp 'bad': terminationMargin must be a Duration of at least 1000 ms`, '500 ms'],
  ['maxConnectionAge 10 ms', withApp({ maxConnectionAge: Duration.millis(10) }), `GreeterApp 'bad': maxConnectionAge must be a Duration of at least 1000 ms`, '10 ms'],
  ['host "not a host"', withGateway({ host: 'not a host' }), `IstioIlbGateway 'bad': host must be a fully qualified lower-case host name`, 'not a host'],
  ['host "localhost"', withGateway({ host: 'localhost' }), `IstioIlbGateway 'bad': host must be a fully qualified lower-case host name`, 'localhost'],
  ['host with a port', withGateway({ host: 'grpc.example.com:443' }), `IstioIlbGateway 'bad': host must be a fully qualified lower-case host name`, 'grpc.example.com:443'],
  ['TLS without a secret name', withGateway({ tlsSecretName: '' }), `IstioIlbGateway 'bad': tlsSecretName must be the name of the kubernetes.io/tls Secret for "grpc.example.com"`, ''],
  ['TLS secret name with a slash', withGateway({ tlsSecretName: 'istio-system/tls' }), `IstioIlbGateway 'bad': tlsSecretName must be a DNS-1123 subdomain`, 'istio-system/tls'],
  ['gateway port 65536', withGateway({ port: 65536 }), `IstioIlbGateway 'bad': port must be an integer from 1 to 65535`, 65536],
  ['gateway replicas -1', withGateway({ replicas: -1 }), `IstioIlbGateway 'bad': replicas must be an integer >= 1`, -1],
  ['load balancer kind', withGateway({ loadBalancer: 'aws-internal' as 'default' }), `IstioIlbGateway 'bad': loadBalancer must be one of "gke-internal", "default"`, 'aws-internal'],
  ['route name', withRoutes({ name: 'greeter.routes' }), `GrpcVirtualService 'bad': name must be a DNS-1123 label`, 'greeter.routes'],
  ['DestinationRule policy', withRoutes({ loadBalancer: 'FASTEST' as 'RANDOM' }), `GrpcVirtualService 'bad': loadBalancer must be one of "ROUND_ROBIN", "LEAST_REQUEST", "LEAST_CONN", "RANDOM", "PASSTHROUGH"`, 'FASTEST'],
  ['retry condition', withRoutes({ retries: { retryOn: ['unavailable', 'sometimes' as 'reset'] } }), `GrpcVirtualService 'bad': retries.retryOn[1] must be one of`, 'sometimes'],
  ['no retry conditions', withRoutes({ retries: { retryOn: [] } }), `GrpcVirtualService 'bad': retries.retryOn must be a non-empty list`, []],
  ['retry attempts 11', withRoutes({ retries: { attempts: 11 } }), `GrpcVirtualService 'bad': retries.attempts must be an integer from 0 to 10`, 11],
  ['namespace name', () => new AppNamespace(Testing.chart(), 'bad', { name: 'Testing' }), `AppNamespace 'bad': name must be a DNS-1123 label`, 'Testing'],
  ['existing namespace name', () => existingNamespace('istio_system'), `existingNamespace 'istio_system': name must be a DNS-1123 label`, 'istio_system'],
  ['client summaryEvery', () => {
    const { chart, gateway } = fixture();
    new GreeterClientTest(chart, 'bad', { gateway, image, summaryEvery: -5 });
  }, `GreeterClientTest 'bad': summaryEvery must be an integer >= 0`, -5],
  ['no allowed callers', () => {
    const { chart, app } = fixture();
    new MeshAccessPolicy(chart, 'bad', { app, allowedCallers: [] });
  }, `MeshAccessPolicy 'bad': allowedCallers must be at least one mesh identity`, []],
  ['renewBefore longer than duration', () => {
    const { chart, gateway } = fixture();
    new SelfSignedCertificate(chart, 'bad', { gateway, duration: Duration.days(1), renewBefore: Duration.days(2) });
  }, `SelfSignedCertificate 'bad': renewBefore must be shorter than duration (24h)`, '48h'],
];

test.each(badCases)('bad prop: %s', (_label, build, subject, value) => {
  expect(build).toThrow(subject);
  expect(build).toThrow(`, got ${JSON.stringify(value)}`);
});

test('the bad-prop table covers every construct', () => {
  const constructs = new Set(badCases.map(([, , subject]) => subject.split(' ')[0]));
  expect([...constructs].sort()).toEqual(
    ['AppNamespace', 'GreeterApp', 'GreeterClientTest', 'GrpcVirtualService', 'IstioIlbGateway', 'MeshAccessPolicy', 'SelfSignedCertificate', 'existingNamespace'].sort(),
  );
});

describe('environments', () => {
  test('an unknown environment fails before any file is written', () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'synth-bad-'));
    try {
      expect(() => synthesize(outdir, ['docker-desktop', 'minikube'])).toThrow('unknown environment "minikube": expected one of "gke", "docker-desktop"');
      expect(readdirSync(outdir)).toEqual([]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('a bad value in an environment fails synthesis of that environment, naming the prop and value, with nothing written', () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'synth-bad-'));
    try {
      const app = new App({ outdir });
      const env: EnvironmentConfig = { ...ENVIRONMENTS['docker-desktop'], replicas: { greeter: 0, gateway: 1 } };
      expect(() => istioIlbWalkthrough(app, env)).toThrow(`GreeterApp 'greeter': replicas must be an integer >= 1, got 0`);
      expect(readdirSync(outdir)).toEqual([]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('`npm run synth -- <unknown>` exits 1 with one line and writes nothing', async () => {
    const outdir = path.join(mkdtempSync(path.join(tmpdir(), 'synth-cli-')), 'dist');
    try {
      const proc = startProcess(process.execPath, ['-r', './scripts/register.js', 'main.ts', 'minikube'], { env: { CDK8S_OUTDIR: outdir } });
      expect(await proc.exited).toBe(1);
      expect(proc.stderr).toEqual(['synth: unknown environment "minikube": expected one of "gke", "docker-desktop"']);
      expect(existsSync(outdir)).toBe(false);
    } finally {
      rmSync(path.dirname(outdir), { recursive: true, force: true });
    }
  });
});
