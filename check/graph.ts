/**
 * The graph `grpc-lb-check`'s rules read: Services and the pod templates they select (labels, ports, probes), the
 * namespaces and their mesh injection, the routes of Istio, Gateway API and Ingress, and the gRPC targets clients
 * name in their env and args. Built once from the input; the input is untrusted JSON, so every field is read
 * through the small readers below and a field of the wrong type counts as absent (the schema check reports it).
 */
import * as path from 'node:path';
import { declaresGrpc, type DataPlane } from 'grpc-k8s-lb-common';
import type { KubeObject, ManifestObject, SourceLocation } from './input';

/** An object of the input, as findings name it. */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  /** Unset for cluster-scoped kinds. */
  readonly namespace?: string;
  readonly location: SourceLocation;
  /** Position in the input (0-based), as the schema validation numbers objects. */
  readonly index: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Readers for untrusted JSON.

type Json = Record<string, unknown>;
const record = (value: unknown): Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const integer = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) ? value : undefined;
const strings = (value: unknown): Record<string, string> =>
  Object.fromEntries(
    Object.entries(record(value)).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
/** A port given as a number or a name (targetPort, probe ports, Ingress backend ports). */
const portValue = (value: unknown): number | string | undefined => integer(value) ?? text(value);

/** Every key of `selector` has that value in `labels`; an empty selector selects nothing here. */
export function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(selector);
  return keys.length > 0 && keys.every((key) => labels[key] === selector[key]);
}

// ---------------------------------------------------------------------------------------------------------------
// Namespaces and meshes.

