/**
 * Which Service `appProtocol` values and port names each data plane treats as HTTP/2 (so it can balance each gRPC
 * call) and which it carries as opaque TCP (one pod per connection) or as HTTP/1.1 (gRPC fails). One table, read
 * from each project's source at a release tag; the constructs and `grpc-lb-check` ask it through the functions
 * below rather than reading the rows.
 */

/** A proxy that decides, per Service port, how the traffic to it is carried. */
export type DataPlane =
  /** An Istio sidecar in the calling pod. */
  | 'istio-sidecar'
  /** An Istio gateway (Istio `Gateway` + `VirtualService`, or Gateway API with the `istio` class) forwarding to the Service. */
  | 'istio-gateway'
  /** A Linkerd proxy in the calling pod, 2.16 or 2.17. */
  | 'linkerd-2.16'
  /** A Linkerd proxy in the calling pod, 2.18 or later (checked unchanged through 2.20). */
  | 'linkerd-2.18'
  /** ingress-nginx forwarding an Ingress to the Service. */
  | 'ingress-nginx'
  /** Envoy Gateway forwarding a GRPCRoute or an HTTPRoute (see `PortHandlingContext.route`) to the Service. */
  | 'envoy-gateway'
  /** A GKE gateway class (`gke-l7-…`, controller networking.gke.io/gateway) forwarding an HTTPRoute to the Service. */
  | 'gke-gateway'
  /** GKE Ingress (class `gce` or `gce-internal`) forwarding to the Service. */
  | 'gke-ingress'
  /** F5's NGINX Ingress Controller (`nginx.org/…` annotations) forwarding an Ingress to the Service. */
  | 'nginx-ingress-controller'
  /** Any other Gateway API implementation forwarding a route to the Service (only the core of GEP-1911). */
  | 'gateway-api'
  // Ambient waypoints: the row in the block at the end of DATA_PLANES.
  /** An Istio ambient waypoint (a Gateway of class `istio-waypoint` that the Service is bound to). */
  | 'istio-waypoint';

/**
 * How a data plane carries the traffic to one Service port:
 * - `http2`: declared HTTP/2 or gRPC, each call balanced on its own;
 * - `detected`: undeclared, sniffed per connection: gRPC (HTTP/2 with prior knowledge) is detected and balanced per
 *   call, but nothing in the manifest says so and a gateway in front would not sniff;
 * - `http1`: forwarded as HTTP/1.1, which gRPC cannot use;
 * - `opaque`: forwarded as TCP, every call of a connection to the one pod it was opened to.
 */
export type PortHandling = 'http2' | 'detected' | 'http1' | 'opaque';

/** The protocol fields of a Service port, as in `spec.ports[]`. */
export interface ServicePortProtocol {
  readonly name?: string;
  readonly appProtocol?: string;
  readonly port: number;
  /** The L4 protocol. @default 'TCP' */
  readonly protocol?: string;
}

/** What else, besides the port itself, a data plane reads. */
export interface PortHandlingContext {
  /**
   * Linkerd's opaque ports for this Service: `config.linkerd.io/opaque-ports` on the Service (or its namespace).
   * @default LINKERD_DEFAULT_OPAQUE_PORTS
   */
  readonly linkerdOpaquePorts?: readonly number[];
  /** ingress-nginx: the Ingress's `nginx.ingress.kubernetes.io/backend-protocol`. @default 'HTTP' */
  readonly nginxBackendProtocol?: string;
  /** NGINX Ingress Controller: the Ingress names the Service in `nginx.org/grpc-services`. @default false */
  readonly nginxGrpcService?: boolean;
  /** GKE Ingress: the Service's annotations, where `cloud.google.com/app-protocols` names each port's protocol. */
  readonly serviceAnnotations?: Readonly<Record<string, string>>;
  /**
   * The kind of Gateway API route that sends the traffic (Envoy Gateway reads appProtocol for HTTPRoutes only).
   * @default 'HTTPRoute'
   */
  readonly route?: 'HTTPRoute' | 'GRPCRoute';
}

