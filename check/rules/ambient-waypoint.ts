/**
 * Istio ambient: the waypoint a Service is bound to, and whether the input holds it. ztunnel carries traffic at L4
 * only; a call is balanced on its own only when the destination Service's waypoint is there to take it. A label
 * naming a waypoint that does not exist binds nothing.
 */
import type { DataPlane } from 'grpc-k8s-lb-common';
import type { CheckContext } from '../findings';
import { ISTIO_USE_WAYPOINT, type ClientCall, type Graph, type ObjectRef, type ServiceNode } from '../graph';

// istio/api 1.30.3 label/labels.yaml: `use-waypoint` names the waypoint, in the resource's namespace unless
// `use-waypoint-namespace` names another; the value `none` opts a Service out of its namespace's waypoint.
const USE_WAYPOINT_NAMESPACE = 'istio.io/use-waypoint-namespace';
const NO_WAYPOINT = 'none';
/** The GatewayClass of Istio's waypoints (istio/istio 1.30.3 pkg/config/constants WaypointGatewayClassName). */
const WAYPOINT_CLASS = 'istio-waypoint';

/** The waypoint a Service is bound to: where the label says it is, and its Gateway when the input has it. */
export interface WaypointBinding {
  /** `istio.io/use-waypoint=<name>`, as messages quote it. */
  readonly label: string;
  readonly name: string;
  readonly namespace: string;
  /** The Gateway of class `istio-waypoint` of that name and namespace, if the input has it. */
  readonly gateway?: ObjectRef;
}

/** The waypoint `service` is bound to by its own label or its namespace's, or undefined when none is. */
export function waypointBinding(service: ServiceNode, graph: Graph): WaypointBinding | undefined {
  const namespace = graph.findNamespace(service.namespace, service.ref.location);
  const fromService = service.labels[ISTIO_USE_WAYPOINT] !== undefined;
  const labels = fromService ? service.labels : namespace?.labels;
  const name = labels?.[ISTIO_USE_WAYPOINT];
  if (name === undefined || name === NO_WAYPOINT) return undefined;
  const waypointNamespace = labels?.[USE_WAYPOINT_NAMESPACE] ?? service.namespace;
  const index = graph.raw.findIndex(
    (object, i) =>
      object.kind === 'Gateway' &&
      object.apiVersion.startsWith('gateway.networking.k8s.io/') &&
      graph.objects[i].name === name &&
      graph.objects[i].namespace === waypointNamespace &&
      (object.spec as { gatewayClassName?: unknown } | undefined)?.gatewayClassName === WAYPOINT_CLASS,
  );
  return {
    label: `${ISTIO_USE_WAYPOINT}=${name}`,
    name,
    namespace: waypointNamespace,
    gateway: index < 0 ? undefined : graph.objects[index],
  };
}

/**
 * The data plane that balances an ambient client's calls: the Service's waypoint when the input has it, or, when
 * the input is partial, when a label names one (it may be deployed from elsewhere). Undefined: ztunnel alone.
 */
export function ambientCallerPlane(call: ClientCall, context: CheckContext): DataPlane | undefined {
  const binding = waypointBinding(call.service, context.graph);
  if (binding === undefined) return undefined;
  return binding.gateway !== undefined || context.partial ? 'istio-waypoint' : undefined;
}

/** Why an ambient client's calls are not balanced, for messages. */
export function ambientNoWaypointReason(call: ClientCall, graph: Graph): string {
  const binding = waypointBinding(call.service, graph);
  const why =
    binding === undefined
      ? `neither the Service nor its namespace has a waypoint (${ISTIO_USE_WAYPOINT})`
      : `the Service is bound to waypoint ${binding.namespace}/${binding.name} (${binding.label}), but the input has no Gateway of class ${WAYPOINT_CLASS} of that name, so nothing takes its calls at L7`;
  return `${call.workload.mesh.because}, and ztunnel balances connections, not calls; ${why}`;
}
