/**
 * What the project's TLS gateways (the Istio ILB gateway and the Gateway API gateway) share: the kinds of
 * LoadBalancer in front of them, and what they are to a client, an `IGrpcEndpoint` that terminates TLS for a host.
 */
import { Construct } from 'constructs';
import type { GrpcEndpointTls, IGrpcEndpoint } from './grpc-endpoint';
import type { INamespace } from './workload';

/**
 * The kind of LoadBalancer Service in front of the gateway pods.
 * - `gke-internal`: a GKE internal passthrough load balancer, reachable only from the VPC (the walkthrough's ILB);
 * - `default`: the cluster's default LoadBalancer (Docker Desktop publishes it on localhost).
 */
export type GatewayLoadBalancer = 'gke-internal' | 'default';
export const GATEWAY_LOAD_BALANCERS: readonly GatewayLoadBalancer[] = ['gke-internal', 'default'];
/** The annotations that make a LoadBalancer Service each kind. */
export const GATEWAY_LOAD_BALANCER_ANNOTATIONS: Record<GatewayLoadBalancer, Record<string, string> | undefined> = {
  'gke-internal': { 'networking.gke.io/load-balancer-type': 'Internal' },
  default: undefined,
};

/**
 * A gateway as its clients see it: they dial its Service in its namespace, where its TLS Secret is too (so a
 * client there can trust the certificate), send its host as server name, and need one connection, since the
 * gateway balances each call. Subclasses say where the Service is.
 * @internal
 */
export abstract class TlsGatewayEndpoint extends Construct implements IGrpcEndpoint {
  abstract readonly namespace: INamespace;
  abstract readonly host: string;
  abstract readonly port: number;
  abstract readonly tlsSecretName: string;
  /** The gateway Service's cluster DNS name, which in-cluster clients dial. */
  abstract get serviceHost(): string;

  /** The gateway balances each call; the client needs one connection to it. */
  readonly loadBalancingPolicy = 'pick_first';

  get grpcTarget(): string {
    return `${this.serviceHost}:${this.port}`;
  }

  get tls(): GrpcEndpointTls {
    return { serverName: this.host, secretName: this.tlsSecretName };
  }

  /** Clients run beside the gateway, where its TLS Secret is. */
  get clientNamespace(): INamespace {
    return this.namespace;
  }
}