// Gateway API GEP-1911 (v1.6.1 geps/gep-1911/index.md): implementations MUST recognize the Kubernetes standard
// application protocols, of which `kubernetes.io/h2c` (HTTP/2 over cleartext) is the one for gRPC, for GRPCRoute and
// HTTPRoute backends alike; anything else is implementation-specific.
const GATEWAY_API_H2C = 'kubernetes.io/h2c';

// Istio 1.30.3 pkg/config/kube/conversion.go ConvertProtocol: appProtocol wins over the port name; the Kubernetes
// standard values are matched exactly (`kubernetes.io/h2c` is HTTP2, `kubernetes.io/ws` HTTP, `kubernetes.io/wss`
// HTTPS); otherwise the text before the first '-' is parsed case-insensitively
// (pkg/config/protocol/instance.go Parse); `grpc-web` is matched first. IsHTTP2 = HTTP2, GRPC, GRPC-Web.
const ISTIO_HTTP2 = new Set(['http2', 'grpc', 'grpc-web']);
const ISTIO_HTTP1 = new Set(['http', 'http_proxy']);
const ISTIO_OPAQUE = new Set(['tcp', 'https', 'tls', 'mongo', 'redis', 'mysql', 'udp']);
const ISTIO_KUBERNETES_APP_PROTOCOLS: Readonly<Record<string, string>> = {
  [GATEWAY_API_H2C]: 'http2',
  'kubernetes.io/ws': 'http',
  'kubernetes.io/wss': 'https',
};
// conversion.go wellKnownPorts: an undeclared port among these is TCP, never sniffed (SMTP, DNS, MySQL, MongoDB).
const ISTIO_TCP_PORTS = new Set([25, 53, 3306, 27017]);

/** Istio's protocol for a Service port, lower-cased (`unsupported` when neither field names a known protocol). */
function istioProtocol(port: ServicePortProtocol): string {
  if ((port.protocol ?? 'TCP').toUpperCase() === 'UDP') return 'udp';
  const name = (port.appProtocol ?? port.name ?? '').toLowerCase();
  // Only appProtocol carries the Kubernetes standard names (a port name cannot contain "/"), matched exactly.
  const standard = port.appProtocol === undefined ? undefined : ISTIO_KUBERNETES_APP_PROTOCOLS[port.appProtocol];
  if (standard !== undefined) return standard;
  if (name.startsWith('grpc-web')) return 'grpc-web';
  const prefix = name.split('-')[0];
  if (ISTIO_HTTP2.has(prefix) || ISTIO_HTTP1.has(prefix) || ISTIO_OPAQUE.has(prefix)) return prefix;
  return ISTIO_TCP_PORTS.has(port.port) ? 'tcp' : 'unsupported';
}

function istioHandling(port: ServicePortProtocol, gateway: boolean): PortHandling {
  const protocol = istioProtocol(port);
  if (ISTIO_HTTP2.has(protocol)) return 'http2';
  if (ISTIO_HTTP1.has(protocol)) return 'http1';
  if (protocol !== 'unsupported') return 'opaque';
  // Sidecars (and waypoints) sniff an undeclared port and forward with the client's protocol; gateways do not sniff
  // and forward HTTP/1.1 unless the port says otherwise (1.30.3 pilot/pkg/networking/core/cluster_builder.go
  // setUpstreamProtocol: use_downstream_protocol only for sidecars and waypoints).
  return gateway ? 'http1' : 'detected';
}

/**
 * Linkerd's default opaque ports (linkerd2 charts/linkerd-control-plane/values.yaml `opaquePorts`, 2.16 to 2.20):
 * SMTP, SMTP submission, MySQL, Galera, PostgreSQL, Redis, Elasticsearch, Memcached.
 */
export const LINKERD_DEFAULT_OPAQUE_PORTS: readonly number[] = [25, 587, 3306, 4444, 5432, 6379, 9300, 11211];

/**
 * Linkerd ≥ 2.18 (policy-controller/core/src/outbound.rs `AppProtocol::from_str`, case-insensitive): `http` is
 * HTTP/1, `kubernetes.io/h2c` HTTP/2, `linkerd.io/tcp` and `linkerd.io/opaque` opaque, and since linkerd2 PR #13948
 * (first in 2.18) any other value is opaque too (policy-controller/grpc/src/outbound.rs). An unset appProtocol
 * falls back to the opaque-ports list, then to protocol detection.
 */
