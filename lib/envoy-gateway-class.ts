import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { ENVOY_GATEWAY_CONTROLLER } from 'grpc-k8s-lb-common';
import * as gw from './imports/gateway.networking.k8s.io';
import { ENVOY_GATEWAY_CLASS } from './grpc-gateway';
import { dnsSubdomain, subjectOf } from './internal/validate';

export interface EnvoyGatewayClassProps {
  /**
   * Name of the GatewayClass, which Gateways name in `gatewayClassName`.
   * @default 'eg' (the name of Envoy Gateway's quickstart)
   */
  readonly name?: string;
}

/**
 * The cluster-scoped `GatewayClass` (v1) whose Gateways Envoy Gateway implements. Envoy Gateway's Helm chart creates
 * none (v1.9.0 charts/gateway-helm/templates: no GatewayClass; only examples/kubernetes/quickstart.yaml has one), and a
 * Gateway of a class nobody created is accepted by the API server and programmed by no controller. Leave it out where
 * the platform already runs a class for Envoy Gateway, and name that one in the Gateway.
 */
export class EnvoyGatewayClass extends Construct {
  readonly name: string;
  readonly gatewayClass: ApiObject;

  constructor(scope: Construct, id: string, props: EnvoyGatewayClassProps = {}) {
    super(scope, id);
    const subject = subjectOf(this);
    this.name = dnsSubdomain(subject, 'name', props.name ?? ENVOY_GATEWAY_CLASS);
    this.gatewayClass = new gw.GatewayClass(this, 'Resource', {
      metadata: { name: this.name },
      spec: { controllerName: ENVOY_GATEWAY_CONTROLLER },
    });
  }
}
