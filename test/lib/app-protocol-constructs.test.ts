/**
 * The appProtocol each construct writes, from the data-plane table (common/app-protocol.ts), and the Linkerd
 * and Istio gateway constructs' control-plane facts: each case cites where the behaviour was read.
 */
import { Duration, Testing } from 'cdk8s';
import {
  AppNamespace,
  CloudEndpointsProxy,
  GrpcApp,
  GrpcBackend,
  HeadlessGrpcService,
  IstioIlbGateway,
  LinkerdGrpcPolicy,
  existingNamespace,
  type INamespace,
} from '../../lib';
import { balancesEachCall, portHandling, serviceGrpcAppProtocol, type DataPlane } from 'grpc-k8s-lb-common';
import type { KubeObject } from '../../harness/manifests';

const synth = (chart: ReturnType<typeof Testing.chart>) => Testing.synth(chart) as KubeObject[];
const image = { repository: 'payments', tag: '2.0.0' };

describe('the data-plane table, where this branch reads further than appProtocol alone', () => {
  test.each([
    // Envoy Gateway v1.9.0 internal/gatewayapi/route.go inspectAppProtocolByRouteKind: a GRPCRoute's backends are
    // gRPC whatever the Service says; resolveBackendProtocol reads appProtocol for HTTPRoutes only.
    ['envoy-gateway', undefined, 'GRPCRoute', 'http2'],
    ['envoy-gateway', 'http', 'GRPCRoute', 'http2'],
    ['envoy-gateway', undefined, 'HTTPRoute', 'http1'],
    ['envoy-gateway', 'kubernetes.io/h2c', 'HTTPRoute', 'http2'],
    // Istio 1.30.3 pkg/config/kube/conversion.go ConvertProtocol: the Kubernetes standard values, matched exactly.
    ['istio-sidecar', 'kubernetes.io/ws', undefined, 'http1'],
    ['istio-sidecar', 'kubernetes.io/wss', undefined, 'opaque'],
    ['istio-gateway', 'Kubernetes.io/H2C', undefined, 'http1'],
  ] as const)('%s reads appProtocol %j (route kind %s) as %s', (plane, appProtocol, route, handling) => {
    expect(portHandling(plane, { name: 'api', appProtocol, port: 8080 }, { route })).toBe(handling);
  });

  // Every data plane that may front a Service of that mesh (its own, and any gateway: Istio's, Envoy Gateway,
  // ingress-nginx with backend-protocol GRPC, and, outside Istio, any GEP-1911 gateway) balances the value per call.
  test.each([
    ['istio', 'grpc', ['istio-sidecar', 'istio-gateway', 'envoy-gateway', 'ingress-nginx']],
    ['istio-ambient', 'grpc', ['istio-waypoint', 'istio-gateway', 'envoy-gateway', 'ingress-nginx']],
    [
      'linkerd',
      'kubernetes.io/h2c',
      ['linkerd-2.18', 'istio-gateway', 'envoy-gateway', 'gateway-api', 'ingress-nginx'],
    ],
    ['none', 'kubernetes.io/h2c', ['istio-gateway', 'envoy-gateway', 'gateway-api', 'ingress-nginx']],
    [undefined, 'kubernetes.io/h2c', ['istio-gateway', 'envoy-gateway', 'gateway-api', 'ingress-nginx']],
  ] as const)('serviceGrpcAppProtocol(%j) is %s', (mesh, expected, planes) => {
    const appProtocol = serviceGrpcAppProtocol(mesh);
    expect(appProtocol).toBe(expected);
    for (const plane of planes as readonly DataPlane[]) {
      expect({
        plane,
        balanced: balancesEachCall(portHandling(plane, { appProtocol, port: 50051 }, { nginxBackendProtocol: 'GRPC' })),
      }).toEqual({ plane, balanced: true });
    }
  });

  test("Istio's `grpc` is what Linkerd >= 2.18 carries as opaque TCP: the value that broke the linkerd strategy", () => {
    // linkerd2 version-2.18 policy-controller/core/src/outbound.rs AppProtocol::from_str: Unknown("grpc"), opaque since PR #13948.
    expect(portHandling('linkerd-2.18', { appProtocol: 'grpc', port: 50051 })).toBe('opaque');
  });
});

