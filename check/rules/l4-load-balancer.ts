/**
 * A LoadBalancer or NodePort Service in front of gRPC pods: the cloud's passthrough load balancer and kube-proxy pick a
 * pod per connection, and a gRPC client outside the cluster keeps one connection, so all its calls reach one pod.
 */
import { describe, latent, scaleSeverity, uniqueRefs, type Finding, type Rule } from '../findings';
import { carriedBecause, combinedScale } from '../graph';

const L4_TYPES = new Set(['LoadBalancer', 'NodePort']);

export const rule: Rule = {
  id: 'grpc-l4-load-balancer',
  title: 'LoadBalancer or NodePort Service (L4) in front of gRPC pods',
  why: "A network (L4) load balancer and kube-proxy choose a pod once per TCP connection, and a gRPC client sends every call over one long-lived HTTP/2 connection: each external client's calls all land on one pod, and pods added later get only new clients.",
  source:
    'https://kubernetes.io/docs/concepts/services-networking/service/#loadbalancer; https://cloud.google.com/kubernetes-engine/docs/concepts/service-load-balancer (passthrough network load balancer); https://grpc.io/blog/grpc-load-balancing/',
  severity: 'error',
  check({ graph }) {
    return graph.services.flatMap((service): Finding[] => {
      if (!L4_TYPES.has(service.type) || service.workloads.length === 0) return [];
      // An L7 proxy behind the L4 load balancer (a gateway, an ingress controller, Envoy) balances each call itself.
      if (service.workloads.some((w) => w.l7Proxy !== undefined)) return [];
      const port = service.ports.find((p) => p.grpcBecause.length > 0);
      if (port === undefined) return [];
      const scale = combinedScale(service.workloads);
      return [
        {
          rule: rule.id,
          severity: scaleSeverity(scale),
          object: service.ref,
          path: port.path,
          message: `${describe(service.ref)} is type ${service.type}, an L4 load balancer, in front of port ${port.name ?? port.port}, which carries ${carriedBecause(port)}: each client's connection, and every call on it, goes to one pod${scale.maxPods > 1 ? ` of the ${scale.maxPods === Infinity ? 'many' : scale.maxPods} that can serve (${scale.because})` : latent(scale)}`,
          fix: 'put an L7 proxy in front of the pods: a Gateway API gateway with a GRPCRoute, an Istio ingress gateway, or an Ingress with HTTP/2 to the backends (ingress-nginx backend-protocol: GRPC, GKE cloud.google.com/app-protocols HTTP2); keep the Service type ClusterIP',
          related: uniqueRefs(service.workloads.map((w) => w.ref)),
        },
      ];
    });
  },
};
