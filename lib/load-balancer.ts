/**
 * The Service annotation that makes a GKE LoadBalancer Service an internal passthrough load balancer, reachable only
 * from the VPC (https://cloud.google.com/kubernetes-engine/docs/concepts/service-load-balancer-parameters). Pass it
 * as a gateway's `loadBalancerAnnotations`.
 */
export const GKE_INTERNAL_LOAD_BALANCER: Readonly<Record<string, string>> = {
  'networking.gke.io/load-balancer-type': 'Internal',
};
