import { Chart } from 'cdk8s';
import {
  ENVOY_GATEWAY_CLASS,
  EnvoyGatewayGrpcPolicy,
  GrpcRoute,
  type AppNamespace,
  type GrpcGateway,
  type SelfSignedCertificate,
} from '../../lib';
import { type GreeterApp } from '../greeter-app';
import { type GreeterClient } from '../greeter-client';
import {
  GREETER_CALL_TIMEOUT,
  GREETER_RETRIES,
  PUBLIC_GRPC_SERVICES,
  clientChart,
  gatewayApiGateway,
  greeterCharts,
  type Strategy,
  type StrategyOutput,
} from '../strategy';

/** The constructs of the strategy, for callers that inspect or extend them. */
export interface EnvoyGatewayOutput extends StrategyOutput {
  readonly namespace: AppNamespace;
  readonly greeter: GreeterApp;
  readonly gateway: GrpcGateway;
  readonly route: GrpcRoute;
  readonly policy: EnvoyGatewayGrpcPolicy;
  readonly certificate?: SelfSignedCertificate;
  readonly client: GreeterClient;
}

/**
 * A maintained L7 edge without a mesh, the successor to `nginx-ingress`: a Gateway API `Gateway` of class `eg`
 * (Envoy Gateway deploys its Envoy and the LoadBalancer Service, named by the Gateway's EnvoyProxy, in its own
 * namespace), a `GRPCRoute` exposing only the public gRPC services, and a `BackendTrafficPolicy` on the route that
 * balances each call round-robin over the greeter's pods and retries what a pod going away answers. The Gateway, its
 * TLS Secret and the route live in the app's namespace, so no ReferenceGrant is needed.
 */
export const envoyGateway: Strategy<EnvoyGatewayOutput> = {
  name: 'envoy-gateway',
  summary:
    "Kubernetes Gateway API Gateway (class eg) and GRPCRoute; Envoy Gateway's Envoy balances each call, per a BackendTrafficPolicy",
  render(app, env) {
    const { namespaceChart, namespace, greeterChart, greeter } = greeterCharts(app, env, { mesh: 'none' });
    const { gatewayChart, gateway, certificate, tlsSecret } = gatewayApiGateway(
      app,
      env,
      { namespace, gatewayClassName: ENVOY_GATEWAY_CLASS },
      namespaceChart,
    );

    const routingChart = new Chart(app, 'routing');
    const route = new GrpcRoute(routingChart, 'route', {
      gateway,
      backend: greeter,
      grpcServices: PUBLIC_GRPC_SERVICES,
    });
    const policy = new EnvoyGatewayGrpcPolicy(routingChart, 'policy', {
      route,
      retries: GREETER_RETRIES,
      timeout: GREETER_CALL_TIMEOUT,
    });
    routingChart.addDependency(greeterChart, gatewayChart);

    const client = clientChart(app, env, gateway, [gatewayChart]);
    return { namespace, greeter, gateway, route, policy, certificate, client, tlsSecret };
  },
};