export interface NamespaceNode {
  readonly ref: ObjectRef;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** What proxies a pod's outbound calls, as far as the input shows. */
export interface PodMesh {
  /** `istio-sidecar`: an Istio sidecar; `linkerd`: a Linkerd proxy; `istio-ambient`: ztunnel (L4 only); `none`. */
  readonly kind: 'istio-sidecar' | 'linkerd' | 'istio-ambient' | 'none';
  /** What decided it (a label, an annotation, a container), for messages. */
  readonly because: string;
  /** False when the pod's namespace is not in the input, so namespace-wide injection could not be seen. */
  readonly known: boolean;
}

const ISTIO_INJECT = 'sidecar.istio.io/inject';
const ISTIO_REV = 'istio.io/rev';
const ISTIO_NAMESPACE_INJECTION = 'istio-injection';
const ISTIO_DATAPLANE_MODE = 'istio.io/dataplane-mode';
/** Istio ambient: a Service or namespace with this label has its traffic sent through a waypoint (L7). */
export const ISTIO_USE_WAYPOINT = 'istio.io/use-waypoint';
const LINKERD_INJECT = 'linkerd.io/inject';
const ISTIO_PROXY_CONTAINER = 'istio-proxy';
const LINKERD_PROXY_CONTAINER = 'linkerd-proxy';

/**
 * Whether Istio injects a sidecar (istio/istio 1.30.3 manifests/charts/istio-control/istio-discovery/templates/
 * mutatingwebhook.yaml): a namespace labelled `istio-injection=enabled`, or `istio.io/rev` without that label,
 * unless the pod says `sidecar.istio.io/inject: "false"`; in an unlabelled namespace, a pod labelled
 * `sidecar.istio.io/inject: "true"` or `istio.io/rev`.
 */
function istioInjection(pod: PodTemplate, namespace: NamespaceNode | undefined): string | undefined {
  const optOut = pod.labels[ISTIO_INJECT] === 'false' || pod.annotations[ISTIO_INJECT] === 'false';
  const nsInjection = namespace?.labels[ISTIO_NAMESPACE_INJECTION];
  const nsRevision = namespace?.labels[ISTIO_REV];
  if (nsInjection === 'enabled') return optOut ? undefined : `namespace label ${ISTIO_NAMESPACE_INJECTION}=enabled`;
  if (nsInjection === undefined && nsRevision !== undefined)
    return optOut ? undefined : `namespace label ${ISTIO_REV}=${nsRevision}`;
  if (nsInjection === undefined && nsRevision === undefined) {
    if (pod.labels[ISTIO_INJECT] === 'true') return `pod label ${ISTIO_INJECT}=true`;
    if (pod.labels[ISTIO_REV] !== undefined && !optOut) return `pod label ${ISTIO_REV}=${pod.labels[ISTIO_REV]}`;
  }
  return undefined;
}

/**
 * Whether Linkerd injects its proxy (linkerd/linkerd2 version-2.18 pkg/inject/report.go disabledByAnnotation):
 * `linkerd.io/inject: enabled` (or `ingress`) on the pod, or on the namespace unless the pod says `disabled`.
 */
function linkerdInjection(pod: PodTemplate, namespace: NamespaceNode | undefined): string | undefined {
  const injecting = (value: string | undefined) => value === 'enabled' || value === 'ingress';
  const podValue = pod.annotations[LINKERD_INJECT];
  if (injecting(podValue)) return `pod annotation ${LINKERD_INJECT}: ${podValue}`;
  if (podValue === undefined && injecting(namespace?.annotations[LINKERD_INJECT]))
    return `namespace annotation ${LINKERD_INJECT}: ${namespace?.annotations[LINKERD_INJECT]}`;
  return undefined;
}

function podMesh(pod: PodTemplate, namespace: NamespaceNode | undefined): PodMesh {
  const known = namespace !== undefined;
  // Already injected (istioctl kube-inject, linkerd inject output): the proxy is in the template.
  if (pod.containers.some((c) => c.name === ISTIO_PROXY_CONTAINER && c.image !== 'auto'))
    return { kind: 'istio-sidecar', because: `container ${ISTIO_PROXY_CONTAINER}`, known: true };
  if (pod.containers.some((c) => c.name === LINKERD_PROXY_CONTAINER))
    return { kind: 'linkerd', because: `container ${LINKERD_PROXY_CONTAINER}`, known: true };
  const istio = istioInjection(pod, namespace);
  if (istio !== undefined) return { kind: 'istio-sidecar', because: istio, known };
  const linkerd = linkerdInjection(pod, namespace);
  if (linkerd !== undefined) return { kind: 'linkerd', because: linkerd, known };
  // Istio ambient (istio.io docs, Ambient data plane): the namespace or pod label enrols the pod; `none` opts out.
  const mode = pod.labels[ISTIO_DATAPLANE_MODE] ?? namespace?.labels[ISTIO_DATAPLANE_MODE];
  if (mode === 'ambient') return { kind: 'istio-ambient', because: `label ${ISTIO_DATAPLANE_MODE}=ambient`, known };
  return {
    kind: 'none',
    because: known ? `namespace ${namespace.ref.name} has no mesh injection` : 'no mesh injection on the pod',
    known,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Workloads.

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
}

export interface ContainerNode {
  readonly name: string;
  readonly image?: string;
  readonly ports: readonly ContainerPort[];
  /** Literal environment (`value`, not `valueFrom`). */
  readonly env: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  /** `command` then `args`. */
  readonly argv: readonly string[];
  readonly hasReadinessProbe: boolean;
  /** Ports (number or name) of the container's gRPC probes (liveness, readiness, startup). */
  readonly grpcProbePorts: ReadonlyArray<number | string>;
  /** Seconds of a `preStop` `sleep` (exec `sleep N` or the `sleep` action), if any. */
  readonly preStopSleepSeconds?: number;
  /** The path of the container in its object, e.g. `spec.template.spec.containers[0]`. */
  readonly path: string;
}

export interface PodTemplate {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly containers: readonly ContainerNode[];
  /** @default 30 (the Kubernetes default) */
  readonly terminationGracePeriodSeconds: number;
  readonly terminationGracePeriodSet: boolean;
  /** The path of the pod spec in its object, e.g. `spec.template.spec`. */
  readonly specPath: string;
}

export interface Workload {
  readonly ref: ObjectRef;
  readonly namespace: string;
  readonly pod: PodTemplate;
  readonly mesh: PodMesh;
  /** Set when the pods are an L7 proxy that balances each call itself (a gateway or an ingress controller). */
  l7Proxy?: string;
}

/** Where each workload kind keeps its pod template. */
const POD_TEMPLATE_PATHS: Record<string, readonly string[]> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
  // Argo Rollouts keeps a Deployment-shaped template.
  Rollout: ['spec', 'template'],
};

function probe(container: Json, kind: string): Json | undefined {
  const value = container[kind];
  return typeof value === 'object' && value !== null ? record(value) : undefined;
}

function preStopSleep(container: Json): number | undefined {
  const preStop = record(record(container.lifecycle).preStop);
  const sleepAction = integer(record(preStop.sleep).seconds);
  if (sleepAction !== undefined) return sleepAction;
  const command = list(record(preStop.exec).command).map(String);
  // `sleep 20`, or a shell running one: the last `sleep N` in the command line.
  const match = /(?:^|\s|;|&)sleep\s+(\d+(?:\.\d+)?)s?(?:\s|;|&|$)/.exec(command.join(' '));
  return match ? Number(match[1]) : undefined;
}

function containerNode(value: unknown, containerPath: string): ContainerNode {
  const container = record(value);
  const probes = ['livenessProbe', 'readinessProbe', 'startupProbe'].map((kind) => probe(container, kind));
  return {
    name: text(container.name) ?? '',
    image: text(container.image),
    ports: list(container.ports)
      .map(record)
      .flatMap((p) =>
        integer(p.containerPort) === undefined
          ? []
          : [{ name: text(p.name), containerPort: integer(p.containerPort) as number }],
      ),
    env: list(container.env)
      .map(record)
      .flatMap((e) =>
        text(e.name) !== undefined && text(e.value) !== undefined
          ? [{ name: e.name as string, value: e.value as string }]
          : [],
      ),
    argv: [...list(container.command), ...list(container.args)].filter((a): a is string => typeof a === 'string'),
    hasReadinessProbe: probes[1] !== undefined,
    grpcProbePorts: probes.flatMap((p) => {
      const port = p === undefined ? undefined : portValue(record(p.grpc).port);
      return port === undefined ? [] : [port];
    }),
    preStopSleepSeconds: preStopSleep(container),
    path: containerPath,
  };
}

function podTemplate(object: KubeObject): PodTemplate | undefined {
  const templatePath = POD_TEMPLATE_PATHS[object.kind];
  if (templatePath === undefined) return undefined;
  const template = templatePath.reduce<Json>((at, key) => record(at[key]), object as unknown as Json);
  const metadata = record(template.metadata);
  const spec = record(template.spec);
  const specPath = [...templatePath, 'spec'].join('.');
  // Native sidecars (init containers that keep running) serve traffic like containers.
  const initSidecars = list(spec.initContainers).filter((c) => record(c).restartPolicy === 'Always');
  return {
    labels: strings(metadata.labels),
    annotations: strings(metadata.annotations),
    containers: [
      ...list(spec.containers).map((c, i) => containerNode(c, `${specPath}.containers[${i}]`)),
      ...initSidecars.map((c) =>
        containerNode(c, `${specPath}.initContainers[${list(spec.initContainers).indexOf(c)}]`),
      ),
    ],
    terminationGracePeriodSeconds: integer(spec.terminationGracePeriodSeconds) ?? 30,
    terminationGracePeriodSet: integer(spec.terminationGracePeriodSeconds) !== undefined,
    specPath,
  };
}

/** A container port given by number or name, resolved against a container. */
export function containerPortOf(container: ContainerNode, port: number | string): ContainerPort | undefined {
  return container.ports.find((p) => (typeof port === 'number' ? p.containerPort === port : p.name === port));
}

// ---------------------------------------------------------------------------------------------------------------
// Services.

export interface ServicePortNode {
  readonly name?: string;
  readonly port: number;
  readonly appProtocol?: string;
  readonly protocol: string;
  /** @default the port number */
  readonly targetPort: number | string;
  readonly path: string;
  /** Why the port carries gRPC, when anything says so (filled while the graph is built). */
  readonly grpcBecause: string[];
}

export interface ServiceNode {
  readonly ref: ObjectRef;
  readonly namespace: string;
  readonly name: string;
  readonly type: string;
  readonly headless: boolean;
  readonly selector: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly ports: readonly ServicePortNode[];
  /** Workloads whose pod template the selector matches. */
  readonly workloads: Workload[];
}

/** The containers of `service`'s pods that serve `port`, with their workload. */
export function backends(
  service: ServiceNode,
  port: ServicePortNode,
): Array<{ workload: Workload; container: ContainerNode }> {
  return service.workloads.flatMap((workload) =>
    workload.pod.containers.flatMap((container) =>
      containerPortOf(container, port.targetPort) ? [{ workload, container }] : [],
    ),
  );
}

/** The Service port a reference names: by number, by name, or the only port when none is named. */
export function servicePort(service: ServiceNode, port: number | string | undefined): ServicePortNode | undefined {
  if (port === undefined) return service.ports.length === 1 ? service.ports[0] : undefined;
  return service.ports.find((p) => (typeof port === 'number' ? p.port === port : p.name === port));
}

// ---------------------------------------------------------------------------------------------------------------
// Clients: the gRPC targets containers name.

/** How a client finds the addresses it connects to. */
export type TargetScheme = 'dns' | 'kubernetes' | 'xds' | 'passthrough' | 'url' | 'host-port';

export interface ClientCall {
  readonly workload: Workload;
  readonly container: ContainerNode;
  /** Where the target is written: `env TARGET`, `args[2]`, `--backend`. */
  readonly where: string;
  readonly target: string;
  readonly scheme: TargetScheme;
  readonly service: ServiceNode;
  readonly port?: ServicePortNode;
  /** The load-balancing policy the container names (`round_robin`, …), if it names one. */
  readonly lbPolicy?: string;
}

/** Policies that choose a backend per call; `pick_first` (gRPC's default) sends every call down one connection. */
export const PER_CALL_POLICIES = [
  'round_robin',
  'weighted_round_robin',
  'least_request',
  'least_request_experimental',
  'ring_hash',
];
const POLICY_PATTERN = /\b(round_robin|weighted_round_robin|least_request(?:_experimental)?|ring_hash|pick_first)\b/g;

/** The policy a container names anywhere in its env or args (a per-call one wins over `pick_first`). */
function namedPolicy(container: ContainerNode): string | undefined {
  const named = [...container.env.map((e) => e.value), ...container.argv].flatMap((value) =>
    [...value.matchAll(POLICY_PATTERN)].map((m) => m[1]),
  );
  return named.find((policy) => policy !== 'pick_first') ?? named[0];
}

interface ParsedTarget {
  readonly scheme: TargetScheme;
  readonly host: string;
  readonly port?: number | string;
}

const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const URL_DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443 };
// grpc-js resolver-dns.ts DEFAULT_PORT (1.14.3): a dns: target without a port dials 443.
const GRPC_DNS_DEFAULT_PORT = 443;

