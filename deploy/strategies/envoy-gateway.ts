import { Chart } from 'cdk8s';
import {
  ENVOY_GATEWAY_CLASS,
  EnvoyGatewayClass,
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
  /** Absent when the platform runs the GatewayClass (`envoyGatewayClass: 'platform'`). */
  readonly gatewayClass?: EnvoyGatewayClass;
  readonly gateway: GrpcGateway;
  readonly route: GrpcRoute;
  readonly policy: EnvoyGatewayGrpcPolicy;
  readonly certificate?: SelfSignedCertificate;
  readonly client: GreeterClient;
}

/**
 * A maintained L7 edge without a mesh, the successor to `nginx-ingress`: the GatewayClass `eg` for Envoy Gateway
 * (in the first sync wave, with the Namespace; left out where the platform runs it), a Gateway API `Gateway`
 * of that class (Envoy Gateway deploys its Envoy and the LoadBalancer Service, named by the Gateway's EnvoyProxy, in its own
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
    const gatewayClass =
      (env.envoyGatewayClass ?? 'rendered') === 'rendered'
        ? new EnvoyGatewayClass(namespaceChart, 'gateway-class')
        : undefined;
    const { gatewayChart, gateway, certificate, tlsSecret } = gatewayApiGateway(
      app,
      env,
      { namespace, gatewayClassName: gatewayClass?.name ?? ENVOY_GATEWAY_CLASS },
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
    return { namespace, greeter, gatewayClass, gateway, route, policy, certificate, client, tlsSecret };
  },
};
