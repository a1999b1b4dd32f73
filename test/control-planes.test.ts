/**
 * What each control plane reads from dist/, table-driven: strategy × field → the value that control plane needs, each
 * row citing where its behaviour was read (project, release tag, file). The second half checks the same Services
 * through common/app-protocol.ts: every data plane a strategy puts in front of the greeter balances each call.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GREETER_SERVICE } from '../app/settings';
import { ENVIRONMENTS, type StrategyName } from '../deploy';
import { findObject, readManifestDir, type KubeObject } from '../harness/manifests';
import { GKE_INTERNAL_LOAD_BALANCER } from '../lib';
import { balancesEachCall, portHandling, type DataPlane, type PortHandlingContext } from 'grpc-k8s-lb-common';
import { synthesize } from '../main';
import { parse } from 'yaml';

const outdir = mkdtempSync(path.join(tmpdir(), 'control-planes-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));
synthesize(outdir);

const rendered = new Map<string, KubeObject[]>();
const objectsOf = (env: string, strategy: string): KubeObject[] => {
  const dir = path.join(outdir, env, strategy);
  if (!rendered.has(dir))
    rendered.set(
      dir,
      readManifestDir(dir).flatMap((file) => file.objects),
    );
  return rendered.get(dir)!;
};
const environmentsWith = (strategy: StrategyName) =>
  Object.values(ENVIRONMENTS).filter((env) => (env.strategies as readonly string[]).includes(strategy));
const services = (objects: readonly KubeObject[]) => objects.filter((o) => o.kind === 'Service');
const greeterService = (objects: readonly KubeObject[]) => findObject(objects, 'Service', 'greeter');
const greeterAppProtocol = (objects: readonly KubeObject[]) => greeterService(objects).spec.ports[0].appProtocol;
const withoutSyncWave = (annotations: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries(annotations).filter(([key]) => !key.startsWith('argocd.argoproj.io/')));
const ingressBackendProtocol = (objects: readonly KubeObject[]) =>
  findObject(objects, 'Ingress').metadata.annotations?.['nginx.ingress.kubernetes.io/backend-protocol'];
const gatewayPod = (objects: readonly KubeObject[]) =>
  findObject(objects, 'Deployment', 'greeter-gateway').spec.template.spec;
const loadBalancerAnnotations = (env: string) =>
  ENVIRONMENTS[env as keyof typeof ENVIRONMENTS].gatewayLoadBalancer === 'gke-internal'
    ? GKE_INTERNAL_LOAD_BALANCER
    : undefined;
/** An overlay of Istio's options ConfigMap, parsed (Istio strategic-merges it into what it generates). */
const istioOverlay = (objects: readonly KubeObject[], key: string) =>
  parse(findObject(objects, 'ConfigMap', 'greeter-gateway-options').data[key]);

type Row = [
  strategy: StrategyName,
  field: string,
  read: (objects: readonly KubeObject[], env: string) => unknown,
  expected: (env: string) => unknown,
];

const H2C = 'kubernetes.io/h2c';
const LINKERD_SERVICE_REF = { group: '', kind: 'Service', name: 'greeter', port: 50051 };