function splitHostPort(hostPort: string): { host: string; port?: number | string } | undefined {
  const match = /^([^:/\s]+)(?::([A-Za-z0-9-]+))?$/.exec(hostPort);
  if (match === null) return undefined;
  const port = match[2] === undefined ? undefined : /^\d+$/.test(match[2]) ? Number(match[2]) : match[2];
  return { host: match[1].toLowerCase(), port };
}

/** A gRPC target (`dns:///h:p`, `kubernetes:///svc.ns:port`, `xds:///…`), a URL, or `host:port`; else undefined. */
export function parseTarget(value: string): ParsedTarget | undefined {
  const uri = /^(dns|kubernetes|k8s|xds|passthrough):(?:\/\/[^/]*\/)?\/?(.+)$/i.exec(value.trim());
  if (uri !== null) {
    const scheme = uri[1].toLowerCase() === 'k8s' ? 'kubernetes' : (uri[1].toLowerCase() as TargetScheme);
    const hostPort = splitHostPort(uri[2]);
    if (hostPort === undefined) return undefined;
    return {
      scheme,
      host: hostPort.host,
      port: hostPort.port ?? (scheme === 'dns' ? GRPC_DNS_DEFAULT_PORT : undefined),
    };
  }
  const url = /^(grpcs?|h2c|https?):\/\/([^/?#]+)/i.exec(value.trim());
  if (url !== null) {
    const hostPort = splitHostPort(url[2]);
    if (hostPort === undefined) return undefined;
    return { scheme: 'url', host: hostPort.host, port: hostPort.port ?? URL_DEFAULT_PORTS[url[1].toLowerCase()] };
  }
  const bare = splitHostPort(value.trim());
  if (bare === undefined || typeof bare.port !== 'number') return undefined;
  return { scheme: 'host-port', ...bare };
}

/**
 * The Service a DNS name means from a pod in `namespace`: `name`, `name.ns`, `name.ns.svc`, `name.ns.svc.<domain>`
 * (the pod's DNS search path), or undefined for any other name.
 */
export function serviceName(host: string, namespace: string): { name: string; namespace: string } | undefined {
  if (!DNS_NAME.test(host)) return undefined;
  const labels = host.split('.');
  if (labels.length === 1) return { name: labels[0], namespace };
  if (labels.length === 2 || labels[2] === 'svc') return { name: labels[0], namespace: labels[1] };
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Routes: what names a Service from a gateway, an ingress or a mesh rule.

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
  readonly service?: ServiceNode;
  /** The data plane that forwards through this route to the Service, when it is an L7 proxy in front of it. */
  readonly plane?: DataPlane;
  /** ingress-nginx's backend protocol annotation on the route, for the protocol table. */
  readonly nginxBackendProtocol?: string;
  /** Why the reference cannot name a Service of the input even in principle (Istio's FQDN rule), if so. */
  readonly hostNote?: string;
  /** True when the route carries gRPC by its kind or annotation (GRPCRoute, nginx GRPC/GRPCS). */
  readonly carriesGrpc: boolean;
}

export interface IstioGatewayNode {
  readonly ref: ObjectRef;
  readonly selector: Readonly<Record<string, string>>;
  readonly workloads: Workload[];
  readonly credentials: ReadonlyArray<{ readonly name: string; readonly path: string }>;
}

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
  readonly istioGateways: readonly IstioGatewayNode[];
  readonly secrets: readonly SecretSource[];
  /** Hosts Istio ServiceEntries in the input declare. */
  readonly serviceEntryHosts: ReadonlySet<string>;
  /** The Service of that name and namespace (the copy nearest `from` when the input repeats itself). */
  findService(name: string, namespace: string, from: SourceLocation): ServiceNode | undefined;
  /** The Namespace object of that name nearest `from`, if the input has one. */
  findNamespace(name: string, from: SourceLocation): NamespaceNode | undefined;
}

/** Of several candidates, the one whose file is nearest `from` (same file, then deepest common directory). */
function nearest<T extends { ref: ObjectRef }>(
  candidates: readonly T[] | undefined,
  from: SourceLocation,
): T | undefined {
  if (candidates === undefined || candidates.length <= 1) return candidates?.[0];
  const fromParts = from.file.split(path.sep);
  const closeness = (candidate: T) => {
    if (candidate.ref.location.file === from.file) return Number.MAX_SAFE_INTEGER;
    const parts = candidate.ref.location.file.split(path.sep);
    let shared = 0;
    while (shared < parts.length - 1 && parts[shared] === fromParts[shared]) shared++;
    return shared;
  };
  return candidates.reduce((best, candidate) => (closeness(candidate) > closeness(best) ? candidate : best));
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const values = map.get(key);
  if (values === undefined) map.set(key, [value]);
  else values.push(value);
}

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'IngressClass',
  'GatewayClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'ClusterIssuer',
  'APIService',
  'Node',
  'RuntimeClass',
]);
const group = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '');

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

