/**
 * The library in a platform team's cluster: routes of several teams attached to gateways the platform runs (imported,
 * rendering nothing), the data planes' own retry defaults, TLS that follows the backend's sidecar, duplicate objects
 * caught at synth, and GrpcApp's workload options rendered and valid against the API server's schemas and CEL rules.
 */
import { App, Chart, Duration, Testing } from 'cdk8s';
import {
  AppNamespace,
  GrpcApp,
  GrpcBackend,
  GrpcGateway,
  GrpcRoute,
  GrpcVirtualService,
  IstioIlbGateway,
  LinkerdGrpcPolicy,
  MeshAccessPolicy,
  existingNamespace,
  type GrpcAppProps,
  type GrpcServiceReference,
  type GrpcVirtualServiceProps,
} from '../../lib';
import { findObject, gatewayParentRef, validateAgainstSchemas, type KubeObject } from '../../harness/manifests';

const image = { repository: 'registry.example.com/shop/payments', tag: '1.4.2' };
const objectsOf = (app: App) => app.charts.flatMap((chart) => Testing.synth(chart) as KubeObject[]);

/** Two teams, each with its own chart and namespace, routing through the gateways the platform runs. */
function twoTeams() {
  const app = Testing.app();
  const platform = new Chart(app, 'platform');
  const istioGateway = IstioIlbGateway.fromGatewayAttributes(platform, 'istio-ingress', {
    name: 'ingressgateway',
    namespace: existingNamespace('istio-system'),
    hosts: ['*.shop.example.com'],
    selector: { istio: 'ingressgateway' },
    identity: { namespace: existingNamespace('istio-system'), serviceAccountName: 'istio-ingressgateway' },
  });
  const apiGateway = GrpcGateway.fromGatewayAttributes(platform, 'api-gateway', {
    name: 'shared',
    namespace: existingNamespace('gateways'),
    gatewayClassName: 'eg',
    listeners: [{ name: 'https', hostname: '*.api.example.com' }],
    routeNamespaces: [existingNamespace('payments'), existingNamespace('orders')],
  });
  const teams = ['payments', 'orders'].map((team, index) => {
    const chart = new Chart(app, team);
    const namespace = new AppNamespace(chart, 'namespace', { name: team, mesh: 'istio' });
    const service = new GrpcApp(chart, 'app', { namespace, name: team, image, port: 9090 + index });
    new GrpcVirtualService(chart, 'routes', {
      backend: service,
      gateway: istioGateway,
      hosts: [`${team}.shop.example.com`],
    });
    new GrpcRoute(chart, 'route', { gateway: apiGateway, backend: service, hostnames: [`${team}.api.example.com`] });
    new MeshAccessPolicy(chart, 'access', { backend: service, allowedCallers: [istioGateway.identity!] });
    return chart;
  });
  return { app, platform, teams, istioGateway, apiGateway };
}

describe('two teams routing through the gateways the platform runs', () => {
  const { app } = twoTeams();
  const objects = objectsOf(app);

  test('render no gateway of their own: no gateway Deployment, Service, Gateway, Role or options', () => {
    expect(objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name)).toEqual(['payments', 'orders']);
    expect(
      objects.filter((o) => ['Gateway', 'Role', 'RoleBinding', 'ConfigMap', 'EnvoyProxy'].includes(o.kind)),
    ).toEqual([]);
    expect(objects.filter((o) => o.kind === 'Service').map((o) => o.spec.type)).toEqual(['ClusterIP', 'ClusterIP']);
  });

  test("each VirtualService binds to the platform's Istio Gateway for its own host", () => {
    const services = objects.filter((o) => o.kind === 'VirtualService');
    expect(services.map((o) => [o.metadata.namespace, o.spec.gateways, o.spec.hosts])).toEqual([
      ['payments', ['istio-system/ingressgateway'], ['payments.shop.example.com']],
      ['orders', ['istio-system/ingressgateway'], ['orders.shop.example.com']],
    ]);
  });

  test("each GRPCRoute attaches to the platform's Gateway API listener for its own host", () => {
    const routes = objects.filter((o) => o.kind === 'GRPCRoute');
    expect(routes.map((o) => [o.metadata.namespace, o.spec.parentRefs, o.spec.hostnames])).toEqual(
      ['payments', 'orders'].map((team) => [
        team,
        [gatewayParentRef({ name: 'shared', namespace: 'gateways' }, 'https')],
        [`${team}.api.example.com`],
      ]),
    );
  });

  test("the platform gateway's identity is the one caller each team admits", () => {
    for (const policy of objects.filter((o) => o.kind === 'AuthorizationPolicy')) {
      expect(policy.spec.rules[0].from).toEqual([
        { source: { principals: ['cluster.local/ns/istio-system/sa/istio-ingressgateway'] } },
      ]);
    }
  });

  test('every object is valid against its schema', () => {
    expect(validateAgainstSchemas(objects).filter((result) => result.error !== null)).toEqual([]);
  });
});

