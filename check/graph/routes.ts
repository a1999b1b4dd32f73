/**
 * Routes: what names a Service from a gateway, an ingress or a mesh rule (Istio VirtualServices and
 * DestinationRules, Gateway API HTTPRoutes and GRPCRoutes and the removed pre-v1 HTTPRoutes, Ingresses of every served
 * and removed version, NGINX Ingress Controller VirtualServers), the data plane each one puts in front of the Service,
 * and the parent Gateways routes attach to.
 */
import {
  ENVOY_GATEWAY_CONTROLLER,
  isGkeGatewayClass,
  type DataPlane,
  type PortHandlingContext,
} from 'grpc-k8s-lb-common';
import type { SourceLocation } from '../input';
import { integer, list, record, strings, text, type Json } from './json';
import { nearest, type Found, type ObjectRef } from './objects';
import type { ServiceNode } from './services';

export interface RouteTarget {
  /** The route object. */
  readonly route: ObjectRef;
  /** Field path of the reference, e.g. `spec.http[0].route[1].destination`. */
  readonly path: string;
  /** The name as written (an Istio host, or a backendRef / Ingress backend name). */
  readonly written: string;
  /** The Service it means, when it means one (an external host does not). */
  readonly wanted?: { readonly name: string; readonly namespace: string };
  readonly port?: number | string;
  /** True when the reference applies to every port of its Service (a DestinationRule's host). */
  readonly anyPort?: boolean;
  readonly service?: ServiceNode;
  /** The data plane that forwards through this route to the Service, when it is an L7 proxy in front of it. */
  readonly plane?: DataPlane;
  /** What else that data plane reads for this route (an ingress annotation), for the protocol table. */
  readonly planeContext?: PortHandlingContext;
  /** ingress-nginx's backend protocol annotation on the route, for messages. */
  readonly nginxBackendProtocol?: string;
  /** Why the reference cannot name a Service of the input even in principle (Istio's FQDN rule), if so. */
  readonly hostNote?: string;
  /** True when the route carries gRPC by its kind or annotation (GRPCRoute, nginx GRPC/GRPCS). */
  readonly carriesGrpc: boolean;
  /** The DestinationRule's TLS mode toward the Service (`ISTIO_MUTUAL`, …), when the route is one that sets it. */
  readonly tlsMode?: string;
  /** True when the route's proxy sends its requests to the ClusterIP rather than to the pods (one pod per connection). */
  readonly viaClusterIp?: boolean;
}

/** A Gateway API route's parentRef to a Gateway, and whether the input has that Gateway. */
export interface RouteParent {
  readonly route: ObjectRef;
  readonly path: string;
  readonly name: string;
  readonly namespace: string;
  readonly gateway?: ObjectRef;
}

type FindService = (name: string, namespace: string, from: SourceLocation) => ServiceNode | undefined;

/** Istio's reading of a destination host in a rule of `namespace` (istio/istio 1.30.3 pilot/pkg/model/config.go ResolveShortnameToFQDN). */
function istioHost(host: string, namespace: string): { wanted?: { name: string; namespace: string }; note?: string } {
  if (host.includes('*')) return {};
  // A name without a dot is short for <name>.<rule namespace>.svc.<domain>; a name with one is taken as written.
  if (!host.includes('.')) return { wanted: { name: host, namespace } };
  const labels = host.split('.');
  if (labels.length >= 4 && labels[2] === 'svc') return { wanted: { name: labels[0], namespace: labels[1] } };
  if (labels.length === 2 || (labels.length === 3 && labels[2] === 'svc')) {
    return {
      wanted: { name: labels[0], namespace: labels[1] },
      note: `Istio takes a host with a dot as a full name, so "${host}" is not ${labels[0]}.${labels[1]}.svc.cluster.local`,
    };
  }
  return {};
}

