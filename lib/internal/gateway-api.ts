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

/** The listener a route attaches to: the named one, or the gateway's only one; undefined where it names none. */
export function attachedListener(
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
export function routeHostnames(
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