describe('two objects of one group, kind, namespace and name', () => {
  test('two MeshAccessPolicies in one namespace fail synth, naming both construct paths', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'shop');
    const namespace = existingNamespace('shop', 'istio');
    const caller = { namespace: existingNamespace('istio-system'), serviceAccountName: 'gateway' };
    for (const name of ['payments', 'orders']) {
      const backend = GrpcBackend.fromService({ name, namespace, port: 9090, selectorLabels: { app: name } });
      new MeshAccessPolicy(chart, `${name}-access`, { backend, allowedCallers: [caller] });
    }
    expect(() => app.synthYaml()).toThrow(
      'security.istio.io PeerAuthentication shop/default is rendered twice, by shop/payments-access/PeerAuthentication and shop/orders-access/PeerAuthentication',
    );
  });

  test('two default-named gateways in two charts fail synth, each object named once with both paths', () => {
    const app = Testing.app();
    for (const team of ['payments', 'orders']) {
      new IstioIlbGateway(new Chart(app, team), 'gateway', {
        namespace: existingNamespace('istio-system'),
        host: `${team}.example.com`,
        tlsSecretName: `${team}-tls`,
      });
    }
    expect(() => Testing.synth(app.charts[0])).toThrow(
      'core Service istio-system/grpc-gateway is rendered twice, by payments/gateway/Service and orders/gateway/Service',
    );
    expect(() => app.synthYaml()).toThrow('apps Deployment istio-system/grpc-gateway is rendered twice');
  });

  test('objects of the same name in other namespaces or kinds are not duplicates', () => {
    const { app } = twoTeams();
    expect(() => app.synthYaml()).not.toThrow();
  });
});

