/**
 * Services: their ports, the workloads their selectors match, which container each port reaches (by name, by a
 * declared number, or by a number the container serves without declaring it), and why a port carries gRPC.
 */
import { declaresGrpc } from 'grpc-k8s-lb-common';
import { integer, list, portValue, record, strings, text } from './json';
import { ISTIO_PROXY_CONTAINER, LINKERD_PROXY_CONTAINER } from './mesh';
import { nearest, push, type Found, type ObjectRef } from './objects';
import { containerPortOf, type ContainerNode, type Workload } from './workloads';

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

/** Every key of `selector` has that value in `labels`; an empty selector selects nothing here. */
export function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(selector);
  return keys.length > 0 && keys.every((key) => labels[key] === selector[key]);
}

/** A name that says gRPC: Istio's `grpc…` prefix, `h2c`, or a `grpc` token anywhere (`otlp-grpc`, `grpclb`). */
export function namesGrpc(name: string | undefined): boolean {
  return name !== undefined && (declaresGrpc({ name }) || /(^|[-_.])grpc/i.test(name));
}

const isAppContainer = (c: ContainerNode) => c.name !== ISTIO_PROXY_CONTAINER && c.name !== LINKERD_PROXY_CONTAINER;

/** The container a Service port's targetPort reaches in a workload's pods, and the port number there. */
export interface Backend {
  readonly workload: Workload;
  readonly container: ContainerNode;
  readonly containerPort: number;
  /** False when the container serves the number without declaring it (Kubernetes needs no declaration for numbers). */
  readonly declared: boolean;
}

/**
 * The container `targetPort` reaches in `workload`: the one declaring that name or number; for a number nobody
 * declares, the one whose flags serve it, else the only application container (a numeric targetPort needs no
 * declared port: the kubelet forwards to the pod IP and port).
 */
export function targetOf(workload: Workload, targetPort: number | string): Backend | undefined {
  for (const container of workload.pod.containers) {
    const declared = containerPortOf(container, targetPort);
    if (declared) return { workload, container, containerPort: declared.containerPort, declared: true };
  }
  if (typeof targetPort === 'string') return undefined;
  const apps = workload.pod.containers.filter(isAppContainer);
  const serving = apps.find((c) => c.grpcListenPorts.some((p) => p.port === targetPort));
  const container = serving ?? (apps.length === 1 ? apps[0] : undefined);
  return container && { workload, container, containerPort: targetPort, declared: false };
}

/** The containers of `service`'s pods that serve `port`. */
export function backends(service: ServiceNode, port: ServicePortNode): Backend[] {
  return service.workloads.flatMap((workload) => {
    const backend = targetOf(workload, port.targetPort);
    return backend ? [backend] : [];
  });
}

/** The Service port a reference names: by number, by name, or the only port when none is named. */
export function servicePort(service: ServiceNode, port: number | string | undefined): ServicePortNode | undefined {
  if (port === undefined) return service.ports.length === 1 ? service.ports[0] : undefined;
  return service.ports.find((p) => (typeof port === 'number' ? p.port === port : p.name === port));
}

/** The Services of the input, each with the workloads of its namespace its selector matches. */
export function buildServices(found: readonly Found[], workloads: readonly Workload[]): ServiceNode[] {
  const workloadsByNamespace = new Map<string, Workload[]>();
  for (const workload of workloads) push(workloadsByNamespace, workload.namespace, workload);
  return found.map(({ ref, object }) => {
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
    // The same workload may be in the input more than once (several directories): each Service selects the copies
    // nearest it, one per workload name.
    const selected = (workloadsByNamespace.get(ref.namespace as string) ?? []).filter((w) =>
      selects(selector, w.pod.labels),
    );
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
}

/** Whether the port's own appProtocol says HTTP/2 to some data plane (`grpc`, `http2`, `kubernetes.io/h2c`, …). */
function appProtocolDeclaresHttp2(port: ServicePortNode): boolean {
  return port.appProtocol !== undefined && declaresGrpc({ appProtocol: port.appProtocol });
}

/**
 * What a port carries: gRPC, or HTTP/2 when all that says so is an HTTP/2 appProtocol without gRPC in it
 * (`kubernetes.io/h2c`, `http2`). Either way its clients multiplex their calls on long-lived connections, which is
 * what the load-balancing rules are about; the word only has to be true.
 */
export function carriedProtocol(port: ServicePortNode): 'gRPC' | 'HTTP/2' {
  const onlyAppProtocol = port.grpcBecause.length === 1 && appProtocolDeclaresHttp2(port);
  return onlyAppProtocol && !/grpc/i.test(port.appProtocol!) ? 'HTTP/2' : 'gRPC';
}

/** What a port carries, and why: `gRPC (port name "grpc")`. */
export function carriedBecause(port: ServicePortNode): string {
  return `${carriedProtocol(port)} (${[...new Set(port.grpcBecause)].join(', ')})`;
}

/** Records on each Service port what its own declaration and its pods say about gRPC. */
export function markDeclaredGrpcPorts(services: readonly ServiceNode[]): void {
  for (const service of services) {
    for (const port of service.ports) {
      if (appProtocolDeclaresHttp2(port)) port.grpcBecause.push(`appProtocol "${port.appProtocol}"`);
      else if (namesGrpc(port.name)) port.grpcBecause.push(`port name "${port.name}"`);
      for (const { workload, container, containerPort } of backends(service, port)) {
        const of = `${workload.ref.kind} ${workload.ref.name}`;
        const named = containerPortOf(container, containerPort)?.name;
        const listen = container.grpcListenPorts.find((p) => p.port === containerPort);
        if (container.grpcProbePorts.some((p) => targetOf(workload, p)?.containerPort === containerPort))
          port.grpcBecause.push(`the gRPC probe of ${of}`);
        else if (namesGrpc(named)) port.grpcBecause.push(`container port "${named}" of ${of}`);
        else if (listen !== undefined) port.grpcBecause.push(`${listen.where} of container ${container.name} of ${of}`);
      }
    }
  }
}