const ROWS: Row[] = [
  // Linkerd >= 2.18 reads appProtocol (linkerd/linkerd2 version-2.18..version-2.20 policy-controller/core/src/outbound.rs
  // AppProtocol::from_str): `kubernetes.io/h2c` is HTTP/2, and since PR #13948 any unknown value (`grpc` included) is
  // opaque TCP (policy-controller/grpc/src/outbound.rs). version-2.16/2.17 read no appProtocol (detection).
  ['linkerd', 'greeter Service appProtocol', greeterAppProtocol, () => H2C],
  // version-2.18..2.20: policy-controller/k8s/api/src/lib.rs re-exports gateway_api::apis::experimental::grpcroutes
  // (crate gateway-api 0.15/0.16: GRPCRoute v1), watched in policy-controller/runtime/src/args.rs (src/main.rs in 2.18).
  [
    'linkerd',
    'GRPCRoute apiVersion',
    (o) => findObject(o, 'GRPCRoute').apiVersion,
    () => 'gateway.networking.k8s.io/v1',
  ],
  // policy-controller/k8s/api/src/policy.rs targets_kind (version-2.16..2.20): a parentRef group "" or "core" is the
  // core group; the kind must be set. The status controller (k8s/status/src/routes/grpc.rs) then accepts the route.
  ['linkerd', 'GRPCRoute parentRefs', (o) => findObject(o, 'GRPCRoute').spec.parentRefs, () => [LINKERD_SERVICE_REF]],
  // runtime/src/admission.rs validate_grpc_backend_if_service: a Service backendRef needs its port.
  [
    'linkerd',
    'GRPCRoute backendRefs',
    (o) => findObject(o, 'GRPCRoute').spec.rules[0].backendRefs,
    () => [LINKERD_SERVICE_REF],
  ],
  // k8s/index/src/outbound/index/grpc.rs convert_route: parse_grpc_retry reads retry.linkerd.io/{grpc,limit,timeout},
  // index.rs parse_timeouts timeout.linkerd.io/{request,response,idle}, on the route's own annotations
  // (version-2.16..2.20); durations as `<n>ms` (parse_duration).
  [
    'linkerd',
    'GRPCRoute annotations',
    (o) => withoutSyncWave(findObject(o, 'GRPCRoute').metadata.annotations),
    () => ({
      'retry.linkerd.io/grpc': 'cancelled,unavailable',
      'retry.linkerd.io/limit': '2',
      'retry.linkerd.io/timeout': '2000ms',
      'timeout.linkerd.io/request': '10000ms',
    }),
  ],

  // Istio 1.30.3 pkg/config/kube/conversion.go ConvertProtocol: `grpc` is GRPC (IsHTTP2), and an inbound GRPC port
  // gets no reset-before-request retries (pilot/pkg/networking/core/route/route.go BuildDefaultHTTPInboundRoute).
  ['istio-ilb', 'greeter Service appProtocol', greeterAppProtocol, () => 'grpc'],
  ['gateway-api', 'greeter Service appProtocol', greeterAppProtocol, () => 'grpc'],
  // Istio 1.30.3 manifests/charts/istio-control/istio-discovery/files/gateway-injection-template.yaml: pilot-agent
  // gets its own projected `istio-token` (audience istio-ca); the gateway reads nothing from the API server itself.
  [
    'istio-ilb',
    'gateway pod automountServiceAccountToken',
    (o) => gatewayPod(o).automountServiceAccountToken,
    () => false,
  ],
  [
    'istio-ilb',
    'gateway ServiceAccount automountServiceAccountToken',
    (o) => findObject(o, 'ServiceAccount', 'greeter-gateway').automountServiceAccountToken,
    () => false,
  ],
  // Istio 1.30.3 pilot/pkg/credentials/kube/secrets.go Authorize: a SubjectAccessReview for verb `list` on `secrets`
  // in the gateway's namespace, naming no object (so resourceNames could not satisfy it).
  [
    'istio-ilb',
    'gateway Role rules',
    (o) => findObject(o, 'Role', 'greeter-gateway').rules,
    () => [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }],
  ],
  // Istio 1.30.3 pilot/pkg/config/kube/gatewaycommon/deploymentcontroller.go applyOverlay: the `serviceAccount` and
  // `deployment` keys are strategic-merged into what Istio generates; its kube-gateway.yaml template mounts istio-token.
  [
    'gateway-api',
    'Istio options: ServiceAccount overlay',
    (o) => istioOverlay(o, 'serviceAccount'),
    () => ({ automountServiceAccountToken: false }),
  ],
  [
    'gateway-api',
    'Istio options: Deployment overlay',
    (o) => istioOverlay(o, 'deployment').spec.template.spec,
    () => ({ automountServiceAccountToken: false }),
  ],

  // Behind the `istio` class gateway without a mesh: Istio reads `kubernetes.io/h2c` as HTTP2 (conversion.go, above),
  // GEP-1911 makes it the standard value (kubernetes-sigs/gateway-api v1.6.1 geps/gep-1911/index.md), and ESPv2's
  // listener takes cleartext HTTP/2 (esp-v2 v2.55.7 src/go/configgenerator/filtergen/http_connection_manager.go, AUTO).
  ['endpoints', 'greeter Service appProtocol', greeterAppProtocol, () => H2C],
  [
    'endpoints',
    'ESPv2 Service appProtocol',
    (o) => findObject(o, 'Service', 'greeter-esp').spec.ports[0].appProtocol,
    () => H2C,
  ],
  [
    'endpoints',
    'Istio options: Deployment overlay',
    (o) => istioOverlay(o, 'deployment').spec.template.spec,
    () => ({ automountServiceAccountToken: false }),
  ],
  // grpc-js clients read no appProtocol; the value is for whatever else fronts the Service (GEP-1911).
  [
    'headless',
    'headless Service appProtocol',
    (o) => findObject(o, 'Service', 'greeter-headless').spec.ports[0].appProtocol,
    () => H2C,
  ],
  ['k8s-resolver', 'greeter Service appProtocol', greeterAppProtocol, () => H2C],
  // kubernetes/ingress-nginx controller-v1.15.1 reads no appProtocol (internal/, cmd/, pkg/): the Ingress's
  // nginx.ingress.kubernetes.io/backend-protocol decides (docs/user-guide/nginx-configuration/annotations.md).
  ['nginx-ingress', 'Ingress backend-protocol', ingressBackendProtocol, () => 'GRPC'],

  // Envoy Gateway v1.9.0 api/v1alpha1/envoygateway_types.go GatewayControllerName: the controller accepts the classes
  // that name it; its Helm chart creates none (charts/gateway-helm/templates), so dist/ renders the Gateway's.
  [
    'envoy-gateway',
    'GatewayClass controllerName',
    (o) => {
      const gatewayClass = findObject(o, 'GatewayClass');
      return { name: gatewayClass.metadata.name, controllerName: gatewayClass.spec.controllerName };
    },
    () => ({ name: 'eg', controllerName: 'gateway.envoyproxy.io/gatewayclass-controller' }),
  ],
  // Envoy Gateway v1.9.0: internal/gatewayapi/contexts.go attachEnvoyProxy reads the Gateway's
  // infrastructure.parametersRef to an EnvoyProxy in its namespace.
  [
    'envoy-gateway',
    'Gateway class and parametersRef',
    (o) => {
      const { gatewayClassName, infrastructure } = findObject(o, 'Gateway').spec;
      return { gatewayClassName, infrastructure };
    },
    () => ({
      gatewayClassName: 'eg',
      infrastructure: {
        parametersRef: { group: 'gateway.envoyproxy.io', kind: 'EnvoyProxy', name: 'greeter-gateway' },
      },
    }),
  ],
  // internal/infrastructure/kubernetes/proxy/resource_provider.go Service: envoyService.name names the Service (else
  // a hash, ExpectedResourceHashedName) in the controller's namespace (proxy_infra.go GetResourceNamespace), and
  // envoyService.annotations go onto it; the client dials that name.
  [
    'envoy-gateway',
    'EnvoyProxy envoyService',
    (o) => findObject(o, 'EnvoyProxy').spec.provider.kubernetes.envoyService,
    (env) => ({
      name: 'testing-greeter-gateway',
      type: 'LoadBalancer',
      ...(loadBalancerAnnotations(env) === undefined ? {} : { annotations: loadBalancerAnnotations(env) }),
    }),
  ],
  [
    'envoy-gateway',
    'client TARGET',
    (o) =>
      findObject(o, 'Deployment', 'greeter-client').spec.template.spec.containers[0].env.find(
        (e: KubeObject) => e.name === 'TARGET',
      ).value,
    () => 'testing-greeter-gateway.envoy-gateway-system.svc.cluster.local:443',
  ],
  // internal/gatewayapi/translator.go infrastructureAnnotations: the Gateway's infrastructure.annotations go onto every
  // object Envoy Gateway deploys (resource_provider.go), so the load balancer's go in envoyService.annotations only.
  [
    'envoy-gateway',
    'Gateway infrastructure annotations',
    (o) => findObject(o, 'Gateway').spec.infrastructure.annotations,
    () => undefined,
  ],
  // Gateway API: a listener's certificateRefs name a Secret in the Gateway's namespace; no ReferenceGrant needed.
  [
    'envoy-gateway',
    'listener TLS Secret',
    (o) => findObject(o, 'Gateway').spec.listeners[0].tls.certificateRefs,
    () => [{ group: '', kind: 'Secret', name: 'grpc-example-com-tls' }],
  ],
  [
    'envoy-gateway',
    'GRPCRoute matches (only the public services)',
    (o) => findObject(o, 'GRPCRoute').spec.rules[0].matches,
    () => [{ method: { type: 'Exact', service: GREETER_SERVICE } }],
  ],
  // The BackendTrafficPolicy CRD (upstream/crds/envoy-gateway-v1.9.0-backendtrafficpolicies.yaml): targetRefs to a
  // GRPCRoute of group gateway.networking.k8s.io (its CEL rules), loadBalancer.type, retry.retryOn.triggers.
  [
    'envoy-gateway',
    'BackendTrafficPolicy targetRefs',
    (o) => findObject(o, 'BackendTrafficPolicy').spec.targetRefs,
    () => [{ group: 'gateway.networking.k8s.io', kind: 'GRPCRoute', name: 'greeter' }],
  ],
  [
    'envoy-gateway',
    'BackendTrafficPolicy loadBalancer',
    (o) => findObject(o, 'BackendTrafficPolicy').spec.loadBalancer,
    () => ({ type: 'RoundRobin' }),
  ],
  [
    'envoy-gateway',
    'BackendTrafficPolicy retry',
    (o) => findObject(o, 'BackendTrafficPolicy').spec.retry,
    () => ({
      numRetries: 3,
      perRetry: { timeout: '2s' },
      retryOn: { triggers: ['connect-failure', 'refused-stream', 'reset', 'unavailable', 'cancelled'] },
    }),
  ],
  // With a GRPCRoute Envoy Gateway speaks gRPC to the pods whatever the Service says (internal/gatewayapi/route.go
  // inspectAppProtocolByRouteKind); `kubernetes.io/h2c` serves an HTTPRoute too (resolveBackendProtocol).
  ['envoy-gateway', 'greeter Service appProtocol', greeterAppProtocol, () => H2C],

  // Istio 1.30 manifests/charts/istio-control/istio-discovery/files/grpc-agent.yaml: the `grpc-agent` template sets
  // GRPC_XDS_BOOTSTRAP in the app's containers; holdApplicationUntilProxyStarts adds its `pilot-agent wait` postStart.
  [
    'istio-proxyless',
    'greeter pod annotations',
    (o) => findObject(o, 'Deployment', 'greeter').spec.template.metadata.annotations,
    () => ({
      'inject.istio.io/templates': 'grpc-agent',
      // The agent stays up through the server's preStop sleep (5 s) and its drain (20 s).
      'proxy.istio.io/config': JSON.stringify({
        holdApplicationUntilProxyStarts: true,
        terminationDrainDuration: '25s',
      }),
    }),
  ],
  [
    'istio-proxyless',
    'client pod annotations',
    (o) => findObject(o, 'Deployment', 'greeter-client').spec.template.metadata.annotations,
    () => ({
      'inject.istio.io/templates': 'grpc-agent',
      'proxy.istio.io/config': JSON.stringify({ holdApplicationUntilProxyStarts: true }),
    }),
  ],
  // https://istio.io/latest/blog/2021/proxyless-grpc/: clients dial xds:///<host>:<port>; ROUND_ROBIN is the only
  // DestinationRule load balancer proxyless gRPC supports.
  [
    'istio-proxyless',
    'client TARGET',
    (o) =>
      findObject(o, 'Deployment', 'greeter-client').spec.template.spec.containers[0].env.find(
        (e: KubeObject) => e.name === 'TARGET',
      ).value,
    () => 'xds:///greeter.testing.svc.cluster.local:50051',
  ],
  [
    'istio-proxyless',
    'DestinationRule load balancer',
    (o) => findObject(o, 'DestinationRule').spec.trafficPolicy,
    () => ({ loadBalancer: { simple: 'ROUND_ROBIN' } }),
  ],
  ['istio-proxyless', 'greeter Service appProtocol', greeterAppProtocol, () => 'grpc'],

  // Istio 1.30 ambient. istio/api 1.30.3 label/labels.yaml: istio.io/dataplane-mode=ambient enrols the namespace's
  // pods; istio.io/use-waypoint on a Service binds it to the waypoint of that name in its namespace, and
  // istio.io/ingress-use-waypoint sends Istio gateways' traffic for it through that waypoint too.
  [
    'istio-ambient',
    'Namespace dataplane mode',
    (o) => findObject(o, 'Namespace').metadata.labels?.['istio.io/dataplane-mode'],
    () => 'ambient',
  ],
  [
    'istio-ambient',
    'greeter Service waypoint labels',
    (o) => {
      const labels = greeterService(o).metadata.labels ?? {};
      return [labels['istio.io/use-waypoint'], labels['istio.io/ingress-use-waypoint']];
    },
    () => ['greeter-waypoint', 'true'],
  ],
  // istioctl/pkg/waypoint/waypoint.go (1.30.3): the waypoint istioctl generates, class istio-waypoint
  // (pkg/config/constants WaypointGatewayClassName), one listener `mesh` on 15008, protocol HBONE.
  [
    'istio-ambient',
    'waypoint Gateway',
    (o) => {
      const { gatewayClassName, listeners } = findObject(o, 'Gateway', 'greeter-waypoint').spec;
      return { gatewayClassName, listeners };
    },
    () => ({ gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] }),
  ],
  // The waypoint is Envoy with Istio's protocol selection (conversion.go ConvertProtocol): `grpc` is GRPC.
  ['istio-ambient', 'greeter Service appProtocol', greeterAppProtocol, () => 'grpc'],
  // pilot/pkg/config/kube/gateway/route_collections.go GRPCRouteCollection: a Service parent is a mesh route, for the
  // Service's host and (augmentPortMatch) port.
  [
    'istio-ambient',
    'mesh GRPCRoute parentRefs',
    (o) => findObject(o, 'GRPCRoute', 'greeter').spec.parentRefs,
    () => [{ group: '', kind: 'Service', name: 'greeter', port: 50051 }],
  ],
  // istio/api security/v1beta1/authorization_policy.proto targetRefs: `kind: Service` is for waypoints, which apply
  // only targetRefs policies; a `selector` policy is enforced by ztunnel, with L4 attributes only
  // (https://istio.io/latest/docs/ambient/usage/l4-policy/).
  [
    'istio-ambient',
    'L7 AuthorizationPolicy targetRefs',
    (o) => findObject(o, 'AuthorizationPolicy', 'greeter').spec.targetRefs,
    () => [{ group: '', kind: 'Service', name: 'greeter' }],
  ],
  [
    'istio-ambient',
    'L4 AuthorizationPolicy source',
    (o) => findObject(o, 'AuthorizationPolicy', 'greeter-pods').spec.rules[0].from,
    () => [{ source: { principals: ['cluster.local/ns/testing/sa/greeter-waypoint'] } }],
  ],
  // Waypoint overlays as for the `istio` class (deploymentcontroller.go render, for every class), plus the seccomp
  // profile that the waypoint.yaml template sets only with values.gateways.seccompProfile.
  [
    'istio-ambient',
    'waypoint options: Deployment overlay',
    (o) => parse(findObject(o, 'ConfigMap', 'greeter-waypoint-options').data.deployment).spec.template.spec,
    () => ({ automountServiceAccountToken: false, securityContext: { seccompProfile: { type: 'RuntimeDefault' } } }),
  ],

  // GKE's Gateway controller: the class of a regional internal Application Load Balancer
  // (https://cloud.google.com/kubernetes-engine/docs/how-to/gatewayclass-capabilities), an HTTPRoute (GKE's
  // conformance reports in kubernetes-sigs/gateway-api v1.6.1 run the HTTP profile only: no GRPCRoute), appProtocol
  // HTTP2 for HTTP/2 over TLS to the pods (https://cloud.google.com/kubernetes-engine/docs/how-to/secure-gateway).
  ['gke-gateway', 'Gateway class', (o) => findObject(o, 'Gateway').spec.gatewayClassName, () => 'gke-l7-rilb'],
  [
    'gke-gateway',
    'route kinds',
    (o) => o.filter((x) => x.kind.endsWith('Route')).map((x) => x.kind),
    () => ['HTTPRoute'],
  ],
  ['gke-gateway', 'greeter Service appProtocol', greeterAppProtocol, () => 'HTTP2'],
  // GoogleCloudPlatform/gke-gateway-api v1.4.0 healthcheck_types.go: type GRPC, USE_FIXED_PORT; the port is the one the
  // greeter serves without TLS (Google Cloud's gRPC health check speaks none), where the kubelet probes too.
  [
    'gke-gateway',
    'HealthCheckPolicy gRPC check and the greeter plaintext port',
    (o) => {
      const container = findObject(o, 'Deployment', 'greeter').spec.template.spec.containers[0];
      const env = Object.fromEntries(container.env.map((e: KubeObject) => [e.name, e.value]));
      return {
        check: findObject(o, 'HealthCheckPolicy').spec.default.config,
        plaintextPort: Number(env.PLAINTEXT_PORT),
        probe: container.readinessProbe.grpc.port,
        tls: [env.TLS_CERT_FILE, env.TLS_KEY_FILE].every(Boolean),
      };
    },
    () => ({
      check: { type: 'GRPC', grpcHealthCheck: { portSpecification: 'USE_FIXED_PORT', port: 50052 } },
      plaintextPort: 50052,
      probe: 50052,
      tls: true,
    }),
  ],
  // gcpbackendpolicy_types.go ConnectionDraining.drainingTimeoutSec: the greeter's own drain (SHUTDOWN_GRACE_MS).
  [
    'gke-gateway',
    'GCPBackendPolicy connection draining',
    (o) => findObject(o, 'GCPBackendPolicy').spec.default.connectionDraining,
    () => ({ drainingTimeoutSec: 20 }),
  ],
];

