/**
 * A gRPC Service port that a proxy in the way does not treat as HTTP/2: Linkerd ≥ 2.18 with `appProtocol: grpc`
 * (opaque TCP), an Istio port named `tcp-…` or `https`, an Istio gateway or an HTTPRoute to a port nothing
 * declares (HTTP/1.1), ingress-nginx without `backend-protocol: GRPC`. The data-plane table is
 * common/app-protocol.ts.
 */
import {
  dataPlaneSource,
  grpcAppProtocol,
  LINKERD_DEFAULT_OPAQUE_PORTS,
  portHandling,
  readsAppProtocol,
  type DataPlane,
  type PortHandling,
  type PortHandlingContext,
} from 'grpc-k8s-lb-common';
import { describe, uniqueRefs, type CheckContext, type Finding, type Rule } from '../findings';
import { carriedBecause, servicePort, type ObjectRef, type ServiceNode, type ServicePortNode } from '../graph';
import { callerPlane, resolvesByDns } from './callers';

const LINKERD_OPAQUE_PORTS = 'config.linkerd.io/opaque-ports';

/** Ports in a Linkerd opaque-ports annotation (`25,587,4000-4100`). */
function parsePortList(value: string): number[] {
  return value.split(',').flatMap((part) => {
    const [from, to] = part.trim().split('-').map(Number);
    if (!Number.isInteger(from)) return [];
    if (to === undefined) return [from];
    return Number.isInteger(to) && to >= from && to - from <= 65535
      ? Array.from({ length: to - from + 1 }, (_, i) => from + i)
      : [];
  });
}

/** One data plane reaching a port, and through what. */
interface Passage {
  readonly plane: DataPlane;
  readonly via: ObjectRef[];
  /** What the route tells the data plane besides the port (an ingress annotation). */
  readonly planeContext?: PortHandlingContext;
}

const PLANE_NAMES: Record<DataPlane, string> = {
  'istio-sidecar': 'an Istio sidecar',
  'istio-gateway': 'an Istio gateway',
  'linkerd-2.16': 'Linkerd 2.16–2.17',
  'linkerd-2.18': 'Linkerd ≥ 2.18',
  'ingress-nginx': 'ingress-nginx',
  'envoy-gateway': 'Envoy Gateway',
  'gke-gateway': 'a GKE gateway',
  'gke-ingress': 'GKE Ingress',
  'nginx-ingress-controller': 'NGINX Ingress Controller',
  'gateway-api': 'a Gateway API implementation',
  'istio-waypoint': 'an Istio ambient waypoint',
};

/** For the data planes an Ingress annotation decides: the annotation that makes them carry the port as HTTP/2. */
const ANNOTATION_FIX: Partial<Record<DataPlane, (service: ServiceNode, port: ServicePortNode) => string>> = {
  'ingress-nginx': () =>
    'annotate the Ingress nginx.ingress.kubernetes.io/backend-protocol: GRPC (GRPCS when the pods serve TLS)',
  'nginx-ingress-controller': (service) =>
    `name the Service in the Ingress annotation nginx.org/grpc-services: "${service.name}" (HTTP/2 to the pods)`,
  'gke-ingress': (_service, port) =>
    `annotate the Service cloud.google.com/app-protocols: '{"${port.name ?? '<port name>'}":"HTTP2"}' (HTTP/2 over TLS: the pods must serve TLS)`,
};

const HANDLING_TEXT: Record<Exclude<PortHandling, 'http2'>, string> = {
  detected: 'only by sniffing each connection (nothing declares HTTP/2)',
  http1: 'as HTTP/1.1, which gRPC cannot use',
  opaque: 'as opaque TCP: every call of a connection goes to the one pod it was opened to',
};

/** Every data plane that carries traffic to `port`, and what it goes through. */
function passages(service: ServiceNode, port: ServicePortNode, context: CheckContext): Passage[] {
  const found = new Map<string, Passage>();
  const add = (plane: DataPlane, via: ObjectRef, planeContext?: PortHandlingContext) => {
    const key = `${plane}\0${readsAppProtocol(plane) ? '' : via.index}`;
    const passage = found.get(key) ?? { plane, via: [], planeContext };
    passage.via.push(via);
    found.set(key, passage);
  };
  const calls = context.graph.clients.filter((call) => call.service === service);
  for (const call of calls) {
    const plane = call.port === port && resolvesByDns(call) ? callerPlane(call, context) : undefined;
    if (plane !== undefined) add(plane, call.workload.ref);
  }
  if (calls.length === 0) {
    // No caller in the input: its own pods' mesh stands for the callers beside them.
    for (const workload of service.workloads) {
      if (workload.mesh.kind === 'istio-sidecar') add('istio-sidecar', workload.ref);
      if (workload.mesh.kind === 'linkerd') add(context.linkerd, workload.ref);
    }
  }
  for (const route of context.graph.routes) {
    if (route.service === service && route.plane !== undefined && servicePort(service, route.port) === port)
      add(route.plane, route.route, route.planeContext);
  }
  return [...found.values()];
}

