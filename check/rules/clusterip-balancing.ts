/**
 * A gRPC Service reached over its ClusterIP with nothing balancing each call. A gRPC client keeps one HTTP/2
 * connection per address and sends every call down it; a ClusterIP is one address, and kube-proxy picks a pod per
 * connection, not per call. So unless a proxy in the caller's pod (a mesh sidecar, an ambient waypoint) or an L7
 * proxy in front of the Service balances the calls, each client talks to one pod for the life of its connection.
 * That is a fault once more than one pod serves; with one, it is latent.
 */
import {
  absentSeverity,
  describe,
  latent,
  scaleSeverity,
  uniqueRefs,
  type CheckContext,
  type Finding,
  type Rule,
} from '../findings';
import {
  carriedBecause,
  combinedScale,
  inCallBalancingMesh,
  optsOutOfIstioSidecar,
  type ClientCall,
  type ServiceNode,
} from '../graph';
import { callerPlane, describeCall, noProxyReason, policyOf, resolvesByDns } from './callers';

const FIX_CALLERS =
  'put the callers in a mesh that balances each call (label their namespace istio-injection=enabled, or annotate it linkerd.io/inject: enabled), ' +
  'or dial a headless Service (clusterIP: None) with dns:/// and round_robin, or route them through an L7 proxy (an Istio or Gateway API gateway)';

/** True when the pods of one Service are also the pods of another. */
const samePods = (a: ServiceNode, b: ServiceNode) =>
  a !== b && a.namespace === b.namespace && a.workloads.some((w) => b.workloads.includes(w));

/**
 * Some route or resolver of the input already reaches these pods with calls balanced one by one. A headless Service
 * over the same pods does not count: it helps only the clients that dial it, not those of the ClusterIP.
 */
function balancedPathTo(service: ServiceNode, context: CheckContext): string | undefined {
  const { graph } = context;
  const routed = graph.routes.find(
    (r) =>
      r.route.kind !== 'DestinationRule' &&
      !r.viaClusterIp &&
      r.service !== undefined &&
      (r.service === service || samePods(r.service, service)),
  );
  if (routed)
    return `${describe(routed.route)} routes to ${routed.service === service ? 'it' : `Service ${routed.service?.name} over the same pods`}`;
  const resolver = graph.clients.find(
    (c) => (c.scheme === 'kubernetes' || c.scheme === 'xds') && (c.service === service || samePods(c.service, service)),
  );
  if (resolver) return `${describeCall(resolver)} through its resolver`;
  return undefined;
}

function unbalancedCallers(service: ServiceNode, calls: readonly ClientCall[], context: CheckContext): Finding {
  const lines = calls.map((call) => `${describeCall(call)} with ${policyOf(call)} and ${noProxyReason(call, context)}`);
  const allUnknown = calls.every((call) => !call.workload.mesh.known);
  const scale = combinedScale(service.workloads);
  const severity = allUnknown && absentSeverity(context) === 'warning' ? 'warning' : scaleSeverity(scale);
  return {
    rule: rule.id,
    severity,
    object: service.ref,
    path: calls.length === 1 ? calls[0].port?.path : undefined,
    message: `every call of a client lands on one pod: ${lines.join('; ')}. The client's one HTTP/2 connection to the ClusterIP goes to one pod, and all its calls follow it${latent(scale)}.`,
    fix: FIX_CALLERS,
    related: uniqueRefs(calls.map((call) => call.workload.ref)),
  };
}

export const rule: Rule = {
  id: 'grpc-clusterip-single-pod',
  title: 'gRPC Service reached over its ClusterIP with nothing balancing each call',
  why: 'A gRPC client sends all its calls over one HTTP/2 connection, and kube-proxy balances connections, not calls: behind a ClusterIP every call of a client lands on the same pod, new pods get no traffic, and one pod can carry all the load.',
  source:
    'https://kubernetes.io/docs/reference/networking/virtual-ips/ (kube-proxy balances connections); https://grpc.io/blog/grpc-load-balancing/',
  severity: 'error',
  check(context) {
    const { graph } = context;
    const findings: Finding[] = [];
    for (const service of graph.services) {
      // Headless Services are the client-side rules' business; an ExternalName is a DNS alias, not a ClusterIP.
      if (service.headless || service.type === 'ExternalName' || service.ports.length === 0) continue;
      // Gateways and ingress controllers balance each call themselves: a client pinned to one replica is fine.
      if (service.workloads.some((w) => w.l7Proxy !== undefined)) continue;
      const calls = graph.clients.filter((call) => call.service === service);
      if (calls.length > 0) {
        const unbalanced = calls.filter((call) => resolvesByDns(call) && callerPlane(call, context) === undefined);
        if (unbalanced.length > 0) findings.push(unbalancedCallers(service, unbalanced, context));
        continue;
      }
      // No caller in the input: judge by what the input shows about the ones that will come. Callers from outside
      // the cluster are the L4 rule's business.
      const grpcPorts = service.ports.filter((p) => p.grpcBecause.length > 0);
      if (service.type !== 'ClusterIP' || grpcPorts.length === 0 || service.workloads.length === 0) continue;
      if (service.workloads.some((w) => inCallBalancingMesh(w.mesh))) continue;
      // Pods that opt out of the Istio sidecar say Istio injects their namespace (the webhook reads the label only
      // there: istio/istio 1.30.3 manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml), so
      // the callers beside them have sidecars, and a sidecar balances each call over the Service's endpoints whether
      // or not the server has one (an extension provider such as ext_authz is called the same way).
      if (service.workloads.some((w) => optsOutOfIstioSidecar(w.pod))) continue;
      if (balancedPathTo(service, context) !== undefined) continue;
      const scale = combinedScale(service.workloads);
      findings.push({
        rule: rule.id,
        severity: 'warning',
        object: service.ref,
        path: grpcPorts[0].path,
        message: `port ${grpcPorts[0].name ?? grpcPorts[0].port} carries ${carriedBecause(grpcPorts[0])} behind a ClusterIP, and no caller, mesh or L7 route in the input balances its calls: every client that dials it will send all its calls to one pod${scale.maxPods > 1 ? ` of the ${scale.maxPods === Infinity ? 'many' : scale.maxPods} that can serve (${scale.because})` : latent(scale)}`,
        fix: FIX_CALLERS,
        related: uniqueRefs(service.workloads.map((w) => w.ref)),
      });
    }
    return findings;
  },
};
