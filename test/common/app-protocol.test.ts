/**
 * The data-plane table (common/app-protocol.ts), case by case as each project's source at its tag reads a
 * Service port: Istio 1.30.3 ConvertProtocol and conversion_test.go, Linkerd version-2.17 (no appProtocol) and
 * version-2.18 AppProtocol::from_str with PR #13948, GEP-1911, Envoy Gateway v1.9.0 resolveBackendProtocol,
 * ingress-nginx controller-v1.15.1 backend-protocol.
 */
import {
  balancesEachCall,
  dataPlaneSource,
  declaresGrpc,
  GKE_HTTP2_OVER_TLS,
  grpcAppProtocol,
  isGkeGatewayClass,
  tlsToPods,
  linkerdDataPlane,
  meshDataPlanes,
  portHandling,
  type DataPlane,
  type PortHandling,
  type PortHandlingContext,
  type ServicePortProtocol,
} from 'grpc-k8s-lb-common';

const CASES: Array<[DataPlane, ServicePortProtocol, PortHandlingContext, PortHandling]> = [
  // Istio: appProtocol wins over the name; the name's prefix before '-' counts; case is ignored.
  ['istio-sidecar', { name: 'grpc', port: 50051 }, {}, 'http2'],
  ['istio-sidecar', { name: 'GRPC-api', port: 50051 }, {}, 'http2'],
  ['istio-sidecar', { name: 'grpc-web', port: 8080 }, {}, 'http2'],
  ['istio-sidecar', { name: 'http2-api', port: 8080 }, {}, 'http2'],
  ['istio-sidecar', { name: 'tcp', appProtocol: 'grpc', port: 8080 }, {}, 'http2'],
  ['istio-sidecar', { name: 'grpc', appProtocol: 'tcp', port: 8080 }, {}, 'opaque'],
  ['istio-sidecar', { name: 'api', appProtocol: 'kubernetes.io/h2c', port: 8080 }, {}, 'http2'],
  ['istio-sidecar', { name: 'https', port: 443 }, {}, 'opaque'],
  ['istio-sidecar', { name: 'http-api', port: 8080 }, {}, 'http1'],
  ['istio-sidecar', { name: 'api', port: 8080 }, {}, 'detected'],
  ['istio-sidecar', { name: 'h2c', port: 8080 }, {}, 'detected'],
  ['istio-sidecar', { name: 'api', port: 3306 }, {}, 'opaque'],
  ['istio-sidecar', { name: 'grpc', port: 53, protocol: 'UDP' }, {}, 'opaque'],
  // Gateways do not sniff: an undeclared port is HTTP/1.1.
  ['istio-gateway', { name: 'api', port: 8080 }, {}, 'http1'],
  ['istio-gateway', { name: 'grpc', port: 8080 }, {}, 'http2'],
  // Linkerd 2.16–2.17: appProtocol is not read; only the opaque-ports list makes a port opaque.
  ['linkerd-2.16', { name: 'grpc', appProtocol: 'grpc', port: 50051 }, {}, 'detected'],
  ['linkerd-2.16', { name: 'grpc', appProtocol: 'linkerd.io/opaque', port: 50051 }, {}, 'detected'],
  ['linkerd-2.16', { name: 'grpc', port: 6379 }, {}, 'opaque'],
  ['linkerd-2.16', { name: 'grpc', port: 50051 }, { linkerdOpaquePorts: [50051] }, 'opaque'],
  // Linkerd ≥ 2.18: http, kubernetes.io/h2c, linkerd.io/opaque|tcp; anything else opaque; unset: opaque ports, else detection.
  ['linkerd-2.18', { name: 'grpc', appProtocol: 'grpc', port: 50051 }, {}, 'opaque'],
  ['linkerd-2.18', { name: 'grpc', appProtocol: 'kubernetes.io/h2c', port: 50051 }, {}, 'http2'],
  ['linkerd-2.18', { name: 'grpc', appProtocol: 'Kubernetes.io/H2C', port: 50051 }, {}, 'http2'],
  ['linkerd-2.18', { name: 'grpc', appProtocol: 'http', port: 50051 }, {}, 'http1'],
  ['linkerd-2.18', { name: 'grpc', appProtocol: 'linkerd.io/tcp', port: 50051 }, {}, 'opaque'],
  ['linkerd-2.18', { name: 'grpc', port: 50051 }, {}, 'detected'],
  ['linkerd-2.18', { name: 'grpc', appProtocol: 'kubernetes.io/h2c', port: 5432 }, {}, 'http2'],
  ['linkerd-2.18', { name: 'grpc', port: 5432 }, {}, 'opaque'],
  // ingress-nginx: the Ingress annotation alone decides.
  ['ingress-nginx', { name: 'grpc', appProtocol: 'grpc', port: 50051 }, {}, 'http1'],
  ['ingress-nginx', { name: 'api', port: 50051 }, { nginxBackendProtocol: 'grpcs' }, 'http2'],
  // Gateway API core: only kubernetes.io/h2c; Envoy Gateway also its own h2c value and grpc.
  ['gateway-api', { name: 'grpc', appProtocol: 'grpc', port: 50051 }, {}, 'http1'],
  ['gateway-api', { name: 'grpc', appProtocol: 'kubernetes.io/h2c', port: 50051 }, {}, 'http2'],
  ['envoy-gateway', { name: 'grpc', appProtocol: 'grpc', port: 50051 }, {}, 'http2'],
  ['envoy-gateway', { name: 'grpc', appProtocol: 'gateway.envoyproxy.io/h2c', port: 50051 }, {}, 'http2'],
  ['envoy-gateway', { name: 'grpc', port: 50051 }, {}, 'http1'],
  // An ambient waypoint: Istio's protocol selection; it sniffs an undeclared port, as sidecars do.
  ['istio-waypoint', { name: 'grpc', appProtocol: 'grpc', port: 50051 }, {}, 'http2'],
  ['istio-waypoint', { name: 'api', appProtocol: 'kubernetes.io/h2c', port: 50051 }, {}, 'http2'],
  ['istio-waypoint', { name: 'api', port: 8080 }, {}, 'detected'],
  ['istio-waypoint', { name: 'tcp-api', port: 8080 }, {}, 'opaque'],
  // GKE gateway classes: HTTP2 is HTTP/2 over TLS, kubernetes.io/h2c cleartext; grpc or nothing, HTTP/1.1.
  ['gke-gateway', { name: 'grpc', appProtocol: 'HTTP2', port: 443 }, {}, 'http2'],
  ['gke-gateway', { name: 'grpc', appProtocol: 'kubernetes.io/h2c', port: 50051 }, {}, 'http2'],
  ['gke-gateway', { name: 'grpc', appProtocol: 'grpc', port: 50051 }, {}, 'http1'],
  ['gke-gateway', { name: 'grpc', port: 50051 }, {}, 'http1'],
  // GKE Ingress: the Service's app-protocols annotation, by port name.
  [
    'gke-ingress',
    { name: 'fe', port: 50051 },
    { serviceAnnotations: { 'cloud.google.com/app-protocols': '{"fe":"HTTP2"}' } },
    'http2',
  ],
  [
    'gke-ingress',
    { name: 'grpc', port: 50051 },
    { serviceAnnotations: { 'networking.gke.io/app-protocols': '{"grpc":"HTTP2"}' } },
    'http2',
  ],
  [
    'gke-ingress',
    { name: 'fe', port: 50051 },
    { serviceAnnotations: { 'cloud.google.com/app-protocols': '{"fe":"HTTPS"}' } },
    'http1',
  ],
  ['gke-ingress', { name: 'fe', appProtocol: 'kubernetes.io/h2c', port: 50051 }, {}, 'http1'],
  // NGINX Ingress Controller: nginx.org/grpc-services names the Service, or it is HTTP/1.1.
  ['nginx-ingress-controller', { name: 'grpc', port: 50051 }, { nginxGrpcService: true }, 'http2'],
  ['nginx-ingress-controller', { name: 'grpc', appProtocol: 'grpc', port: 50051 }, {}, 'http1'],
];