describe("defaults no broader than the data plane's own", () => {
  const ingressGateway = (chart: Chart) =>
    IstioIlbGateway.fromGatewayAttributes(chart, 'ingress', {
      name: 'ingressgateway',
      namespace: existingNamespace('istio-system'),
      hosts: ['grpc.example.com'],
      selector: { istio: 'ingressgateway' },
    });

  function routed(namespace: AppNamespace['mesh'], props: Partial<GrpcAppProps> = {}) {
    const chart = Testing.chart();
    const gateway = ingressGateway(chart);
    const backend = new GrpcApp(chart, 'app', {
      namespace: existingNamespace('shop', namespace),
      name: 'payments',
      image,
      port: 9090,
      ...props,
    });
    new GrpcVirtualService(chart, 'routes', { backend, gateway });
    return Testing.synth(chart) as KubeObject[];
  }

  /** A VirtualService through the ingress gateway to a Service rendered elsewhere, in an Istio namespace. */
  function routedService(
    service: Pick<GrpcServiceReference, 'name' | 'sidecar'>,
    route: Omit<GrpcVirtualServiceProps, 'backend' | 'gateway'> = {},
  ) {
    const chart = Testing.chart();
    const backend = GrpcBackend.fromService({ namespace: existingNamespace('shop', 'istio'), port: 9090, ...service });
    new GrpcVirtualService(chart, 'routes', { backend, gateway: ingressGateway(chart), ...route });
    return Testing.synth(chart) as KubeObject[];
  }

  // Istio 1.30.3 pilot/pkg/networking/core/route/retry/retry.go: defaultNumRetries 2, defaultRetryOn, no perTryTimeout.
  test("Istio: 2 retries on Istio's own conditions, no per-try timeout, no route timeout", () => {
    const [route] = findObject(routed('istio'), 'VirtualService').spec.http;
    expect(route.retries).toEqual({
      attempts: 2,
      retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
    });
    expect(route.timeout).toBeUndefined();
  });

  test('a route timeout and a per-try timeout only when asked', () => {
    const objects = routedService(
      { name: 'orders' },
      {
        timeout: Duration.seconds(30),
        retries: {
          attempts: 1,
          perTryTimeout: Duration.seconds(10),
          retryOn: ['connect-failure', 'reset-before-request'],
        },
      },
    );
    const [route] = findObject(objects, 'VirtualService').spec.http;
    expect(route.timeout).toBe('30s');
    expect(route.retries).toEqual({
      attempts: 1,
      perTryTimeout: '10s',
      retryOn: 'connect-failure,reset-before-request',
    });
  });

  test.each([
    ['istio', 'ISTIO_MUTUAL'],
    ['none', 'DISABLE'],
    ['linkerd', 'DISABLE'],
  ] as const)('DestinationRule TLS to pods of a %s namespace: %s', (mesh, mode) => {
    expect(findObject(routed(mesh), 'DestinationRule').spec.trafficPolicy.tls).toEqual({ mode });
  });

  test('no ISTIO_MUTUAL to proxyless gRPC pods, which have no sidecar', () => {
    expect(findObject(routed('istio', { istioProxyless: true }), 'DestinationRule').spec.trafficPolicy.tls).toEqual({
      mode: 'DISABLE',
    });
  });

  test('no ISTIO_MUTUAL to a Service rendered elsewhere whose pods opt out of the sidecar', () => {
    expect(
      findObject(routedService({ name: 'legacy', sidecar: false }), 'DestinationRule').spec.trafficPolicy.tls,
    ).toEqual({
      mode: 'DISABLE',
    });
  });

  // linkerd2 version-2.20 policy-controller/k8s/index/src/outbound/index/grpc.rs parse_grpc_retry: no annotation, no
  // retry; index.rs parse_timeouts: no annotation, no timeout.
  test('Linkerd: no retry or timeout annotation, as Linkerd retries nothing by default; limit 1 when retries are asked', () => {
    const chart = Testing.chart();
    const backend = GrpcBackend.fromService({
      name: 'orders',
      namespace: existingNamespace('shop', 'linkerd'),
      port: 9090,
    });
    const quiet = new LinkerdGrpcPolicy(chart, 'quiet', { backend, name: 'quiet' });
    const retrying = new LinkerdGrpcPolicy(chart, 'retrying', {
      backend,
      name: 'retrying',
      retries: { retryOn: ['unavailable'] },
    });
    expect(quiet.annotations).toEqual({});
    expect(retrying.annotations).toEqual({ 'retry.linkerd.io/grpc': 'unavailable', 'retry.linkerd.io/limit': '1' });
    expect(findObject(Testing.synth(chart) as KubeObject[], 'GRPCRoute', 'quiet').metadata.annotations).toBeUndefined();
  });
});