const LINKERD_APP_PROTOCOLS: Record<string, PortHandling> = {
  http: 'http1',
  'kubernetes.io/h2c': 'http2',
  'linkerd.io/tcp': 'opaque',
  'linkerd.io/opaque': 'opaque',
};

function linkerdHandling(
  port: ServicePortProtocol,
  context: PortHandlingContext,
  readsAppProtocol: boolean,
): PortHandling {
  if (readsAppProtocol && port.appProtocol !== undefined)
    return LINKERD_APP_PROTOCOLS[port.appProtocol.toLowerCase()] ?? 'opaque';
  if ((context.linkerdOpaquePorts ?? LINKERD_DEFAULT_OPAQUE_PORTS).includes(port.port)) return 'opaque';
  // 2.16 and 2.17 do not read appProtocol at all (no AppProtocol in their policy controller): the proxy detects
  // HTTP/2 on the connection and balances each request.
  return 'detected';
}

/**
 * ingress-nginx reads neither appProtocol nor the port name: `nginx.ingress.kubernetes.io/backend-protocol`
 * (HTTP, HTTPS, AUTO_HTTP, GRPC, GRPCS, FCGI; default HTTP) decides (docs/user-guide/nginx-configuration/
 * annotations.md, controller-v1.15.1). It proxies each request to an endpoint of its own choosing.
 */
function nginxHandling(context: PortHandlingContext): PortHandling {
  const backend = (context.nginxBackendProtocol ?? 'HTTP').toUpperCase();
  return backend === 'GRPC' || backend === 'GRPCS' ? 'http2' : 'http1';
}

/**
 * The controller name Envoy Gateway manages GatewayClasses for unless configured otherwise (envoyproxy/gateway v1.9.0
 * api/v1alpha1/envoygateway_types.go GatewayControllerName).
 */
export const ENVOY_GATEWAY_CONTROLLER = 'gateway.envoyproxy.io/gatewayclass-controller';

// Envoy Gateway v1.9.0 internal/gatewayapi/route.go: inspectAppProtocolByRouteKind makes every GRPCRoute backend
// gRPC (HTTP/2) whatever the Service says; for an HTTPRoute, resolveBackendProtocol makes `kubernetes.io/h2c` and
// `gateway.envoyproxy.io/h2c` HTTP/2 and `grpc` gRPC, and any other value keeps HTTP/1.1.
const ENVOY_GATEWAY_HTTP2 = new Set([GATEWAY_API_H2C, 'gateway.envoyproxy.io/h2c', 'grpc']);

function envoyGatewayHandling(port: ServicePortProtocol, context: PortHandlingContext): PortHandling {
  if (context.route === 'GRPCRoute') return 'http2';
  return port.appProtocol !== undefined && ENVOY_GATEWAY_HTTP2.has(port.appProtocol) ? 'http2' : 'http1';
}

/**
 * GKE gateway classes read the Service port's appProtocol (https://cloud.google.com/kubernetes-engine/docs/how-to/
 * secure-gateway#load-balancer-tls and gatewayclass-capabilities): `HTTP2` is HTTP/2 over TLS to the pods,
 * `kubernetes.io/h2c` HTTP/2 in cleartext, `HTTPS` HTTP/1.1 over TLS, anything else HTTP/1.1. The load balancer
 * (Envoy-based) sends each request to an endpoint of its choosing.
 */
const GKE_GATEWAY_HTTP2 = new Set(['HTTP2', GATEWAY_API_H2C]);

/**
 * GKE Ingress reads the Service annotation `cloud.google.com/app-protocols` (older names
 * `networking.gke.io/app-protocols`, `service.alpha.kubernetes.io/app-protocols`), a JSON map of port name to HTTP,
 * HTTPS or HTTP2 (HTTP/2 over TLS); without it, HTTP/1.1 (https://cloud.google.com/kubernetes-engine/docs/how-to/
 * ingress-http2; kubernetes/ingress-gce pkg/annotations/service.go).
 */
