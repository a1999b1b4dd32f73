/**
 * The graph `grpc-lb-check`'s rules read, built once from the input by extractors, one per concern (in the style of
 * kube-linter's pkg/extract): objects.ts (references, nearest copies), mesh.ts (namespaces and injection),
 * workloads.ts (pod templates, scale), services.ts (ports, selected pods, gRPC ports), clients.ts (targets in env and
 * args), routes.ts (Istio, Gateway API, Ingress, NGINX VirtualServer), gateways.ts (Istio gateways, platform gateways, L7 proxies).
 */
import type { ManifestObject, SourceLocation } from '../input';
import { findClients, type ClientCall } from './clients';
import { istioGateways, l7ProxyOf, platformGateways, type IstioGatewayNode, type PlatformGateway } from './gateways';
import { list, record, strings, text } from './json';
import { podMesh, type NamespaceNode } from './mesh';
import { nearest, ObjectIndex, push, type ObjectRef } from './objects';
import {
  destinationRuleRoutes,
  gatewayApiRoutes,
  ingressRoutes,
  removedHttpRouteRoutes,
  virtualServerRoutes,
  virtualServiceRoutes,
  type RouteParent,
  type RouteTarget,
} from './routes';
import { buildServices, markDeclaredGrpcPorts, servicePort, type ServiceNode } from './services';
import { applyAutoscalers, ownScale, POD_TEMPLATE_PATHS, podTemplate, type Workload } from './workloads';
import type { KubeObject } from '../input';

export type { ClientCall, TargetScheme } from './clients';
export { parseTarget, PER_CALL_POLICIES, serviceName } from './clients';
export type { IstioGatewayNode, PlatformGateway } from './gateways';
export { WELL_KNOWN_GATEWAYS } from './gateways';
export type { NamespaceNode } from './mesh';
export { inCallBalancingMesh, ISTIO_USE_WAYPOINT, optsOutOfIstioSidecar } from './mesh';
export type { ObjectRef } from './objects';
export type { RouteParent, RouteTarget } from './routes';
export { INGRESS_NGINX_CONTROLLER } from './routes';
export type { Backend, ServiceNode, ServicePortNode } from './services';
export { backends, carriedBecause, carriedProtocol, namesGrpc, selects, servicePort, targetOf } from './services';
export type { ContainerNode, ContainerPort, PodMesh, PodTemplate, Scale, Workload } from './workloads';
export { combinedScale, containerPortOf } from './workloads';

/** Where a named Secret comes from: the Secret itself, or an object that writes it (cert-manager, external-secrets). */
export interface SecretSource {
  readonly ref: ObjectRef;
  readonly namespace: string;
  readonly name: string;
}

export interface GraphOptions {
  /** The namespace objects without one are applied to (`kubectl apply -n`). @default 'default' */
  readonly namespace?: string;
}

export interface Graph {
  readonly objects: readonly ObjectRef[];
  readonly raw: readonly KubeObject[];
  readonly namespaces: ReadonlyMap<string, NamespaceNode[]>;
  readonly workloads: readonly Workload[];
  readonly services: readonly ServiceNode[];
  readonly clients: readonly ClientCall[];
  readonly routes: readonly RouteTarget[];
  /** The Gateways Gateway API routes attach to, found or not. */
  readonly routeParents: readonly RouteParent[];
  readonly istioGateways: readonly IstioGatewayNode[];
  /** Gateway pods installed from outside the input (Istio's defaults, an IstioOperator, a Helm release). */
  readonly platformGateways: readonly PlatformGateway[];
  readonly secrets: readonly SecretSource[];
  /** Hosts Istio ServiceEntries in the input declare. */
  readonly serviceEntryHosts: ReadonlySet<string>;
  /** The Service of that name and namespace (the copy nearest `from` when the input repeats itself). */
  findService(name: string, namespace: string, from: SourceLocation): ServiceNode | undefined;
  /** The Namespace object of that name nearest `from`, if the input has one. */
  findNamespace(name: string, from: SourceLocation): NamespaceNode | undefined;
}

const GATEWAY_API = 'gateway.networking.k8s.io';
const ISTIO_NETWORKING = 'networking.istio.io';

function secretSources(index: ObjectIndex): SecretSource[] {
  const source = (ref: ObjectRef, name: string | undefined) =>
    name === undefined ? [] : [{ ref, namespace: ref.namespace as string, name }];
  return [
    ...index.of('Secret', '').flatMap(({ ref }) => source(ref, ref.name)),
    ...index
      .of('Certificate', 'cert-manager.io')
      .flatMap(({ ref, object }) => source(ref, text(record(object.spec).secretName))),
    ...index
      .of('ExternalSecret', 'external-secrets.io')
      .flatMap(({ ref, object }) => source(ref, text(record(record(object.spec).target).name) ?? ref.name)),
    ...index.of('SealedSecret', 'bitnami.com').flatMap(({ ref }) => source(ref, ref.name)),
  ];
}

