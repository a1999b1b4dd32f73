/** How a client's calls reach a Service: through DNS or a resolver, and through which proxy, if any. */
import type { DataPlane } from 'grpc-k8s-lb-common';
import { PER_CALL_POLICIES, type ClientCall } from '../graph';
import type { CheckContext } from '../findings';
import { ambientCallerPlane, ambientNoWaypointReason } from './ambient-waypoint';

/** Targets a client resolves through DNS: a Service's ClusterIP, or every pod of a headless Service. */
export function resolvesByDns(call: ClientCall): boolean {
  return call.scheme === 'dns' || call.scheme === 'url' || call.scheme === 'host-port' || call.scheme === 'passthrough';
}

/** True when the client names a policy that picks a backend per call. */
export function balancesPerCall(call: ClientCall): boolean {
  return call.lbPolicy !== undefined && PER_CALL_POLICIES.includes(call.lbPolicy);
}

/** The policy a client runs, as messages say it. */
export function policyOf(call: ClientCall): string {
  return call.lbPolicy ?? "pick_first (gRPC's default: the client names no policy)";
}

/**
 * The proxy that carries a client's calls to a Service and can balance each of them: its Istio sidecar, its
 * Linkerd proxy, or (Istio ambient) the Service's waypoint. Undefined when nothing but kube-proxy is in the way.
 */
export function callerPlane(call: ClientCall, context: CheckContext): DataPlane | undefined {
  switch (call.workload.mesh.kind) {
    case 'istio-sidecar':
      return 'istio-sidecar';
    case 'linkerd':
      return context.linkerd;
    case 'istio-ambient':
      // ztunnel is L4 only: the Service's waypoint balances each call, if it is there.
      return ambientCallerPlane(call, context);
    default:
      return undefined;
  }
}

/** Why a caller has no proxy balancing its calls, for messages. */
export function noProxyReason(call: ClientCall, context: CheckContext): string {
  if (call.workload.mesh.kind === 'istio-proxyless') {
    return `${call.workload.mesh.because}: proxyless gRPC balances only what it resolves through xds:///, and this target goes through DNS`;
  }
  if (call.workload.mesh.kind === 'istio-ambient') return ambientNoWaypointReason(call, context.graph);
  return call.workload.mesh.known
    ? `no mesh proxy (${call.workload.mesh.because})`
    : `no mesh proxy as far as the input shows (its namespace ${call.workload.namespace} is not in the input)`;
}

/** `Deployment ns/name` dials `target` (env X) with `policy`. */
export function describeCall(call: ClientCall): string {
  return `${call.workload.ref.kind} ${call.workload.ref.namespace}/${call.workload.ref.name} dials "${call.target}" (${call.where}, container ${call.container.name})`;
}