describe("GrpcApp's workload options", () => {
  const chart = Testing.chart();
  new GrpcApp(chart, 'app', {
    namespace: existingNamespace('shop', 'istio'),
    name: 'payments',
    image,
    port: 9090,
    imagePullSecrets: ['registry-credentials'],
    podAnnotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9464' },
    labels: { team: 'payments' },
    serviceAccountAnnotations: { 'iam.gke.io/gcp-service-account': 'payments@my-project.iam.gserviceaccount.com' },
    ports: [{ name: 'metrics', port: 9464 }],
    volumes: [{ name: 'config', configMap: { name: 'payments-config' } }],
    volumeMounts: [{ name: 'config', mountPath: '/etc/payments', readOnly: true }],
    command: ['/app/payments'],
    args: ['--config', '/etc/payments/config.yaml'],
    startupProbe: { grpc: { port: 9090 }, periodSeconds: 2, failureThreshold: 30 },
    autoscaling: { minReplicas: 2, maxReplicas: 10, targetCpuUtilization: 70 },
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
    nodeSelector: { 'cloud.google.com/gke-nodepool': 'grpc' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'grpc', effect: 'NoSchedule' }],
    affinity: {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 100,
            podAffinityTerm: {
              topologyKey: 'topology.kubernetes.io/zone',
              labelSelector: { matchLabels: { app: 'payments' } },
            },
          },
        ],
      },
    },
  });
  const objects = Testing.synth(chart) as KubeObject[];
  const deployment = findObject(objects, 'Deployment');
  const pod = deployment.spec.template;
  const [container] = pod.spec.containers;

  test('every object is valid against its schema and CEL rules', () => {
    expect(validateAgainstSchemas(objects).filter((result) => result.error !== null)).toEqual([]);
  });

  test('the pod: pull secrets, annotations and labels, scheduling, volumes with a writable /tmp', () => {
    expect(pod.spec.imagePullSecrets).toEqual([{ name: 'registry-credentials' }]);
    // The user's annotations, and Istio's sidecar kept up through the pod's drain delay (5 s by default).
    expect(pod.metadata.annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '9464',
      'proxy.istio.io/config': JSON.stringify({ terminationDrainDuration: '5s' }),
    });
    expect(pod.metadata.labels).toEqual({
      team: 'payments',
      app: 'payments',
      'app.kubernetes.io/name': 'payments',
      version: '1.4.2',
    });
    expect(pod.spec.nodeSelector).toEqual({ 'cloud.google.com/gke-nodepool': 'grpc' });
    expect(pod.spec.tolerations).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'grpc', effect: 'NoSchedule' },
    ]);
    expect(pod.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
    expect(pod.spec.volumes).toEqual([
      { name: 'config', configMap: { name: 'payments-config' } },
      { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
    ]);
    expect(container.volumeMounts).toEqual([
      { name: 'config', mountPath: '/etc/payments', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ]);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  test('the container: command, args, the metrics port, a startup probe, requests with a memory limit only', () => {
    expect(container.command).toEqual(['/app/payments']);
    expect(container.args).toEqual(['--config', '/etc/payments/config.yaml']);
    expect(container.ports).toEqual([
      { name: 'grpc', containerPort: 9090, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9464, protocol: 'TCP' },
    ]);
    expect(container.startupProbe).toEqual({ grpc: { port: 9090 }, periodSeconds: 2, failureThreshold: 30 });
    expect(container.resources).toEqual({ requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } });
    expect(findObject(objects, 'Service').spec.ports.map((p: { name: string }) => p.name)).toEqual(['grpc']);
  });

  test('the ServiceAccount carries its Workload Identity annotation', () => {
    expect(findObject(objects, 'ServiceAccount').metadata.annotations).toEqual({
      'iam.gke.io/gcp-service-account': 'payments@my-project.iam.gserviceaccount.com',
    });
  });

  test('autoscaling: an autoscaling/v2 HorizontalPodAutoscaler on CPU, no replicas in the Deployment, the PDB one at a time', () => {
    const autoscaler = findObject(objects, 'HorizontalPodAutoscaler');
    expect(autoscaler.apiVersion).toBe('autoscaling/v2');
    expect(autoscaler.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'payments' },
      minReplicas: 2,
      maxReplicas: 10,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
      ],
    });
    expect(deployment.spec.replicas).toBeUndefined();
    expect(findObject(objects, 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
  });
});

describe('validation as Kubernetes does it', () => {
  const app = (props: Partial<GrpcAppProps>) => {
    const chart = Testing.chart();
    new GrpcApp(chart, 'app', { namespace: existingNamespace('shop'), name: 'payments', image, port: 9090, ...props });
    return findObject(Testing.synth(chart) as KubeObject[], 'Deployment');
  };

  test.each([
    ['1.4.2', '1.4.2'],
    ['2024-06-01_build.7', '2024-06-01_build.7'],
    // Tags may be 128 characters; a label value 63.
    ['a'.repeat(64), 'v1'],
    ['1.4.2-', 'v1'],
  ])('the version label of image tag %j is %j', (tag, version) => {
    expect(app({ image: { ...image, tag } }).spec.template.metadata.labels.version).toBe(version);
  });

  test('requests without limits, and a request equal to its limit', () => {
    expect(
      app({ resources: { requests: { cpu: '1', memory: '1Gi' } } }).spec.template.spec.containers[0].resources,
    ).toEqual({
      requests: { cpu: '1', memory: '1Gi' },
    });
    expect(() =>
      app({ resources: { requests: { cpu: '1000m', memory: '1Gi' }, limits: { cpu: '1', memory: '1024Mi' } } }),
    ).not.toThrow();
  });

  test('a wildcard or single-label hostname is a Gateway API hostname; an IP address is not', () => {
    const chart = Testing.chart();
    const namespace = existingNamespace('shop');
    expect(
      () =>
        new GrpcGateway(chart, 'wildcard', {
          namespace,
          name: 'wildcard',
          host: '*.example.com',
          tlsSecretName: 'tls',
        }),
    ).not.toThrow();
    expect(
      () => new GrpcGateway(chart, 'local', { namespace, name: 'local', host: 'localhost', tlsSecretName: 'tls' }),
    ).not.toThrow();
    expect(
      () => new GrpcGateway(chart, 'ip', { namespace, name: 'ip', host: '127.0.0.1', tlsSecretName: 'tls' }),
    ).toThrow(`GrpcGateway 'test/ip': host must be a Gateway API hostname`);
  });
});