/** Records on each Service port the clients and routes that carry gRPC to it. */
function markCallerGrpcPorts(clients: readonly ClientCall[], routes: readonly RouteTarget[]): void {
  for (const call of clients)
    call.port?.grpcBecause.push(`the gRPC client ${call.workload.ref.kind} ${call.workload.ref.name}`);
  for (const route of routes) {
    if (route.carriesGrpc && route.service !== undefined)
      servicePort(route.service, route.port)?.grpcBecause.push(`${route.route.kind} ${route.route.name}`);
  }
}

/** Builds the graph of `input`. */
export function buildGraph(input: readonly ManifestObject[], options: GraphOptions = {}): Graph {
  const index = new ObjectIndex(input, options.namespace ?? 'default');

  const namespaces = new Map<string, NamespaceNode[]>();
  for (const { ref, object } of index.of('Namespace', '')) {
    const metadata = record(object.metadata);
    push(namespaces, ref.name, { ref, labels: strings(metadata.labels), annotations: strings(metadata.annotations) });
  }
  const findNamespace = (name: string, from: SourceLocation) => nearest(namespaces.get(name), from);

  const workloads: Workload[] = Object.keys(POD_TEMPLATE_PATHS).flatMap((kind) =>
    index.of(kind).flatMap(({ ref, object }) => {
      const pod = podTemplate(object as unknown as KubeObject);
      if (pod === undefined || ref.namespace === undefined) return [];
      const mesh = podMesh(pod, findNamespace(ref.namespace, ref.location));
      return [{ ref, namespace: ref.namespace, pod, mesh, scale: ownScale(ref, object) }];
    }),
  );
  workloads.sort((a, b) => a.ref.index - b.ref.index);
  applyAutoscalers(workloads, index.of('HorizontalPodAutoscaler', 'autoscaling'), index.of('ScaledObject', 'keda.sh'));

  const services = buildServices(index.of('Service', ''), workloads);
  const servicesByKey = new Map<string, ServiceNode[]>();
  for (const service of services) push(servicesByKey, `${service.namespace}/${service.name}`, service);
  const findService = (name: string, namespace: string, from: SourceLocation) =>
    nearest(servicesByKey.get(`${namespace}/${name}`), from);
  markDeclaredGrpcPorts(services);

  const gateways = istioGateways(index.of('Gateway', ISTIO_NETWORKING), workloads);
  for (const w of workloads) w.l7Proxy ??= l7ProxyOf(w.pod);

  const clients = findClients(workloads, findService);
  const gatewayApi = gatewayApiRoutes(
    [...index.of('HTTPRoute', GATEWAY_API), ...index.of('GRPCRoute', GATEWAY_API)],
    index.of('Gateway', GATEWAY_API),
    index.of('GatewayClass', GATEWAY_API),
    findService,
  );
  const routes = [
    ...virtualServiceRoutes(index.of('VirtualService', ISTIO_NETWORKING), findService),
    ...destinationRuleRoutes(index.of('DestinationRule', ISTIO_NETWORKING), findService),
    ...gatewayApi.targets,
    ...removedHttpRouteRoutes(index.of('HTTPRoute', 'networking.x-k8s.io'), findService),
    ...ingressRoutes(index.of('Ingress'), index.of('IngressClass', 'networking.k8s.io'), findService),
    ...virtualServerRoutes(index.of('VirtualServer', 'k8s.nginx.org'), findService),
  ];
  markCallerGrpcPorts(clients, routes);
  return {
    objects: index.refs,
    raw: input.map((m) => m.object),
    namespaces,
    workloads,
    services,
    clients,
    routes,
    routeParents: gatewayApi.parents,
    istioGateways: gateways,
    platformGateways: platformGateways(
      index.of('IstioOperator', 'install.istio.io'),
      index.of('HelmRelease', 'helm.toolkit.fluxcd.io'),
      index.of('Application', 'argoproj.io'),
    ),
    secrets: secretSources(index),
    serviceEntryHosts: new Set(
      index
        .of('ServiceEntry', ISTIO_NETWORKING)
        .flatMap(({ object }) => list(record(object.spec).hosts))
        .filter((h): h is string => typeof h === 'string'),
    ),
    findService,
    findNamespace,
  };
}
