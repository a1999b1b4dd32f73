import { Chart } from 'cdk8s';
import {
  GrpcRoute,
  MeshAccessPolicy,
  type AppNamespace,
  type GrpcGateway,
  type SelfSignedCertificate,
} from '../../lib';
import { type GreeterApp } from '../greeter-app';
import { type GreeterClient } from '../greeter-client';
import {
  PUBLIC_GRPC_SERVICES,
  clientChart,
  gatewayApiGateway,
  greeterCharts,
  type Strategy,
  type StrategyOutput,
} from '../strategy';

/** The constructs of the strategy, for callers that inspect or extend them. */
export interface GatewayApiOutput extends StrategyOutput {
  readonly namespace: AppNamespace;
  readonly greeter: GreeterApp;
  readonly gateway: GrpcGateway;
  readonly route: GrpcRoute;
  readonly security: MeshAccessPolicy;
  readonly certificate?: SelfSignedCertificate;
  readonly client: GreeterClient;
}

/**
 * The Istio walkthrough with the Kubernetes Gateway API in place of Istio's own Gateway and VirtualService: a
 * `Gateway` of class `istio` (Istio deploys its Envoy and the LoadBalancer Service) and a `GRPCRoute`, both in the
 * app's namespace beside the TLS Secret, so no ReferenceGrant is needed. The namespace stays meshed as in istio-ilb:
 * the gateway reaches the pods over Istio mTLS and the AuthorizationPolicy admits only its identity.
 */
export const gatewayApi: Strategy<GatewayApiOutput> = {
  name: 'gateway-api',
  summary:
    'Kubernetes Gateway API Gateway (class istio) and GRPCRoute; the Envoy Istio deploys for it balances each call',
  render(app, env) {
    const { namespaceChart, namespace, greeterChart, greeter } = greeterCharts(app, env, { mesh: 'istio' });
    const { gatewayChart, gateway, certificate, tlsSecret } = gatewayApiGateway(
      app,
      env,
      { namespace },
      namespaceChart,
    );

    const routingChart = new Chart(app, 'routing');
    const route = new GrpcRoute(routingChart, 'route', {
      gateway,
      backend: greeter,
      grpcServices: PUBLIC_GRPC_SERVICES,
    });
    routingChart.addDependency(greeterChart, gatewayChart);

    const securityChart = new Chart(app, 'security');
    // Class istio always has an identity; any other class would leave the list empty, which MeshAccessPolicy rejects.
    const security = new MeshAccessPolicy(securityChart, 'access', {
      backend: greeter,
      allowedCallers: gateway.identity === undefined ? [] : [gateway.identity],
    });
    securityChart.addDependency(greeterChart, gatewayChart);

    const client = clientChart(app, env, gateway, [gatewayChart]);
    return { namespace, greeter, gateway, route, security, certificate, client, tlsSecret };
  },
};