const cases = ROWS.flatMap(([strategy, field, read, expected]) =>
  environmentsWith(strategy).map((env) => [strategy, env.name, field, read, expected] as const),
);

test('every strategy has rows', () => {
  const covered = new Set(ROWS.map(([strategy]) => strategy));
  for (const env of Object.values(ENVIRONMENTS))
    for (const strategy of env.strategies)
      expect({ strategy, covered: covered.has(strategy) }).toEqual({ strategy, covered: true });
});

test.each(cases)('%s in %s: %s', (strategy, env, _field, read, expected) => {
  expect(read(objectsOf(env, strategy), env)).toEqual(expected(env));
});

/** The data planes each strategy puts between its client and the greeter's pods, and what else they read. */
const DATA_PLANES: Record<
  StrategyName,
  { planes: DataPlane[]; context?: (objects: readonly KubeObject[]) => PortHandlingContext }
> = {
  'istio-ilb': { planes: ['istio-gateway', 'istio-sidecar'] },
  'gateway-api': { planes: ['istio-gateway', 'istio-sidecar'] },
  // Linkerd 2.18 and later (2.16 and 2.17 crash beside the Gateway API v1.6.1 CRDs: docs/control-planes.md).
  linkerd: { planes: ['linkerd-2.18'] },
  'nginx-ingress': { planes: ['ingress-nginx'], context: (o) => ({ nginxBackendProtocol: ingressBackendProtocol(o) }) },
  endpoints: { planes: ['istio-gateway'] },
  // Checked with HTTPRoute semantics too, the stricter reading: the Service would serve one as well.
  'envoy-gateway': { planes: ['envoy-gateway', 'gateway-api'] },
  // The client balances over the pods itself: no data plane reads the Service.
  headless: { planes: [] },
  'k8s-resolver': { planes: [] },
  // grpc-js balances over the endpoints istiod sends it over xDS; no proxy reads the Service port.
  'istio-proxyless': { planes: [] },
  // The in-cluster client's calls go through the waypoint; outside callers' through the `istio` gateway, then the
  // waypoint (istio.io/ingress-use-waypoint).
  'istio-ambient': { planes: ['istio-waypoint', 'istio-gateway'] },
  'gke-gateway': { planes: ['gke-gateway'] },
};

