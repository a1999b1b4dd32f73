import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as istio from './imports/networking.istio.io';
import type { IGrpcBackend } from './grpc-backend';
import { serviceDnsName } from './internal/names';
import { dnsLabel, subjectOf } from './internal/validate';

export interface IstioProxylessGrpcPolicyProps {
  /** The backend whose Service proxyless clients dial as `xds:///<service>.<namespace>.svc.cluster.local:<port>`. */
  readonly backend: IGrpcBackend;
  /**
   * Name of the DestinationRule.
   * @default backend.serviceName
   */
  readonly name?: string;
}

/**
 * Istio's per-call policy for proxyless gRPC clients (pods with Istio's `grpc-agent`, such as a `GrpcApp` with
 * `istioProxyless`, dialing `xds:///`): a DestinationRule for the backend's Service that has istiod program each
 * client's gRPC library to balance calls `ROUND_ROBIN` over the endpoints, the one load balancer Istio documents for
 * proxyless gRPC (https://istio.io/latest/blog/2021/proxyless-grpc/). It sets no TLS mode: Istio's automatic mutual
 * TLS then follows the pods' `security.istio.io/tlsMode` label, which only a server that sets up xDS credentials
 * should carry.
 */
export class IstioProxylessGrpcPolicy extends Construct {
  readonly destinationRule: ApiObject;

  constructor(scope: Construct, id: string, props: IstioProxylessGrpcPolicyProps) {
    super(scope, id);
    const subject = subjectOf(this);
    const { backend } = props;
    const name = dnsLabel(subject, 'name', props.name ?? backend.serviceName);
    this.destinationRule = new istio.DestinationRule(this, 'Resource', {
      metadata: { name, namespace: backend.namespace.name },
      spec: {
        host: serviceDnsName(backend.serviceName, backend.namespace),
        trafficPolicy: {
          loadBalancer: { simple: istio.DestinationRuleSpecTrafficPolicyLoadBalancerSimple.ROUND_UNDERSCORE_ROBIN },
        },
      },
    });
  }
}