const GKE_APP_PROTOCOLS_ANNOTATIONS = [
  'cloud.google.com/app-protocols',
  'networking.gke.io/app-protocols',
  'service.alpha.kubernetes.io/app-protocols',
];

function gkeIngressHandling(port: ServicePortProtocol, context: PortHandlingContext): PortHandling {
  for (const key of GKE_APP_PROTOCOLS_ANNOTATIONS) {
    const value = context.serviceAnnotations?.[key];
    if (value === undefined) continue;
    let protocols: unknown;
    try {
      protocols = JSON.parse(value);
    } catch {
      return 'http1'; // an annotation that is not JSON is ignored by the controller's validation: HTTP/1.1
    }
    const protocol = port.name === undefined ? undefined : (protocols as Record<string, unknown>)[port.name];
    return protocol === 'HTTP2' ? 'http2' : 'http1';
  }
  return 'http1';
}

// ---------------------------------------------------------------------------------------------------------------
// Ambient waypoints, and what else the constructs need of GKE's gateway classes.

/**
 * The appProtocol GKE's gateway classes read as HTTP/2 over TLS to the pods, the one Google's documentation names
 * (https://cloud.google.com/kubernetes-engine/docs/how-to/secure-gateway#load-balancer-tls; the backend service
 * protocol `HTTP2`, "HTTP/2 with SSL", of the Compute Engine API). The load balancer does not verify the pods'
 * certificate.
 */
export const GKE_HTTP2_OVER_TLS = 'HTTP2';
/** The appProtocols GKE's load balancer speaks TLS to the pods with. */
const GKE_GATEWAY_TLS_APP_PROTOCOLS = new Set([GKE_HTTP2_OVER_TLS, 'HTTPS']);

/** True when `plane` speaks TLS to the pods behind `port`, so they must serve it there. */
export function tlsToPods(plane: DataPlane, port: Pick<ServicePortProtocol, 'appProtocol'>): boolean {
  return (
    plane === 'gke-gateway' && port.appProtocol !== undefined && GKE_GATEWAY_TLS_APP_PROTOCOLS.has(port.appProtocol)
  );
}

/** The GatewayClasses of GKE's Gateway controller, all named so (https://cloud.google.com/kubernetes-engine/docs/how-to/gatewayclass-capabilities). */
const GKE_GATEWAY_CLASS_PREFIX = 'gke-l7-';

/** True when `className` is one of GKE's GatewayClasses. */
export function isGkeGatewayClass(className: string): boolean {
  return className.startsWith(GKE_GATEWAY_CLASS_PREFIX);
}

/** The row of the ambient waypoint. */
const AMBIENT_DATA_PLANES = {
  'istio-waypoint': {
    // A waypoint is Envoy with the sidecar's protocol selection: it sniffs an undeclared port
    // (pilot/pkg/networking/core/listener_waypoint.go, the protocol detector for IsUnsupported ports) and forwards
    // with the client's protocol (cluster_builder.go setUpstreamProtocol: use_downstream_protocol for waypoints).
    handling: (port: ServicePortProtocol) => istioHandling(port, false),
    source:
      'istio/istio 1.30.3 pkg/config/kube/conversion.go ConvertProtocol, pilot/pkg/networking/core/listener_waypoint.go and cluster_builder.go setUpstreamProtocol',
  },
} as const;

/** One row per data plane: how it reads a port, and where that was read. */
const DATA_PLANES: Record<
  DataPlane,
  {
    readonly handling: (port: ServicePortProtocol, context: PortHandlingContext) => PortHandling;
    readonly source: string;
    /** False for a data plane that an annotation of its own decides, whatever the port's appProtocol says. */
    readonly readsAppProtocol?: false;
  }