const serviceCases = Object.values(ENVIRONMENTS).flatMap((env) =>
  env.strategies.map((strategy) => [env.name, strategy] as const),
);

test.each(serviceCases)(
  'dist/%s/%s: every gRPC Service port is balanced per call by each data plane in front of it',
  (env, strategy) => {
    const objects = objectsOf(env, strategy);
    const { planes, context } = DATA_PLANES[strategy];
    const grpcPorts = services(objects).flatMap((service) =>
      service.spec.ports
        .filter((p: KubeObject) => p.name === 'grpc')
        .map((port: KubeObject) => ({ service: service.metadata.name, port })),
    );
    expect(grpcPorts.length).toBeGreaterThan(0);
    for (const { service, port } of grpcPorts) {
      for (const plane of planes) {
        const handling = portHandling(
          plane,
          { name: port.name, appProtocol: port.appProtocol, port: port.port, protocol: port.protocol },
          context?.(objects) ?? {},
        );
        expect({ service, plane, handling, balanced: balancesEachCall(handling) }).toEqual({
          service,
          plane,
          handling,
          balanced: true,
        });
      }
    }
  },
);

test.each(environmentsWith('linkerd').map((env) => env.name))(
  'dist/%s/linkerd: no Service port that Linkerd >= 2.18 carries as opaque TCP',
  (env) => {
    const ports = services(objectsOf(env, 'linkerd')).flatMap((s) => s.spec.ports);
    expect(
      ports.map((p: KubeObject) =>
        portHandling('linkerd-2.18', { name: p.name, appProtocol: p.appProtocol, port: p.port }),
      ),
    ).not.toContain('opaque');
  },
);