const NGINX_BACKEND_PROTOCOL = 'nginx.ingress.kubernetes.io/backend-protocol';
const INGRESS_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
/** IngressClass `spec.controller` of ingress-nginx. */
export const INGRESS_NGINX_CONTROLLER = 'k8s.io/ingress-nginx';
const ENVOY_GATEWAY_CONTROLLER = 'gateway.envoyproxy.io/gatewayclass-controller';
const ISTIO_GATEWAY_CONTROLLER = 'istio.io/gateway-controller';

/** Builds the graph of `input`. */
export function buildGraph(input: readonly ManifestObject[], options: GraphOptions = {}): Graph {
  const defaultNamespace = options.namespace ?? 'default';
  const refs: ObjectRef[] = input.map(({ object, location }, index) => {
    const metadata = record(object.metadata);
    const clusterScoped = CLUSTER_SCOPED.has(object.kind);
    return {
      apiVersion: object.apiVersion,
      kind: object.kind,
      name: text(metadata.name) ?? '',
      namespace: clusterScoped ? undefined : (text(metadata.namespace) ?? defaultNamespace),
      location,
      index,
    };
  });
  const raw = input.map((m) => m.object);
  const byKind = (kind: string, apiGroup?: string) =>
    refs.flatMap((ref, i) =>
      ref.kind === kind && (apiGroup === undefined || group(ref.apiVersion) === apiGroup)
        ? [{ ref, object: raw[i] as unknown as Json }]
        : [],
    );

  const namespaces = new Map<string, NamespaceNode[]>();
  for (const { ref, object } of byKind('Namespace', '')) {
    const metadata = record(object.metadata);
    push(namespaces, ref.name, { ref, labels: strings(metadata.labels), annotations: strings(metadata.annotations) });
  }
  const findNamespace = (name: string, from: SourceLocation) => nearest(namespaces.get(name), from);

  const workloads: Workload[] = [];
  refs.forEach((ref, i) => {
    const pod = POD_TEMPLATE_PATHS[ref.kind] === undefined ? undefined : podTemplate(raw[i]);
    if (pod === undefined || ref.namespace === undefined) return;
    workloads.push({
      ref,
      namespace: ref.namespace,
      pod,
      mesh: podMesh(pod, findNamespace(ref.namespace, ref.location)),
    });
  });
  const workloadsByNamespace = new Map<string, Workload[]>();
  for (const workload of workloads) push(workloadsByNamespace, workload.namespace, workload);

  const services: ServiceNode[] = byKind('Service', '').map(({ ref, object }) => {
    const metadata = record(object.metadata);
    const spec = record(object.spec);
    const selector = strings(spec.selector);
    const ports = list(spec.ports).map((value, i): ServicePortNode => {
      const port = record(value);
      return {
        name: text(port.name),
        port: integer(port.port) ?? 0,
        appProtocol: text(port.appProtocol),
        protocol: text(port.protocol) ?? 'TCP',
        targetPort: portValue(port.targetPort) ?? integer(port.port) ?? 0,
        path: `spec.ports[${i}]`,
        grpcBecause: [],
      };
    });
    const candidates = workloadsByNamespace.get(ref.namespace as string) ?? [];
    // The same workload may be in the input more than once (several directories): each Service selects the copies
    // nearest it, one per workload name.
    const selected = candidates.filter((w) => selects(selector, w.pod.labels));
    const byName = new Map<string, Workload[]>();
    for (const w of selected) push(byName, `${w.ref.kind}/${w.ref.name}`, w);
    return {
      ref,
      namespace: ref.namespace as string,
      name: ref.name,
      type: text(spec.type) ?? 'ClusterIP',
      headless: spec.clusterIP === 'None',
      selector,
      labels: strings(metadata.labels),
      annotations: strings(metadata.annotations),
      ports,
      workloads: [...byName.values()].map((copies) => nearest(copies, ref.location) as Workload),
    };
  });
  const servicesByKey = new Map<string, ServiceNode[]>();
  for (const service of services) push(servicesByKey, `${service.namespace}/${service.name}`, service);
  const findService = (name: string, namespace: string, from: SourceLocation) =>
    nearest(servicesByKey.get(`${namespace}/${name}`), from);

  // Istio Gateways: the pods they select are gateway proxies.
  const istioGateways: IstioGatewayNode[] = byKind('Gateway', 'networking.istio.io').map(({ ref, object }) => {
    const spec = record(object.spec);
    const selector = strings(spec.selector);
    const credentials = list(spec.servers).flatMap((server, i) => {
      const tls = record(record(server).tls);
      const names = [text(tls.credentialName), ...list(tls.credentialNames).map(text)];
      return names.flatMap((name, j) =>
        name === undefined
          ? []
          : [{ name, path: `spec.servers[${i}].tls.${j === 0 ? 'credentialName' : `credentialNames[${j - 1}]`}` }],
      );
    });
    // Selectors match pods in every namespace unless istiod scopes them (PILOT_SCOPE_GATEWAY_TO_NAMESPACE; istio/api
    // v1.30.3 networking/v1alpha3/gateway.proto, Gateway.selector).
    const selected = workloads.filter((w) => selects(selector, w.pod.labels));
    for (const w of selected) w.l7Proxy ??= `an Istio gateway (selected by Gateway ${ref.namespace}/${ref.name})`;
    return { ref, selector, workloads: selected, credentials };
  });
  for (const w of workloads) w.l7Proxy ??= l7ProxyOf(w.pod);

  const secrets: SecretSource[] = [];
  for (const { ref } of byKind('Secret', '')) secrets.push({ ref, namespace: ref.namespace as string, name: ref.name });
  for (const { ref, object } of byKind('Certificate', 'cert-manager.io')) {
    const name = text(record(object.spec).secretName);
    if (name !== undefined) secrets.push({ ref, namespace: ref.namespace as string, name });
  }
  for (const { ref, object } of byKind('ExternalSecret', 'external-secrets.io')) {
    secrets.push({
      ref,
      namespace: ref.namespace as string,
      name: text(record(record(object.spec).target).name) ?? ref.name,
    });
  }
  for (const { ref } of byKind('SealedSecret', 'bitnami.com'))
    secrets.push({ ref, namespace: ref.namespace as string, name: ref.name });

  const serviceEntryHosts = new Set(
    byKind('ServiceEntry', 'networking.istio.io').flatMap(({ object }) =>
      list(record(object.spec).hosts).filter((h): h is string => typeof h === 'string'),
    ),
  );
  const clients = findClients(workloads, findService);
  const routes = [
    ...virtualServiceRoutes(byKind('VirtualService', 'networking.istio.io'), findService),
    ...destinationRuleRoutes(byKind('DestinationRule', 'networking.istio.io'), findService),
    ...gatewayApiRoutes(
      [...byKind('HTTPRoute', 'gateway.networking.k8s.io'), ...byKind('GRPCRoute', 'gateway.networking.k8s.io')],
      byKind('Gateway', 'gateway.networking.k8s.io'),
      byKind('GatewayClass', 'gateway.networking.k8s.io'),
      findService,
    ),
    ...ingressRoutes(byKind('Ingress', 'networking.k8s.io'), byKind('IngressClass', 'networking.k8s.io'), findService),
  ];
  markGrpcPorts(services, clients, routes);
  return {
    objects: refs,
    raw,
    namespaces,
    workloads,
    services,
    clients,
    routes,
    istioGateways,
    secrets,
    serviceEntryHosts,
    findService,
    findNamespace,
  };
}

