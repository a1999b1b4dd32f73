/** A GKE internal load balancer Service with more ports than an internal forwarding rule can list. */
import type { Finding, Rule } from '../findings';

const INTERNAL_LB_ANNOTATIONS = ['networking.gke.io/load-balancer-type', 'cloud.google.com/load-balancer-type'];
/** The most ports an internal passthrough forwarding rule lists (kubernetes/cloud-provider-gcp providers/gce/gce_loadbalancer_internal.go maxL4ILBPorts). */
export const GKE_INTERNAL_LB_MAX_PORTS = 5;

export const rule: Rule = {
  id: 'gke-internal-lb-too-many-ports',
  title: `GKE internal LoadBalancer Service with more than ${GKE_INTERNAL_LB_MAX_PORTS} ports`,
  why: `An internal passthrough forwarding rule lists at most ${GKE_INTERNAL_LB_MAX_PORTS} ports; with more, GKE opens ALL ports of the load balancer's IP instead: every port of the gateway pods is reachable from the VPC, and no other TCP forwarding rule can share the IP.`,
  source:
    'kubernetes/cloud-provider-gcp providers/gce/gce_loadbalancer_internal.go and kubernetes/ingress-gce pkg/loadbalancers/forwarding_rules.go (maxL4ILBPorts = 5, then AllPorts); https://cloud.google.com/load-balancing/docs/internal/multiple-forwarding-rules-same-ip',
  severity: 'error',
  check({ graph }) {
    return graph.services
      .filter(
        (s) =>
          s.type === 'LoadBalancer' &&
          INTERNAL_LB_ANNOTATIONS.some((a) => s.annotations[a]?.toLowerCase() === 'internal') &&
          s.ports.length > GKE_INTERNAL_LB_MAX_PORTS,
      )
      .map((service): Finding => ({
        rule: rule.id,
        severity: rule.severity,
        object: service.ref,
        path: 'spec.ports',
        message: `an internal load balancer (${INTERNAL_LB_ANNOTATIONS.find((a) => service.annotations[a] !== undefined)}: ${INTERNAL_LB_ANNOTATIONS.map((a) => service.annotations[a]).find(Boolean)}) with ${service.ports.length} ports: GKE lists at most ${GKE_INTERNAL_LB_MAX_PORTS} and opens all ports instead`,
        fix: `keep at most ${GKE_INTERNAL_LB_MAX_PORTS} ports on this Service (move the others to a second internal LoadBalancer Service), or serve gRPC on one TLS port and route by host`,
        related: [],
      }));
  },
};
