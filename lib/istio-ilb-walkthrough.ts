import { App, Chart } from 'cdk8s';
import type { AppNamespace } from './app-namespace';
import type { EnvironmentConfig } from './environments';
import type { GreeterApp } from './greeter-app';
import type { GreeterClientTest } from './greeter-client-test';
import { GrpcVirtualService } from './grpc-virtual-service';
import { IstioIlbGateway } from './istio-ilb-gateway';
import { MeshAccessPolicy } from './mesh-access-policy';
import type { SelfSignedCertificate } from './self-signed-certificate';
import { clientChart, frontDoorTls, greeterCharts, type RequiredTlsSecret, composedStrategy } from './strategy';
import { existingNamespace } from './workload';

/** The constructs of one environment, for callers that inspect or extend them. */
export interface IstioIlbWalkthrough {
  readonly namespace: AppNamespace;
  readonly greeter: GreeterApp;
  readonly gateway: IstioIlbGateway;
  readonly routes: GrpcVirtualService;
  readonly security: MeshAccessPolicy;
  readonly certificate?: SelfSignedCertificate;
  readonly client: GreeterClientTest;
  /** The Secret to create with `npm run certs`, unless cert-manager issues it. */
  readonly tlsSecret?: RequiredTlsSecret;
}

/**
 * The Istio ILB walkthrough for one environment, as one chart per concern. Charts depend on each other
 * in apply order, so cdk8s numbers the files (`0000-namespace.k8s.yaml`, `0001-greeter.k8s.yaml`, ...) and
 * `kubectl apply -f dist/<env>/istio-ilb/` creates the Namespace before anything in it.
 */
export function istioIlbWalkthrough(app: App, env: EnvironmentConfig): IstioIlbWalkthrough {
  const { namespaceChart, namespace, greeterChart, greeter } = greeterCharts(app, env, { mesh: 'istio' });

  const gatewayChart = new Chart(app, 'gateway');
  const gateway = new IstioIlbGateway(gatewayChart, 'gateway', {
    namespace: existingNamespace(env.namespaces.gateway),
    configNamespace: namespace,
    host: env.host,
    tlsSecretName: env.tls.secretName,
    loadBalancer: env.gatewayLoadBalancer,
    replicas: env.replicas.gateway,
  });
  const { certificate, tlsSecret } = frontDoorTls(gatewayChart, env, gateway);
  gatewayChart.addDependency(namespaceChart);

  const routingChart = new Chart(app, 'routing');
  const routes = new GrpcVirtualService(routingChart, 'routes', { app: greeter, gateway });
  routingChart.addDependency(greeterChart, gatewayChart);

  const securityChart = new Chart(app, 'security');
  const security = new MeshAccessPolicy(securityChart, 'access', { app: greeter, allowedCallers: [gateway.identity] });
  securityChart.addDependency(greeterChart, gatewayChart);

  const client = clientChart(app, env, gateway, [gatewayChart]);
  return { namespace, greeter, gateway, routes, security, certificate, client, tlsSecret };
}

/** An Istio gateway behind an internal load balancer terminates TLS and balances each call over the pods' sidecars. */
export const istioIlbStrategy = composedStrategy('istio-ilb', 'Istio ingress gateway behind an internal load balancer; Envoy balances each call', istioIlbWalkthrough);