/** What kind of L7 proxy a pod template is, from the marks its installers leave. */
function l7ProxyOf(pod: PodTemplate): string | undefined {
  // Istio's `gateway` injection template turns the pod into a gateway proxy.
  if ((pod.annotations['inject.istio.io/templates'] ?? '').split(',').includes('gateway'))
    return 'an Istio gateway (injection template "gateway")';
  if (pod.labels['gateway.networking.k8s.io/gateway-name'] !== undefined)
    return `the Gateway API gateway ${pod.labels['gateway.networking.k8s.io/gateway-name']}`;
  if (pod.labels['gateway.envoyproxy.io/owning-gateway-name'] !== undefined) return 'an Envoy Gateway proxy';
  if (pod.containers.some((c) => c.argv.some((arg) => arg.endsWith('/nginx-ingress-controller'))))
    return 'the ingress-nginx controller';
  return undefined;
}

/** Names of env vars and flags that say they configure gRPC. */
const GRPC_NAME = /grpc/i;

function findClients(workloads: readonly Workload[], findService: Graph['findService']): ClientCall[] {
  const calls: ClientCall[] = [];
  for (const workload of workloads) {
    for (const container of workload.pod.containers) {
      if (container.name === ISTIO_PROXY_CONTAINER || container.name === LINKERD_PROXY_CONTAINER) continue;
      const lbPolicy = namedPolicy(container);
      const candidates: Array<{ where: string; value: string; namedGrpc: boolean }> = [
        ...container.env.map((e) => ({ where: `env ${e.name}`, value: e.value, namedGrpc: GRPC_NAME.test(e.name) })),
        ...container.argv.map((arg, i) => {
          const flag = /^(--?[A-Za-z0-9_.-]+)=(.*)$/.exec(arg);
          const previous = container.argv[i - 1];
          const flagName = flag?.[1] ?? (previous?.startsWith('-') ? previous : undefined);
          return {
            where: flagName ?? `argv[${i}]`,
            value: flag?.[2] ?? arg,
            namedGrpc: flagName !== undefined && GRPC_NAME.test(flagName),
          };
        }),
      ];
      for (const { where, value, namedGrpc } of candidates) {
        const target = parseTarget(value);
        if (target === undefined) continue;
        const name = serviceName(target.host, workload.namespace);
        if (name === undefined) continue;
        const service = findService(name.name, name.namespace, workload.ref.location);
        if (service === undefined) continue;
        const port = servicePort(service, target.port);
        // Only gRPC calls count: a gRPC scheme, a name saying gRPC, a load-balancing policy, or a gRPC port.
        const grpcScheme = ['dns', 'kubernetes', 'xds'].includes(target.scheme) || /^(grpcs?|h2c):/i.test(value.trim());
        if (!(grpcScheme || namedGrpc || lbPolicy !== undefined || (port !== undefined && declaresGrpc(port))))
          continue;
        if (target.port !== undefined && port === undefined && target.scheme !== 'kubernetes') continue;
        calls.push({ workload, container, where, target: value, scheme: target.scheme, service, port, lbPolicy });
      }
    }
  }
  return calls;
}

