/** The constructs one by one: options that change the output, and bad props that must fail synthesis clearly. */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Chart, Duration, Testing } from 'cdk8s';
import { ENVIRONMENTS, type EnvironmentConfig } from '../../deploy';
import { istioIlb } from '../../deploy/strategies/istio-ilb';
import {
  AppNamespace,
  GrpcVirtualService,
  IstioIlbGateway,
  MeshAccessPolicy,
  SelfSignedCertificate,
  existingNamespace,
} from '../../lib';
import { GreeterApp } from '../../deploy/greeter-app';
import { fixture, image } from '../../harness/fixtures';
import { synthesize } from '../../main';
import { startProcess } from '../../harness/processes';
import { containerEnv, findObject, validateAgainstSchemas, type KubeObject } from '../../harness/manifests';

const synthOf = (chart: Chart) => Testing.synth(chart) as KubeObject[];
const envOf = (deployment: KubeObject) => containerEnv(deployment.spec.template.spec.containers[0]);

describe('GreeterApp', () => {
  test('a port of its own flows to the container, the Service, both probes and the route', () => {
    const chart = Testing.chart();
    const namespace = new AppNamespace(chart, 'ns', { name: 'apps' });
    const app = new GreeterApp(chart, 'greeter', { namespace, image, name: 'hello', port: 8443, replicas: 5 });
    const gateway = new IstioIlbGateway(chart, 'gateway', {
      namespace,
      host: 'hello.example.org',
      tlsSecretName: 'hello-tls',
    });
    new GrpcVirtualService(chart, 'routes', { backend: app, gateway });
    const objects = synthOf(chart);
    const deployment = findObject(objects, 'Deployment', 'hello');
    const container = deployment.spec.template.spec.containers[0];
    expect(deployment.spec.replicas).toBe(5);
    expect(container.ports).toEqual([{ name: 'grpc', containerPort: 8443, protocol: 'TCP' }]);
    expect([container.readinessProbe.grpc.port, container.livenessProbe.grpc.port]).toEqual([8443, 8443]);
    expect(envOf(deployment).PORT).toBe('8443');
    expect(findObject(objects, 'Service', 'hello').spec.ports[0]).toMatchObject({ port: 8443, targetPort: 'grpc' });
    expect(findObject(objects, 'VirtualService').spec.http[0].route[0].destination).toEqual({
      host: 'hello.apps.svc.cluster.local',
      port: { number: 8443 },
    });
    expect(findObject(objects, 'Gateway').metadata.namespace).toBe('apps');
  });

  test('maxConnectionAge and shutdownGrace reach the server, and the grace period covers the drain delay and the drain', () => {
    const { chart, namespace } = fixture();
    new GreeterApp(chart, 'aged', {
      namespace,
      image,
      name: 'aged',
      maxConnectionAge: Duration.minutes(5),
      shutdownGrace: Duration.seconds(45),
    });
    const deployment = findObject(synthOf(chart), 'Deployment', 'aged');
    expect(envOf(deployment)).toMatchObject({ MAX_CONNECTION_AGE_MS: '300000', SHUTDOWN_GRACE_MS: '45000' });
    // The native preStop sleep (5 s by default), the drain, the margin (10 s).
    expect(deployment.spec.template.spec.containers[0].lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBe(60);
    // The sidecar keeps proxying while the server waits and drains.
    expect(JSON.parse(deployment.spec.template.metadata.annotations['proxy.istio.io/config'])).toEqual({
      terminationDrainDuration: '50s',
    });
  });

  test("Node's heap is capped at half the container's memory limit, so V8 collects long before the limit", () => {
    const { chart, namespace } = fixture();
    new GreeterApp(chart, 'standard', { namespace, image, name: 'standard' });
    new GreeterApp(chart, 'large', {
      namespace,
      image,
      name: 'large',
      resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '1Gi' } },
    });
    new GreeterApp(chart, 'decimal', {
      namespace,
      image,
      name: 'decimal',
      resources: { requests: { cpu: '1', memory: '500M' }, limits: { cpu: '2', memory: '500M' } },
    });
    const objects = synthOf(chart);
    expect(
      ['standard', 'large', 'decimal'].map((name) => envOf(findObject(objects, 'Deployment', name)).NODE_OPTIONS),
    ).toEqual(['--max-old-space-size=96', '--max-old-space-size=512', '--max-old-space-size=238']);
  });

  test('reflection is off unless asked for (the server itself defaults to on)', () => {
    const { chart, namespace } = fixture();
    new GreeterApp(chart, 'plain', { namespace, image, name: 'plain' });
    new GreeterApp(chart, 'reflective', { namespace, image, name: 'reflective', reflection: true });
    const objects = synthOf(chart);
    expect(envOf(findObject(objects, 'Deployment', 'plain')).REFLECTION).toBe('false');
    expect(envOf(findObject(objects, 'Deployment', 'reflective')).REFLECTION).toBe('true');
  });
});