export function virtualServiceRoutes(virtualServices: readonly Found[], findService: FindService): RouteTarget[] {
  return virtualServices.flatMap(({ ref, object }) => {
    const spec = record(object.spec);
    // Bound to gateways other than the mesh: an Istio gateway forwards these HTTP routes.
    const gateways = list(spec.gateways)
      .map(String)
      .filter((g) => g !== 'mesh');
    const routes = (['http', 'tcp', 'tls'] as const).flatMap((section) =>
      list(spec[section]).flatMap((rule, i) =>
        list(record(rule).route).map((route, j) => ({
          section,
          destination: record(record(route).destination),
          path: `spec.${section}[${i}].route[${j}].destination`,
        })),
      ),
    );
    return routes.flatMap(({ section, destination, path: at }) => {
      const host = text(destination.host);
      if (host === undefined) return [];
      const { wanted, note } = istioHost(host, ref.namespace as string);
      const port = integer(record(destination.port).number);
      const service = wanted && !note ? findService(wanted.name, wanted.namespace, ref.location) : undefined;
      const plane: DataPlane | undefined = section === 'http' && gateways.length > 0 ? 'istio-gateway' : undefined;
      return [
        { route: ref, path: at, written: host, wanted, port, service, plane, hostNote: note, carriesGrpc: false },
      ];
    });
  });
}

export function destinationRuleRoutes(rules: readonly Found[], findService: FindService): RouteTarget[] {
  return rules.flatMap(({ ref, object }) => {
    const spec = record(object.spec);
    const host = text(spec.host);
    if (host === undefined) return [];
    const { wanted, note } = istioHost(host, ref.namespace as string);
    const service = wanted && !note ? findService(wanted.name, wanted.namespace, ref.location) : undefined;
    const policy = record(spec.trafficPolicy);
    const base = { route: ref, written: host, wanted, service, hostNote: note, carriesGrpc: false };
    return [
      // The host-level policy applies to every port of the host (istio/api networking/v1alpha3/destination_rule.proto).
      { ...base, path: 'spec.host', anyPort: true, tlsMode: text(record(policy.tls).mode) },
      ...list(policy.portLevelSettings).flatMap((setting, i) => {
        const port = integer(record(record(setting).port).number);
        const tlsMode = text(record(record(setting).tls).mode);
        return port === undefined
          ? []
          : [{ ...base, path: `spec.trafficPolicy.portLevelSettings[${i}].port`, port, tlsMode }];
      }),
    ];
  });
}

/** GatewayClass `spec.controllerName` of the implementations the protocol table knows. */
const ISTIO_GATEWAY_CONTROLLER = 'istio.io/gateway-controller';
const GKE_GATEWAY_CONTROLLER = 'networking.gke.io/gateway';
const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

function gatewayPlane(className: string, controller: string | undefined): DataPlane {
  if (controller === ISTIO_GATEWAY_CONTROLLER || (controller === undefined && className === 'istio'))
    return 'istio-gateway';
  if (controller === ENVOY_GATEWAY_CONTROLLER) return 'envoy-gateway';
  // GKE installs its GatewayClasses itself, so they are seldom in the input.
  if (controller === GKE_GATEWAY_CONTROLLER || (controller === undefined && isGkeGatewayClass(className)))
    return 'gke-gateway';
  return 'gateway-api';
}

export function gatewayApiRoutes(
  routes: readonly Found[],
  gateways: readonly Found[],
  classes: readonly Found[],
  findService: FindService,
): { targets: RouteTarget[]; parents: RouteParent[] } {
  const controllerOf = (className: string) =>
    text(record(classes.find((c) => c.ref.name === className)?.object.spec).controllerName);
  const parents: RouteParent[] = [];
  const targets = routes.flatMap(({ ref, object }) => {
    const spec = record(object.spec);
    const grpc = ref.kind === 'GRPCRoute';
    // The data plane: from the parent Gateway's class. A parentRef of another kind (a Service, for mesh routing
    // under GAMMA) is not a Gateway.
    const planes = list(spec.parentRefs).flatMap((parent, i): DataPlane[] => {
      const p = record(parent);
      if ((text(p.group) ?? GATEWAY_API_GROUP) !== GATEWAY_API_GROUP || (text(p.kind) ?? 'Gateway') !== 'Gateway')
        return [];
      const name = text(p.name) ?? '';
      const namespace = text(p.namespace) ?? (ref.namespace as string);
      // The copy nearest the route, when the input holds several (a directory per environment and strategy).
      const gateway = nearest(
        gateways.filter((g) => g.ref.name === name && g.ref.namespace === namespace),
        ref.location,
      );
      parents.push({ route: ref, path: `spec.parentRefs[${i}]`, name, namespace, gateway: gateway?.ref });
      const className = text(record(gateway?.object.spec).gatewayClassName);
      return className === undefined ? [] : [gatewayPlane(className, controllerOf(className))];
    });
    return list(spec.rules).flatMap((rule, i) =>
      list(record(rule).backendRefs).flatMap((backendRef, j) => {
        const backend = record(backendRef);
        if ((text(backend.group) ?? '') !== '' || (text(backend.kind) ?? 'Service') !== 'Service') return [];
        // A backend of weight 0 gets no requests (Gateway API v1.6.1 BackendRef.weight): nothing reaches it.
        if (integer(backend.weight) === 0) return [];
        const name = text(backend.name);
        if (name === undefined) return [];
        const wanted = { name, namespace: text(backend.namespace) ?? (ref.namespace as string) };
        // GRPCRoute backends are gRPC whatever the port says; the protocol table covers HTTPRoutes.
        return [
          {
            route: ref,
            path: `spec.rules[${i}].backendRefs[${j}]`,
            written: name,
            wanted,
            port: integer(backend.port),
            service: findService(wanted.name, wanted.namespace, ref.location),
            plane: grpc ? undefined : (planes[0] ?? 'gateway-api'),
            carriesGrpc: grpc,
          },
        ];
      }),
    );
  });
  return { targets, parents };
}