function linkerdOpaquePorts(service: ServiceNode, context: CheckContext): number[] {
  const annotation =
    service.annotations[LINKERD_OPAQUE_PORTS] ??
    context.graph.findNamespace(service.namespace, service.ref.location)?.annotations[LINKERD_OPAQUE_PORTS];
  return annotation === undefined ? [...LINKERD_DEFAULT_OPAQUE_PORTS] : parsePortList(annotation);
}

function declared(port: ServicePortNode): string {
  if (port.appProtocol !== undefined) return `appProtocol "${port.appProtocol}"`;
  return port.name === undefined ? 'no name and no appProtocol' : `name "${port.name}" and no appProtocol`;
}

export const rule: Rule = {
  id: 'grpc-port-not-http2',
  title: 'gRPC port a data plane in the way does not treat as HTTP/2',
  why: 'A mesh or gateway balances each gRPC call only on a port it reads as HTTP/2 (or gRPC). On a port it reads as TCP it balances connections, so each client sticks to one pod; on a port it reads as HTTP/1.1 gRPC calls fail.',
  source:
    'common/app-protocol.ts: Istio 1.30.3 ConvertProtocol, Linkerd version-2.18 AppProtocol::from_str and PR #13948, GEP-1911, Envoy Gateway v1.9.0, GKE gateway classes and Ingress, ingress-nginx controller-v1.15.1, NGINX Ingress Controller nginx.org/grpc-services',
  severity: 'error',
  check(context) {
    const findings: Finding[] = [];
    for (const service of context.graph.services) {
      for (const port of service.ports) {
        if (port.grpcBecause.length === 0 || port.protocol.toUpperCase() !== 'TCP') continue;
        const found = passages(service, port, context);
        const fixValue = grpcAppProtocol([...new Set(found.map((p) => p.plane))]);
        for (const passage of found) {
          const handling = portHandling(passage.plane, port, {
            ...passage.planeContext,
            linkerdOpaquePorts: linkerdOpaquePorts(service, context),
          });
          // Linkerd before 2.18 detects the protocol by design; only Istio's sniffing is worth a word.
          if (handling === 'http2' || (handling === 'detected' && passage.plane !== 'istio-sidecar')) continue;
          const portName = `port ${port.name ?? port.port} (${port.port}, ${declared(port)})`;
          const grpc = `it carries ${carriedBecause(port)}`;
          const via = passage.via.map(describe).join(', ');
          const source = dataPlaneSource(passage.plane);
          const annotationFix = ANNOTATION_FIX[passage.plane];
          if (annotationFix !== undefined) {
            // An annotation decides, on the Ingress (or its Service): the finding is on the Ingress that forwards.
            const ingress = passage.via[0];
            findings.push({
              rule: rule.id,
              severity: 'error',
              object: ingress,
              path: 'metadata.annotations',
              message: `${PLANE_NAMES[passage.plane]} forwards to ${describe(service.ref)} ${portName} ${HANDLING_TEXT[handling as Exclude<PortHandling, 'http2'>]}: ${grpc} (${source})`,
              fix: annotationFix(service, port),
              related: uniqueRefs([service.ref, ...passage.via.slice(1)]),
            });
            continue;
          }
          findings.push({
            rule: rule.id,
            severity: handling === 'detected' ? 'warning' : 'error',
            object: service.ref,
            path: `${port.path}.${port.appProtocol === undefined ? 'name' : 'appProtocol'}`,
            message: `${PLANE_NAMES[passage.plane]} (through ${via}) carries ${portName} ${HANDLING_TEXT[handling as Exclude<PortHandling, 'http2'>]}; ${grpc} (${source})`,
            fix: `set appProtocol: ${passage.plane === 'gke-gateway' ? `${fixValue} on the port (HTTP2 when the pods serve TLS: GKE reads it as HTTP/2 over TLS)` : `${fixValue} on the port`}${passage.plane === 'istio-sidecar' || passage.plane === 'istio-gateway' ? ' (or name it grpc or grpc-<suffix>)' : ''}`,
            related: uniqueRefs(passage.via),
          });
        }
      }
    }
    return findings;
  },
};
