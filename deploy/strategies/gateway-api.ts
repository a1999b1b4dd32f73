import { Chart, type App } from 'cdk8s';
import type { AppNamespace } from '../app-namespace';
import type { EnvironmentConfig } from '../environments';
import type { GreeterApp } from '../greeter-app';
import type { GreeterClientTest } from '../greeter-client-test';
import { MeshAccessPolicy } from '../mesh-access-policy';
import type { SelfSignedCertificate } from '../self-signed-certificate';
import { clientChart, frontDoorTls, greeterCharts, type RequiredTlsSecret, composedStrategy } from '../strategy';
import { GrpcGateway, type GrpcGatewayProps } from './grpc-gateway';
import { GrpcRoute } from './grpc-route';

/** The constructs of the Gateway API strategy for one environment. */
export interface GatewayApiDeployment {
  readonly namespace: AppNamespace;
  readonly greeter: GreeterApp;
  readonly gateway: GrpcGateway;
  readonly route: GrpcRoute;
  readonly security: MeshAccessPolicy;
  readonly certificate?: SelfSignedCertificate;
  readonly client: GreeterClientTest;
  /** The Secret to create with `npm run certs`, unless cert-manager issues it. */
  readonly tlsSecret?: RequiredTlsSecret;
}

/** The `gateway` chart of the strategies whose front door is a Gateway API gateway, with its TLS. */
export function gatewayApiGateway(app: App, env: EnvironmentConfig, placement: Pick<GrpcGatewayProps, 'namespace' | 'routeNamespace'>, namespaceChart: Chart) {
  const gatewayChart = new Chart(app, 'gateway');
  const gateway = new GrpcGateway(gatewayChart, 'gateway', {
    ...placement,
    host: env.host,
    tlsSecretName: env.tls.secretName,
    loadBalancer: env.gatewayLoadBalancer,
    replicas: env.replicas.gateway,
  });
  gatewayChart.addDependency(namespaceChart);
  return { gatewayChart, gateway, ...frontDoorTls(gatewayChart, env, gateway) };
}

/**
 * The Istio walkthrough with the Kubernetes Gateway API in place of Istio's own Gateway and VirtualService: a
 * `Gateway` of class `istio` (Istio deploys its Envoy and the LoadBalancer Service) and a `GRPCRoute`, both in the
 * app's namespace beside the TLS Secret, so no ReferenceGrant is needed. The namespace stays meshed as in istio-ilb:
 * the gateway reaches the pods over Istio mTLS and the AuthorizationPolicy admits only its identity.
 */
export function gatewayApi(app: App, env: EnvironmentConfig): GatewayApiDeployment {
  const { namespaceChart, namespace, greeterChart, greeter } = greeterCharts(app, env, { mesh: 'istio' });

  const { gatewayChart, gateway, certificate, tlsSecret } = gatewayApiGateway(app, env, { namespace }, namespaceChart);

  const routingChart = new Chart(app, 'routing');
  const route = new GrpcRoute(routingChart, 'route', { gateway, backend: greeter });
  routingChart.addDependency(greeterChart, gatewayChart);

  const securityChart = new Chart(app, 'security');
  // Class istio always has an identity; any other class would leave the list empty, which MeshAccessPolicy rejects.
  const security = new MeshAccessPolicy(securityChart, 'access', { app: greeter, allowedCallers: gateway.identity === undefined ? [] : [gateway.identity] });
  securityChart.addDependency(greeterChart, gatewayChart);

  const client = clientChart(app, env, gateway, [gatewayChart]);
  return { namespace, greeter, gateway, route, security, certificate, client, tlsSecret };
}

/** A Gateway API Gateway and GRPCRoute, implemented by Istio: its Envoy terminates TLS and balances each call. */
export const gatewayApiStrategy = composedStrategy('gateway-api', 'Kubernetes Gateway API Gateway (class istio) and GRPCRoute; the Envoy Istio deploys for it balances each call', gatewayApi);