/**
 * HTTPRoutes of the removed pre-v1 group `networking.x-k8s.io` (Gateway API v0.3.0 apis/v1alpha1/httproute_types.go
 * HTTPRouteForwardTo: `forwardTo[].serviceName`, `port`, `weight`). The API is no longer served (`removed-api` says
 * so), so no data plane is read from it; the route still shows the L7 path its author meant for the Service.
 */
export function removedHttpRouteRoutes(routes: readonly Found[], findService: FindService): RouteTarget[] {
  return routes.flatMap(({ ref, object }) =>
    list(record(object.spec).rules).flatMap((rule, i) =>
      list(record(rule).forwardTo).flatMap((forward, j): RouteTarget[] => {
        const target = record(forward);
        const name = text(target.serviceName);
        if (name === undefined || integer(target.weight) === 0) return [];
        const wanted = { name, namespace: ref.namespace as string };
        return [
          {
            route: ref,
            path: `spec.rules[${i}].forwardTo[${j}]`,
            written: name,
            wanted,
            port: integer(target.port),
            service: findService(name, wanted.namespace, ref.location),
            carriesGrpc: false,
          },
        ];
      }),
    ),
  );
}

/**
 * NGINX Ingress Controller VirtualServer upstreams (docs.nginx.com/nginx-ingress-controller, VirtualServer and
 * VirtualServerRoute resources, Upstream): `service` in the VirtualServer's namespace, `port`, and `type: grpc` for
 * grpc_pass. NGINX sends each request to a pod address of its choosing, unless `use-cluster-ip: true` sends it to the
 * ClusterIP, where kube-proxy picks a pod per connection.
 */
export function virtualServerRoutes(virtualServers: readonly Found[], findService: FindService): RouteTarget[] {
  return virtualServers.flatMap(({ ref, object }) =>
    list(record(object.spec).upstreams).flatMap((upstream, i): RouteTarget[] => {
      const u = record(upstream);
      const name = text(u.service);
      if (name === undefined) return [];
      const wanted = { name, namespace: ref.namespace as string };
      const grpc = text(u.type) === 'grpc';
      return [
        {
          route: ref,
          path: `spec.upstreams[${i}]`,
          written: name,
          wanted,
          port: integer(u.port),
          service: findService(name, wanted.namespace, ref.location),
          plane: 'nginx-ingress-controller',
          planeContext: { nginxGrpcService: grpc },
          carriesGrpc: grpc,
          viaClusterIp: u['use-cluster-ip'] === true,
        },
      ];
    }),
  );
}

const NGINX_BACKEND_PROTOCOL = 'nginx.ingress.kubernetes.io/backend-protocol';
const INGRESS_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
/** IngressClass `spec.controller` of ingress-nginx. */
export const INGRESS_NGINX_CONTROLLER = 'k8s.io/ingress-nginx';
/** IngressClass `spec.controller` of F5's NGINX Ingress Controller, whose annotations are `nginx.org/…`. */
const NGINX_INC_CONTROLLER = 'nginx.org/ingress-controller';
/** NGINX Ingress Controller: the Services it proxies with grpc_pass (docs.nginx.com/nginx-ingress-controller, Advanced configuration with annotations, nginx.org/grpc-services). */
const NGINX_INC_GRPC_SERVICES = 'nginx.org/grpc-services';
/** GKE Ingress: IngressClass controller and the class names of its annotation (kubernetes/ingress-gce). */
const GKE_INGRESS_CONTROLLER = 'k8s.io/ingress-gce';
const GKE_INGRESS_CLASSES = new Set(['gce', 'gce-internal']);