test.each(CASES)('%s reads %j (%j) as %s', (plane, port, context, handling) => {
  expect(portHandling(plane, port, context)).toBe(handling);
});

test('every data plane names its source: a project at a tag, or its documentation page', () => {
  for (const plane of new Set(CASES.map(([p]) => p)))
    expect(dataPlaneSource(plane)).toMatch(/\S+ (v?\d[\d.]*|version-2\.\d+|controller-v[\d.]+)|^https:\/\/\S+/);
});

test('the appProtocol to suggest ignores data planes an annotation decides', () => {
  expect(grpcAppProtocol(['istio-gateway', 'ingress-nginx', 'gke-ingress', 'nginx-ingress-controller'])).toBe('grpc');
  expect(grpcAppProtocol(['gke-gateway'])).toBe('kubernetes.io/h2c');
});

test("GKE's gateway classes: which appProtocols mean TLS to the pods, and which class names are GKE's", () => {
  expect(portHandling('gke-gateway', { appProtocol: GKE_HTTP2_OVER_TLS, port: 443 })).toBe('http2');
  expect(tlsToPods('gke-gateway', { appProtocol: 'HTTP2' })).toBe(true);
  expect(tlsToPods('gke-gateway', { appProtocol: 'HTTPS' })).toBe(true);
  expect(tlsToPods('gke-gateway', { appProtocol: 'kubernetes.io/h2c' })).toBe(false);
  expect(tlsToPods('istio-gateway', { appProtocol: 'HTTP2' })).toBe(false);
  expect(['gke-l7-rilb', 'gke-l7-global-external-managed'].every(isGkeGatewayClass)).toBe(true);
  expect(['istio', 'eg', 'gke'].some(isGkeGatewayClass)).toBe(false);
});