> = {
  'istio-sidecar': {
    handling: (port) => istioHandling(port, false),
    source:
      'istio/istio 1.30.3 pkg/config/kube/conversion.go ConvertProtocol; https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/',
  },
  'istio-gateway': {
    handling: (port) => istioHandling(port, true),
    source:
      'istio/istio 1.30.3 pkg/config/kube/conversion.go ConvertProtocol; https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/#http-gateway-protocol-selection',
  },
  'linkerd-2.16': {
    handling: (port, context) => linkerdHandling(port, context, false),
    source:
      'linkerd/linkerd2 version-2.17 policy-controller (appProtocol not read); charts/linkerd-control-plane/values.yaml opaquePorts',
  },
  'linkerd-2.18': {
    handling: (port, context) => linkerdHandling(port, context, true),
    source:
      'linkerd/linkerd2 version-2.18 policy-controller/core/src/outbound.rs AppProtocol::from_str; PR #13948 (unknown appProtocol is opaque)',
  },
  'ingress-nginx': {
    handling: (_port, context) => nginxHandling(context),
    readsAppProtocol: false,
    source:
      'kubernetes/ingress-nginx controller-v1.15.1 docs/user-guide/nginx-configuration/annotations.md#backend-protocol',
  },
  'envoy-gateway': {
    handling: envoyGatewayHandling,
    source:
      'envoyproxy/gateway v1.9.0 internal/gatewayapi/route.go inspectAppProtocolByRouteKind, resolveBackendProtocol',
  },
  'gke-gateway': {
    handling: (port) => (port.appProtocol !== undefined && GKE_GATEWAY_HTTP2.has(port.appProtocol) ? 'http2' : 'http1'),
    source:
      'https://cloud.google.com/kubernetes-engine/docs/how-to/secure-gateway#load-balancer-tls (appProtocol HTTP2: HTTP/2 over TLS; kubernetes.io/h2c: cleartext)',
  },
  'gke-ingress': {
    handling: gkeIngressHandling,
    readsAppProtocol: false,
    source:
      'https://cloud.google.com/kubernetes-engine/docs/how-to/ingress-http2 (Service annotation cloud.google.com/app-protocols, HTTP2 per port name)',
  },
  'nginx-ingress-controller': {
    // grpc_pass (HTTP/2) for the Services nginx.org/grpc-services names, HTTP/1.1 proxy_pass for the others.
    handling: (_port, context) => (context.nginxGrpcService ? 'http2' : 'http1'),
    readsAppProtocol: false,
    source:
      'https://docs.nginx.com/nginx-ingress-controller/configuration/ingress-resources/advanced-configuration-with-annotations/ (nginx.org/grpc-services)',
  },
  'gateway-api': {
    handling: (port) => (port.appProtocol === GATEWAY_API_H2C ? 'http2' : 'http1'),
    source: 'kubernetes-sigs/gateway-api v1.6.1 geps/gep-1911/index.md (Backend Protocol Selection)',
  },
  ...AMBIENT_DATA_PLANES,
};

/** True when a data plane handling a port so balances each gRPC call on its own. */
export function balancesEachCall(handling: PortHandling): boolean {
  return handling === 'http2' || handling === 'detected';
}

/** How `plane` carries the traffic to `port`. */
export function portHandling(
  plane: DataPlane,
  port: ServicePortProtocol,
  context: PortHandlingContext = {},
): PortHandling {
  return DATA_PLANES[plane].handling(port, context);
}

/** False when an annotation of the data plane's own, not the port's appProtocol, decides how it carries the port. */
export function readsAppProtocol(plane: DataPlane): boolean {
  return DATA_PLANES[plane].readsAppProtocol !== false;
}

/** Where the behaviour of `plane` was read (project, tag, file or page), for findings and comments. */
export function dataPlaneSource(plane: DataPlane): string {
  return DATA_PLANES[plane].source;
}

/** The data plane a Linkerd proxy of `version` (`2.17`, `2.18.1`, `stable-2.14.10`, …) is. */
export function linkerdDataPlane(version: string): DataPlane {
  const match = /(\d+)\.(\d+)/.exec(version);
  if (match === null || Number(match[1]) !== 2)
    throw new Error(`Linkerd version ${JSON.stringify(version)} is not 2.<minor>`);
  return Number(match[2]) >= 18 ? 'linkerd-2.18' : 'linkerd-2.16';
}

/**
 * True when the port's appProtocol or name says gRPC or HTTP/2 in the terms of any data plane above: Istio's
 * `grpc`/`grpc-web`/`http2` (value or name prefix), the Kubernetes standard `kubernetes.io/h2c`, Envoy Gateway's
 * `gateway.envoyproxy.io/h2c`, or a name or value starting with `h2c`.
 */
