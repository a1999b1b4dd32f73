import * as gw from '../imports/gateway.networking.k8s.io';
import type { IGrpcBackend } from '../grpc-backend';
import type { INamespace } from '../namespace';
import type { GrpcGatewayListener, IGrpcGateway } from '../grpc-gateway';
import {
  dnsSubdomain,
  gatewayHostname,
  hostnamesIntersect,
  invalidProp,
  listOf,
  protoServiceNames,
  type ValidationSubject,
} from './validate';

/** The API group of the Gateway API's kinds, as references to them name it: `gateway.networking.k8s.io`. */
export const GATEWAY_API_GROUP = gw.Gateway.GVK.apiVersion.split('/')[0];

/**
 * A backend's Service as a Gateway API parentRef or backendRef names it: the core group (`""`), kind `Service`, and
 * its gRPC port (a Service parent without a port would take every port of the Service).
 */
export function serviceReference(backend: IGrpcBackend): { group: ''; kind: 'Service'; name: string; port: number } {
  return { group: '', kind: 'Service', name: backend.serviceName, port: backend.port };
}

/** What a route through a gateway to a backend is, from a `GrpcRoute`'s props, checked. */
export interface GatewayRoute {
  readonly name: string;
  /** The backend's: a route sends calls to Services of its own namespace. */
  readonly namespace: INamespace;
  readonly listener: GrpcGatewayListener | undefined;
  readonly hostnames: readonly string[];
  readonly grpcServices: readonly string[];
}

/** What `gatewayRoute` reads of a `GrpcRouteProps` (stated here: grpc-route.ts imports this module, not the reverse). */
interface RouteProps {
  readonly gateway: IGrpcGateway;
  readonly backend: IGrpcBackend;
  readonly name?: string;
  readonly listener?: string;
  readonly hostnames?: readonly string[];
  readonly grpcServices?: readonly string[];
}

/**
 * A route's name, namespace, listener, hostnames and services from a `GrpcRoute`'s props; the gateway must admit
 * routes from the backend's namespace.
 */
export function gatewayRoute(subject: ValidationSubject, props: RouteProps): GatewayRoute {
  const { gateway, backend } = props;
  const name = dnsSubdomain(subject, 'name', props.name ?? backend.serviceName);
  const namespace = backend.namespace;
  if (!gateway.admitsRoutesFrom(namespace)) {
    throw invalidProp(
      subject,
      'backend.namespace',
      namespace.name,
      `a namespace whose routes Gateway ${gateway.namespace.name}/${gateway.name} admits`,
    );
  }
  const listener = attachedListener(subject, props.listener, gateway);
  return {
    name,
    namespace,
    listener,
    hostnames: routeHostnames(subject, props.hostnames, listener),
    grpcServices: protoServiceNames(subject, 'grpcServices', props.grpcServices ?? [], 0),
  };
}

/** A route's parentRef to the gateway, at its listener where it has one. */
export function gatewayParentRef(gateway: IGrpcGateway, listener: GrpcGatewayListener | undefined) {
  return {
    group: GATEWAY_API_GROUP,
    kind: 'Gateway',
    name: gateway.name,
    namespace: gateway.namespace.name,
    sectionName: listener?.name,
  } satisfies gw.GrpcRouteSpecParentRefs & gw.HttpRouteSpecParentRefs;
}

/** A GRPCRoute rule's matches for calls to the listed services; none (every call) for an empty list. */
export function grpcServiceMatches(grpcServices: readonly string[]): gw.GrpcRouteSpecRulesMatches[] | undefined {
  return grpcServices.length === 0
    ? undefined
    : grpcServices.map((service) => ({ method: { type: gw.GrpcRouteSpecRulesMatchesMethodType.EXACT, service } }));
}

/** The listener a route attaches to: the named one, or the gateway's only one; undefined where it names none. */
function attachedListener(
  subject: ValidationSubject,
  name: string | undefined,
  gateway: IGrpcGateway,
): GrpcGatewayListener | undefined {
  const names = gateway.listeners.map((listener) => listener.name);
  if (name === undefined) {
    if (gateway.listeners.length > 1) {
      throw invalidProp(subject, 'listener', name, `one of the gateway's listeners (${names.join(', ')})`);
    }
    return gateway.listeners[0];
  }
  const listener = gateway.listeners.find((candidate) => candidate.name === name);
  if (listener === undefined) {
    if (gateway.listeners.length === 0) return { name: dnsSubdomain(subject, 'listener', name) };
    throw invalidProp(subject, 'listener', name, `one of the gateway's listeners (${names.join(', ')})`);
  }
  return listener;
}

/** The route's hostnames: given ones, each matching the listener's host, or the listener's own single host. */
function routeHostnames(
  subject: ValidationSubject,
  hostnames: readonly string[] | undefined,
  listener: GrpcGatewayListener | undefined,
): string[] {
  const listenerHost = listener?.hostname;
  if (hostnames === undefined) {
    if (listenerHost === undefined || listenerHost.startsWith('*.')) {
      throw invalidProp(
        subject,
        'hostnames',
        hostnames,
        `the hosts this route serves: the listener serves ${listenerHost ?? 'any host'}, which other routes share`,
      );
    }
    return [listenerHost];
  }
  if (!Array.isArray(hostnames) || hostnames.length === 0 || hostnames.length > 16)
    throw invalidProp(subject, 'hostnames', hostnames, 'a list of 1 to 16 hostnames');
  return listOf(subject, 'hostnames', hostnames, (hostname, prop) => {
    gatewayHostname(subject, prop, hostname);
    if (listenerHost !== undefined && !hostnamesIntersect(listenerHost, hostname))
      throw invalidProp(subject, prop, hostname, `a hostname that matches the listener's (${listenerHost})`);
    return hostname;
  });
}

/**
 * A Gateway's HTTPS listener for one host: TLS terminated with the Secret in the Gateway's namespace (a
 * `certificateRefs` entry without a namespace), admitting routes of one kind from one namespace.
 */
export function httpsListener(listener: {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly tlsSecretName: string;
  readonly gatewayNamespace: INamespace;
  readonly routeNamespace: INamespace;
  readonly routeKind: 'GRPCRoute' | 'HTTPRoute';
}): gw.GatewaySpecListeners {
  const sameNamespace = listener.routeNamespace.name === listener.gatewayNamespace.name;
  return {
    name: listener.name,
    hostname: listener.host,
    port: listener.port,
    protocol: 'HTTPS',
    tls: {
      mode: gw.GatewaySpecListenersTlsMode.TERMINATE,
      certificateRefs: [{ group: '', kind: 'Secret', name: listener.tlsSecretName }],
    },
    allowedRoutes: {
      namespaces: sameNamespace
        ? { from: gw.GatewaySpecListenersAllowedRoutesNamespacesFrom.SAME }
        : {
            from: gw.GatewaySpecListenersAllowedRoutesNamespacesFrom.SELECTOR,
            // Every namespace carries its own name as this label (Kubernetes >= 1.22).
            selector: { matchLabels: { 'kubernetes.io/metadata.name': listener.routeNamespace.name } },
          },
      kinds: [{ group: GATEWAY_API_GROUP, kind: listener.routeKind }],
    },
  };
}