test('the appProtocol a construct writes is one every data plane of its mesh balances per call', () => {
  expect(grpcAppProtocol(meshDataPlanes('istio'))).toBe('grpc');
  expect(grpcAppProtocol(meshDataPlanes('istio-ambient'))).toBe('grpc');
  expect(grpcAppProtocol(meshDataPlanes('linkerd'))).toBe('kubernetes.io/h2c');
  expect(grpcAppProtocol(meshDataPlanes('none'))).toBe('grpc');
  expect(grpcAppProtocol(['istio-sidecar', 'gateway-api'])).toBe('kubernetes.io/h2c');
  for (const mesh of ['istio', 'istio-ambient', 'linkerd', 'none'] as const) {
    const appProtocol = grpcAppProtocol(meshDataPlanes(mesh));
    for (const plane of meshDataPlanes(mesh))
      expect(balancesEachCall(portHandling(plane, { appProtocol, port: 50051 }))).toBe(true);
  }
});

test('declaresGrpc: what says gRPC or HTTP/2 to some data plane', () => {
  expect(
    [
      { name: 'grpc' },
      { name: 'grpc-web' },
      { name: 'http2-x' },
      { name: 'h2c' },
      { appProtocol: 'kubernetes.io/h2c' },
      { appProtocol: 'gateway.envoyproxy.io/h2c' },
    ].every(declaresGrpc),
  ).toBe(true);
  expect([{ name: 'http' }, { name: 'https' }, { name: 'api' }, { name: 'tcp-grpc' }, {}].some(declaresGrpc)).toBe(
    false,
  );
});

test('linkerdDataPlane: 2.18 and later read appProtocol', () => {
  expect(['2.16', '2.17.3', 'stable-2.14.10'].map(linkerdDataPlane)).toEqual([
    'linkerd-2.16',
    'linkerd-2.16',
    'linkerd-2.16',
  ]);
  expect(['2.18', '2.19.1', '2.20'].map(linkerdDataPlane)).toEqual(['linkerd-2.18', 'linkerd-2.18', 'linkerd-2.18']);
  expect(() => linkerdDataPlane('edge')).toThrow('Linkerd version "edge" is not 2.<minor>');
});
