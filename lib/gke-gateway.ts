import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { isGkeGatewayClass } from 'grpc-k8s-lb-common';
import * as gw from './imports/gateway.networking.k8s.io';
import type { IGrpcEndpoint } from './grpc-endpoint';
import type { GrpcGatewayListener, IGrpcGateway } from './grpc-gateway';
import { httpsListener } from './internal/gateway-api';
import { dnsLabel, dnsSubdomain, hostName, invalidProp, port as validPort, subjectOf } from './internal/validate';
import type { INamespace } from './namespace';

/** GKE's regional internal Application Load Balancer: an internal IP of the VPC, reachable from the region. */
export const GKE_INTERNAL_GATEWAY_CLASS = 'gke-l7-rilb';

export interface GkeGatewayProps {
  /** Namespace of the Gateway and of its TLS Secret. */
  readonly namespace: INamespace;
  /** Host the listener serves, as clients dial it and the certificate names it, such as `grpc.example.com`. */
  readonly host: string;
  /** Name of the `kubernetes.io/tls` Secret (in `namespace`) with the certificate and key for `host`. */
  readonly tlsSecretName: string;
  /**
   * Name of the Gateway.
   * @default 'grpc-gateway'
   */
  readonly name?: string;
  /**
   * One of GKE's GatewayClasses (`gke-l7-…`): the kind of Google Cloud load balancer GKE creates.
   * @default 'gke-l7-rilb' (regional internal Application Load Balancer)
   */
  readonly gatewayClassName?: string;
  /**
   * HTTPS port of the listener.
   * @default 443
   */
  readonly port?: number;
  /**
   * The namespace whose HTTPRoutes may attach to the listener.
   * @default - the Gateway's own namespace (`from: Same`)
   */
  readonly routeNamespace?: INamespace;
}

/**
 * A Gateway API `Gateway` (v1) of one of GKE's classes: GKE's Gateway controller, hosted by Google, creates a Google
 * Cloud Application Load Balancer (Envoy-based for `gke-l7-rilb`) that terminates TLS for the host with the Secret's
 * certificate and sends each request, so each gRPC call, to a pod of the route's Service through container-native
 * load balancing (NEGs: pod IPs, no kube-proxy). It deploys nothing in the cluster and no Service: clients dial the
 * address in the Gateway's status, by a DNS name for the host (a Cloud DNS private zone for an internal class).
 *
 * GKE's controller runs only the Gateway API's HTTP conformance profile, GRPCRoute included in none of its reports
 * (kubernetes-sigs/gateway-api v1.6.1 conformance/reports/*\/gke-gateway): routes attach as HTTPRoutes
 * (`GrpcHttpRoute`), to a backend whose Service port says `HTTP2`, and the pods serve TLS.
 */
export class GkeGateway extends Construct implements IGrpcGateway, IGrpcEndpoint {
  readonly name: string;
  readonly namespace: INamespace;
  readonly gatewayClassName: string;
  readonly host: string;
  readonly port: number;
  readonly tlsSecretName: string;
  /** The listener's name: routes attach to it with `sectionName`. */
  readonly listenerName = 'https';
  /** The one HTTPS listener, for the host. */
  readonly listeners: readonly GrpcGatewayListener[];
  /** Where routes may attach from. */
  readonly routeNamespace: INamespace;
  readonly gateway: ApiObject;

  constructor(scope: Construct, id: string, props: GkeGatewayProps) {
    super(scope, id);
    const subject = subjectOf(this);
    this.name = dnsLabel(subject, 'name', props.name ?? 'grpc-gateway');
    this.namespace = props.namespace;
    this.gatewayClassName = dnsSubdomain(
      subject,
      'gatewayClassName',
      props.gatewayClassName ?? GKE_INTERNAL_GATEWAY_CLASS,
    );
    if (!isGkeGatewayClass(this.gatewayClassName)) {
      throw invalidProp(
        subject,
        'gatewayClassName',
        this.gatewayClassName,
        `one of GKE's GatewayClasses, such as "${GKE_INTERNAL_GATEWAY_CLASS}"`,
      );
    }
    this.host = hostName(subject, 'host', props.host);
    this.tlsSecretName = dnsSubdomain(subject, 'tlsSecretName', props.tlsSecretName);
    this.port = validPort(subject, 'port', props.port ?? 443);
    this.routeNamespace = props.routeNamespace ?? this.namespace;
    this.listeners = [{ name: this.listenerName, hostname: this.host }];

    this.gateway = new gw.Gateway(this, 'Resource', {
      metadata: { name: this.name, namespace: this.namespace.name },
      spec: {
        gatewayClassName: this.gatewayClassName,
        // GKE uploads the Secret's certificate to the load balancer
        // (https://cloud.google.com/kubernetes-engine/docs/how-to/secure-gateway).
        listeners: [
          httpsListener({
            name: this.listenerName,
            host: this.host,
            port: this.port,
            tlsSecretName: this.tlsSecretName,
            gatewayNamespace: this.namespace,
            routeNamespace: this.routeNamespace,
            routeKind: 'HTTPRoute',
          }),
        ],
      },
    });
  }

  /** Whether a route in that namespace may attach to the listener. */
  admitsRoutesFrom(namespace: INamespace): boolean {
    return namespace.name === this.routeNamespace.name;
  }

  /** The load balancer balances each call; the client needs one connection to it. */
  readonly loadBalancingPolicy = 'pick_first';

  /** Clients dial the host: its DNS record names the load balancer's address (`status.addresses`). */
  get grpcTarget(): string {
    return `${this.host}:${this.port}`;
  }

  get tls(): NonNullable<IGrpcEndpoint['tls']> {
    return { serverName: this.host, secretName: this.tlsSecretName };
  }

  /** Clients run beside the Gateway, where its TLS Secret is. */
  get clientNamespace(): INamespace {
    return this.namespace;
  }
}