export function declaresGrpc(port: Pick<ServicePortProtocol, 'name' | 'appProtocol'>): boolean {
  return [port.appProtocol, port.name].some((value) => {
    const text = value?.toLowerCase() ?? '';
    return ISTIO_HTTP2.has(text.split('-')[0]) || text.split('-')[0] === 'h2c' || ENVOY_GATEWAY_HTTP2.has(text);
  });
}

/**
 * The mesh of a namespace: Istio with sidecars, Istio ambient (ztunnel on every node, waypoints for L7), Linkerd, or
 * none.
 */
export type Mesh = 'istio' | 'istio-ambient' | 'linkerd' | 'none';

/**
 * The data planes a mesh puts in front of a namespace's Services: its sidecars or, in ambient, the waypoint the
 * Service is bound to (ztunnel alone is L4), and Istio's gateways, which reach ambient pods too. For Linkerd, the
 * versions this project renders for: 2.18 and later (2.16 and 2.17 crash beside Gateway API v1.6.1, see
 * docs/control-planes.md; `linkerdDataPlane` still reads their manifests).
 */
export function meshDataPlanes(mesh: Mesh | undefined): DataPlane[] {
  if (mesh === 'istio') return ['istio-sidecar', 'istio-gateway'];
  if (mesh === 'istio-ambient') return ['istio-waypoint', 'istio-gateway'];
  if (mesh === 'linkerd') return ['linkerd-2.18'];
  return [];
}

// What a construct writes, in order of preference: Istio's own `grpc` (its telemetry then knows the calls are
// gRPC), else the one standard value.
const APP_PROTOCOL_PREFERENCE = ['grpc', GATEWAY_API_H2C] as const;

/**
 * The appProtocol a gRPC Service port should declare so that every one of `planes` balances each call:
 * `grpc` where all of them read it so, else `kubernetes.io/h2c` (Linkerd ≥ 2.18 carries `grpc` as opaque TCP).
 */
export function grpcAppProtocol(planes: readonly DataPlane[]): string {
  const chosen = APP_PROTOCOL_PREFERENCE.find((appProtocol) =>
    planes.filter(readsAppProtocol).every((plane) => balancesEachCall(portHandling(plane, { appProtocol, port: 0 }))),
  );
  if (chosen === undefined) throw new Error(`no appProtocol is HTTP/2 for all of ${planes.join(', ')}`);
  return chosen;
}

/**
 * The front doors that may forward calls to a Service besides its mesh's own data planes. An Istio namespace (sidecar
 * or ambient) is fronted by Istio's gateways, Envoy Gateway or ingress-nginx, which all read Istio's `grpc` as HTTP/2
 * (or read no appProtocol); another GEP-1911-only gateway there is outside the mesh (plaintext only in PERMISSIVE mode), and its
 * users set `kubernetes.io/h2c` themselves (`GrpcAppProps.appProtocol`), which Istio reads as HTTP2 too.
 */
function frontDoors(mesh: Mesh | undefined): DataPlane[] {
  const gateways: DataPlane[] = ['istio-gateway', 'envoy-gateway', 'ingress-nginx'];
  return mesh === 'istio' || mesh === 'istio-ambient' ? gateways : [...gateways, 'gateway-api'];
}

/**
 * The appProtocol of a gRPC Service port in a namespace of `mesh`, so that its mesh and any front door balance each
 * call: `grpc` under Istio (whose inbound route then also skips the `reset-before-request` retries it adds to HTTP2
 * ports, which do not suit gRPC streams: 1.30.3 pilot/pkg/networking/core/route/route.go
 * BuildDefaultHTTPInboundRoute), `kubernetes.io/h2c` elsewhere (Linkerd ≥ 2.18 and GEP-1911). ESPv2 reads none: its
 * `--backend=grpc://` scheme decides (GoogleCloudPlatform/esp-v2 v2.55.7 src/go/util/url_util.go ParseBackendProtocol).
 */
export function serviceGrpcAppProtocol(mesh: Mesh | undefined): string {
  return grpcAppProtocol([...meshDataPlanes(mesh), ...frontDoors(mesh)]);
}