type Found = Array<{ ref: ObjectRef; object: Json }>;

function virtualServiceRoutes(virtualServices: Found, findService: Graph['findService']): RouteTarget[] {
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

function destinationRuleRoutes(rules: Found, findService: Graph['findService']): RouteTarget[] {
  return rules.flatMap(({ ref, object }) => {
    const spec = record(object.spec);
    const host = text(spec.host);
    if (host === undefined) return [];
    const { wanted, note } = istioHost(host, ref.namespace as string);
    const service = wanted && !note ? findService(wanted.name, wanted.namespace, ref.location) : undefined;
    const portSettings = list(record(spec.trafficPolicy).portLevelSettings).map((setting) =>
      integer(record(record(setting).port).number),
    );
    const base = { route: ref, written: host, wanted, service, hostNote: note, carriesGrpc: false };
    return [
      { ...base, path: 'spec.host' },
      ...portSettings.flatMap((port, i) =>
        port === undefined ? [] : [{ ...base, path: `spec.trafficPolicy.portLevelSettings[${i}].port`, port }],
      ),
    ];
  });
}

function gatewayApiRoutes(
  routes: Found,
  gateways: Found,
  classes: Found,
  findService: Graph['findService'],
): RouteTarget[] {
  const controllerOf = (className: string) =>
    text(record(classes.find((c) => c.ref.name === className)?.object.spec).controllerName);
  return routes.flatMap(({ ref, object }) => {
    const spec = record(object.spec);
    const grpc = ref.kind === 'GRPCRoute';
    // The data plane: from the parent Gateway's class (`istio` is Istio's built-in class name).
    const parentClasses = list(spec.parentRefs).flatMap((parent) => {
      const p = record(parent);
      const gateway = gateways.find(
        (g) => g.ref.name === text(p.name) && g.ref.namespace === (text(p.namespace) ?? ref.namespace),
      );
      const className = text(record(gateway?.object.spec).gatewayClassName);
      return className === undefined ? [] : [className];
    });
    const plane = parentClasses
      .map((className): DataPlane => {
        const controller = controllerOf(className);
        if (controller === ISTIO_GATEWAY_CONTROLLER || (controller === undefined && className === 'istio'))
          return 'istio-gateway';
        if (controller === ENVOY_GATEWAY_CONTROLLER) return 'envoy-gateway';
        return 'gateway-api';
      })
      .at(0);
    return list(spec.rules).flatMap((rule, i) =>
      list(record(rule).backendRefs).flatMap((backendRef, j) => {
        const backend = record(backendRef);
        if ((text(backend.group) ?? '') !== '' || (text(backend.kind) ?? 'Service') !== 'Service') return [];
        const name = text(backend.name);
        if (name === undefined) return [];
        const wanted = { name, namespace: text(backend.namespace) ?? (ref.namespace as string) };
        const port = integer(backend.port);
        // GRPCRoute backends are gRPC whatever the port says; the protocol table covers HTTPRoutes.
        return [
          {
            route: ref,
            path: `spec.rules[${i}].backendRefs[${j}]`,
            written: name,
            wanted,
            port,
            service: findService(wanted.name, wanted.namespace, ref.location),
            plane: grpc ? undefined : (plane ?? 'gateway-api'),
            carriesGrpc: grpc,
          },
        ];
      }),
    );
  });
}

function ingressRoutes(ingresses: Found, classes: Found, findService: Graph['findService']): RouteTarget[] {
  return ingresses.flatMap(({ ref, object }) => {
    const spec = record(object.spec);
    const annotations = strings(record(object.metadata).annotations);
    const className = text(spec.ingressClassName) ?? annotations[INGRESS_CLASS_ANNOTATION];
    const ingressClass = classes.find((c) => c.ref.name === className);
    const controller = text(record(ingressClass?.object.spec).controller);
    const nginx = controller === INGRESS_NGINX_CONTROLLER || (ingressClass === undefined && className === 'nginx');
    const backendProtocol = annotations[NGINX_BACKEND_PROTOCOL];
    const backendsAt = [
      { backend: record(spec.defaultBackend), path: 'spec.defaultBackend' },
      ...list(spec.rules).flatMap((rule, i) =>
        list(record(record(rule).http).paths).map((p, j) => ({
          backend: record(record(p).backend),
          path: `spec.rules[${i}].http.paths[${j}].backend`,
        })),
      ),
    ];
    return backendsAt.flatMap(({ backend, path: at }) => {
      const service = record(backend.service);
      const name = text(service.name);
      if (name === undefined) return [];
      const port = record(service.port);
      const wanted = { name, namespace: ref.namespace as string };
      return [
        {
          route: ref,
          path: `${at}.service`,
          written: name,
          wanted,
          port: integer(port.number) ?? text(port.name),
          service: findService(name, wanted.namespace, ref.location),
          plane: nginx ? ('ingress-nginx' as const) : undefined,
          nginxBackendProtocol: nginx ? backendProtocol : undefined,
          carriesGrpc: nginx && /^grpcs?$/i.test(backendProtocol ?? ''),
        },
      ];
    });
  });
}

/** Records on each Service port why it carries gRPC. */
function markGrpcPorts(
  services: readonly ServiceNode[],
  clients: readonly ClientCall[],
  routes: readonly RouteTarget[],
): void {
  for (const service of services) {
    for (const port of service.ports) {
      if (port.appProtocol !== undefined && declaresGrpc({ appProtocol: port.appProtocol }))
        port.grpcBecause.push(`appProtocol "${port.appProtocol}"`);
      else if (declaresGrpc({ name: port.name })) port.grpcBecause.push(`port name "${port.name}"`);
      for (const { workload, container } of backends(service, port)) {
        const containerPort = containerPortOf(container, port.targetPort);
        if (container.grpcProbePorts.some((p) => containerPortOf(container, p) === containerPort)) {
          port.grpcBecause.push(`the gRPC probe of ${workload.ref.kind} ${workload.ref.name}`);
        } else if (containerPort?.name !== undefined && declaresGrpc({ name: containerPort.name })) {
          port.grpcBecause.push(`container port "${containerPort.name}" of ${workload.ref.kind} ${workload.ref.name}`);
        }
      }
    }
  }
  for (const call of clients)
    call.port?.grpcBecause.push(`the gRPC client ${call.workload.ref.kind} ${call.workload.ref.name}`);
  for (const route of routes) {
    if (route.carriesGrpc && route.service !== undefined)
      servicePort(route.service, route.port)?.grpcBecause.push(`${route.route.kind} ${route.route.name}`);
  }
}