describe('constructs write the appProtocol of their namespace’s mesh', () => {
  const appIn = (namespace: INamespace, appProtocol?: string) => {
    const chart = Testing.chart();
    const app = new GrpcApp(chart, 'app', { namespace, name: 'payments', image, port: 9090, appProtocol });
    return { chart, app };
  };
  const servicePorts = (objects: readonly KubeObject[]) =>
    objects.filter((o) => o.kind === 'Service').map((s) => [s.metadata.name, s.spec.ports[0].appProtocol]);

  test.each([
    ['istio', 'grpc'],
    ['istio-ambient', 'grpc'],
    ['linkerd', 'kubernetes.io/h2c'],
    ['none', 'kubernetes.io/h2c'],
  ] as const)('GrpcApp, HeadlessGrpcService and CloudEndpointsProxy in a %s namespace: %s', (mesh, appProtocol) => {
    const chart = Testing.chart();
    const namespace = new AppNamespace(chart, 'ns', { name: 'payments', mesh });
    const app = new GrpcApp(chart, 'app', { namespace, name: 'payments', image, port: 9090 });
    new CloudEndpointsProxy(chart, 'esp', {
      app,
      endpointsServiceName: 'payments.endpoints.p.cloud.goog',
      apis: ['payments.Payments'],
    });
    new HeadlessGrpcService(chart, 'headless', {
      backend: GrpcBackend.fromService({
        name: 'payments',
        namespace,
        port: 9090,
        selectorLabels: app.selectorLabels,
        maxConnectionAge: Duration.seconds(30),
      }),
    });
    expect(app.appProtocol).toBe(appProtocol);
    expect(servicePorts(synth(chart))).toEqual([
      ['payments', appProtocol],
      ['payments-esp', appProtocol],
      ['payments-headless', appProtocol],
    ]);
  });

  test('an existing namespace of unknown mesh gets the standard value; the prop overrides, and is validated', () => {
    expect(appIn(existingNamespace('payments')).app.appProtocol).toBe('kubernetes.io/h2c');
    expect(servicePorts(synth(appIn(existingNamespace('payments', 'istio'), 'kubernetes.io/h2c').chart))).toEqual([
      ['payments', 'kubernetes.io/h2c'],
    ]);
    expect(() => appIn(existingNamespace('payments'), 'kubernetes.io/h2c/x')).toThrow(
      `GrpcApp 'test/app': appProtocol must be a Kubernetes qualified name such as "grpc" or "kubernetes.io/h2c", got "kubernetes.io/h2c/x"`,
    );
    expect(() => appIn(existingNamespace('payments'), '-grpc')).toThrow(
      `GrpcApp 'test/app': appProtocol must be a Kubernetes qualified name`,
    );
  });

  test('a headless Service keeps the backend’s own appProtocol where it is known', () => {
    const chart = Testing.chart();
    const backend = GrpcBackend.fromService({
      name: 'orders',
      namespace: existingNamespace('shop', 'istio'),
      port: 50052,
      appProtocol: 'http2',
      selectorLabels: { app: 'orders' },
      maxConnectionAge: Duration.seconds(30),
    });
    new HeadlessGrpcService(chart, 'headless', { backend });
    expect(servicePorts(synth(chart))).toEqual([['orders-headless', 'http2']]);
    expect(() =>
      GrpcBackend.fromService({
        name: 'orders',
        namespace: existingNamespace('shop'),
        port: 50052,
        appProtocol: 'not valid',
      }),
    ).toThrow(
      `GrpcBackend.fromService 'orders': appProtocol must be a Kubernetes qualified name such as "grpc" or "kubernetes.io/h2c", got "not valid"`,
    );
  });
});

describe('LinkerdGrpcPolicy', () => {
  const linkerdNamespace = existingNamespace('shop', 'linkerd');

  test('refuses a backend whose appProtocol Linkerd >= 2.18 would not read as HTTP/2 (it would then apply no GRPCRoute)', () => {
    // linkerd2 version-2.18..2.20 policy-controller/grpc/src/outbound.rs: GRPCRoutes only in the AppProtocol::Http2 branch
    // (and with detection, when appProtocol is unset); Opaque and Unknown get the default opaque route.
    const withAppProtocol = (appProtocol?: string) => () =>
      new LinkerdGrpcPolicy(Testing.chart(), 'policy', {
        backend: GrpcBackend.fromService({ name: 'orders', namespace: linkerdNamespace, port: 50052, appProtocol }),
      });
    expect(withAppProtocol('grpc')).toThrow(
      `LinkerdGrpcPolicy 'test/policy': backend.appProtocol must be "kubernetes.io/h2c" or unset: Linkerd >= 2.18 reads it as opaque and applies no GRPCRoute, got "grpc"`,
    );
    expect(withAppProtocol('http')).toThrow('Linkerd >= 2.18 reads it as http1');
    expect(withAppProtocol('kubernetes.io/h2c')).not.toThrow();
    expect(withAppProtocol(undefined)).not.toThrow();
  });

  test('the route is a v1 GRPCRoute, the version Linkerd 2.18 and later watch; there is no v1alpha2 for 2.16 and 2.17', () => {
    // linkerd2 version-2.18 policy-controller/k8s/api/src/lib.rs: the gateway-api 0.15 crate's GRPCRoute (v1). 2.16 and
    // 2.17 watch only v1alpha2 and exit where no CRD serves it (docs/control-planes.md), so none is rendered for them.
    const chart = Testing.chart();
    const backend = GrpcBackend.fromService({ name: 'orders', namespace: linkerdNamespace, port: 50052 });
    new LinkerdGrpcPolicy(chart, 'policy', { backend });
    const [route] = synth(chart);
    expect([route.apiVersion, route.kind]).toEqual(['gateway.networking.k8s.io/v1', 'GRPCRoute']);
    expect(route.spec).toEqual({
      parentRefs: [{ group: '', kind: 'Service', name: 'orders', port: 50052 }],
      rules: [{ backendRefs: [{ group: '', kind: 'Service', name: 'orders', port: 50052 }] }],
    });
  });
});

test('IstioIlbGateway: no API token in the pod, and a Role that grants only what istiod checks', () => {
  const chart = Testing.chart();
  new IstioIlbGateway(chart, 'gateway', {
    namespace: existingNamespace('istio-system'),
    host: 'grpc.example.com',
    tlsSecretName: 'grpc-tls',
  });
  const objects = synth(chart);
  const find = (kind: string) => objects.find((o) => o.kind === kind)!;
  // Istio 1.30.3 gateway-injection-template.yaml: pilot-agent's own projected istio-token (audience istio-ca).
  expect(find('ServiceAccount').automountServiceAccountToken).toBe(false);
  expect(find('Deployment').spec.template.spec.automountServiceAccountToken).toBe(false);
  // Istio 1.30.3 pilot/pkg/credentials/kube/secrets.go Authorize: SubjectAccessReview { verb: list, resource: secrets }.
  expect(find('Role').rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }]);
  expect(find('RoleBinding').subjects).toEqual([
    { kind: 'ServiceAccount', name: 'grpc-gateway', namespace: 'istio-system' },
  ]);
});