/** The Ingress controller an Ingress is written for, from its class and the annotations it carries. */
function ingressPlane(
  className: string | undefined,
  controller: string | undefined,
  annotations: Readonly<Record<string, string>>,
): 'ingress-nginx' | 'nginx-ingress-controller' | 'gke-ingress' | undefined {
  const keys = Object.keys(annotations);
  const nginxInc =
    keys.some((k) => k.startsWith('nginx.org/')) && !keys.some((k) => k.startsWith('nginx.ingress.kubernetes.io/'));
  if (controller === NGINX_INC_CONTROLLER || (controller === undefined && className === 'nginx' && nginxInc))
    return 'nginx-ingress-controller';
  if (controller === INGRESS_NGINX_CONTROLLER || (controller === undefined && className === 'nginx'))
    return 'ingress-nginx';
  if (controller === GKE_INGRESS_CONTROLLER || (controller === undefined && GKE_INGRESS_CLASSES.has(className ?? '')))
    return 'gke-ingress';
  return undefined;
}

/** An Ingress backend of any served or removed version: `service.name`/`service.port` (v1) or `serviceName`/`servicePort`. */
function ingressBackend(backend: Json): { name?: string; port?: number | string } {
  const service = record(backend.service);
  if (text(service.name) !== undefined) {
    const port = record(service.port);
    return { name: text(service.name), port: integer(port.number) ?? text(port.name) };
  }
  return { name: text(backend.serviceName), port: integer(backend.servicePort) ?? text(backend.servicePort) };
}

export function ingressRoutes(
  ingresses: readonly Found[],
  classes: readonly Found[],
  findService: FindService,
): RouteTarget[] {
  return ingresses.flatMap(({ ref, object }) => {
    const spec = record(object.spec);
    const annotations = strings(record(object.metadata).annotations);
    const className = text(spec.ingressClassName) ?? annotations[INGRESS_CLASS_ANNOTATION];
    const ingressClass = classes.find((c) => c.ref.name === className);
    const plane = ingressPlane(className, text(record(ingressClass?.object.spec).controller), annotations);
    const backendProtocol = plane === 'ingress-nginx' ? annotations[NGINX_BACKEND_PROTOCOL] : undefined;
    const grpcServices = (annotations[NGINX_INC_GRPC_SERVICES] ?? '').split(',').map((s) => s.trim());
    const backendsAt = [
      { backend: record(spec.defaultBackend), path: 'spec.defaultBackend' },
      { backend: record(spec.backend), path: 'spec.backend' },
      ...list(spec.rules).flatMap((rule, i) =>
        list(record(record(rule).http).paths).map((p, j) => ({
          backend: record(record(p).backend),
          path: `spec.rules[${i}].http.paths[${j}].backend`,
        })),
      ),
    ];
    return backendsAt.flatMap(({ backend, path: at }): RouteTarget[] => {
      const { name, port } = ingressBackend(backend);
      if (name === undefined) return [];
      const wanted = { name, namespace: ref.namespace as string };
      const service = findService(name, wanted.namespace, ref.location);
      const planeContext: PortHandlingContext | undefined =
        plane === 'ingress-nginx'
          ? { nginxBackendProtocol: backendProtocol }
          : plane === 'nginx-ingress-controller'
            ? { nginxGrpcService: grpcServices.includes(name) }
            : plane === 'gke-ingress'
              ? { serviceAnnotations: service?.annotations }
              : undefined;
      return [
        {
          route: ref,
          path: `${at}${record(backend.service).name === undefined ? '' : '.service'}`,
          written: name,
          wanted,
          port,
          service,
          plane,
          planeContext,
          nginxBackendProtocol: backendProtocol,
          carriesGrpc:
            (plane === 'ingress-nginx' && /^grpcs?$/i.test(backendProtocol ?? '')) ||
            (plane === 'nginx-ingress-controller' && grpcServices.includes(name)),
        },
      ];
    });
  });
}