describe('GrpcVirtualService', () => {
  test('takes a load-balancing algorithm and a retry policy', () => {
    const { chart, app, gateway } = fixture();
    new GrpcVirtualService(chart, 'routes', {
      backend: app,
      gateway,
      loadBalancingAlgorithm: 'LEAST_REQUEST',
      retries: { attempts: 2, perTryTimeout: Duration.millis(1500), retryOn: ['unavailable', 'resource-exhausted'] },
    });
    const objects = synthOf(chart);
    expect(findObject(objects, 'DestinationRule').spec.trafficPolicy.loadBalancer).toEqual({ simple: 'LEAST_REQUEST' });
    expect(findObject(objects, 'VirtualService').spec.http[0].retries).toEqual({
      attempts: 2,
      perTryTimeout: '1500ms',
      retryOn: 'unavailable,resource-exhausted',
    });
  });

  test('routes the services it is given alone: health and reflection get no route through the gateway', () => {
    const { chart, app, gateway } = fixture();
    new GrpcVirtualService(chart, 'routes', { backend: app, gateway, grpcServices: ['helloworld.Greeter'] });
    // Istio's HTTPMatchRequest: a list of match blocks is an OR; a path no route matches gets 404 from Envoy.
    expect(findObject(synthOf(chart), 'VirtualService').spec.http[0].match).toEqual([
      { uri: { prefix: '/helloworld.Greeter/' } },
    ]);
  });

  test('attempts: 0 turns retries off', () => {
    const { chart, app, gateway } = fixture();
    new GrpcVirtualService(chart, 'routes', { backend: app, gateway, retries: { attempts: 0 } });
    expect(findObject(synthOf(chart), 'VirtualService').spec.http[0].retries).toEqual({ attempts: 0 });
  });
});

describe('SelfSignedCertificate (cert-manager, opt-in)', () => {
  test("writes the gateway's TLS Secret for its host, from a self-signed Issuer in the gateway's namespace", () => {
    const { chart, gateway } = fixture();
    new SelfSignedCertificate(chart, 'certificate', { endpoint: gateway });
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
    const { certificate, gateway } = istioIlb.render(app, env);
    expect(certificate).toBeDefined();
    const gatewayChart = Chart.of(gateway);
    expect((gatewayChart.toJson() as KubeObject[]).map((o) => o.kind)).toEqual(
      expect.arrayContaining(['Issuer', 'Certificate', 'Gateway']),
    );
  });
});

describe('MeshAccessPolicy', () => {
  test('allows every caller named, in a custom trust domain', () => {
    const { chart, app, gateway } = fixture();
    const caller = { namespace: existingNamespace('batch'), serviceAccountName: 'reporter' };
    new MeshAccessPolicy(chart, 'access', {
      backend: app,
      allowedCallers: [gateway.identity, caller],
      trustDomain: 'prod.example.com',
    });
    expect(findObject(synthOf(chart), 'AuthorizationPolicy').spec.rules[0].from[0].source.principals).toEqual([
      'prod.example.com/ns/istio-system/sa/grpc-gateway',
      'prod.example.com/ns/batch/sa/reporter',
    ]);
  });
});

describe('environments', () => {
  test('an unknown environment fails before any file is written', () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'synth-bad-'));
    try {
      expect(() => synthesize(outdir, ['docker-desktop', 'minikube'])).toThrow(
        'unknown environment "minikube": expected one of "gke", "docker-desktop"',
      );
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
      expect(() => istioIlb.render(app, env)).toThrow(
        `GreeterApp 'greeter/greeter': replicas must be an integer >= 1, got 0`,
      );
      expect(readdirSync(outdir)).toEqual([]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('`npm run synth -- <unknown>` exits 1 with one line and writes nothing', async () => {
    const outdir = path.join(mkdtempSync(path.join(tmpdir(), 'synth-cli-')), 'dist');
    try {
      const proc = startProcess(process.execPath, ['-r', './scripts/register.js', 'main.ts', 'minikube'], {
        env: { CDK8S_OUTDIR: outdir },
      });
      expect(await proc.exited).toBe(1);
      expect(proc.stderr).toEqual(['synth: unknown environment "minikube": expected one of "gke", "docker-desktop"']);
      expect(existsSync(outdir)).toBe(false);
    } finally {
      rmSync(path.dirname(outdir), { recursive: true, force: true });
    }
  });
});
