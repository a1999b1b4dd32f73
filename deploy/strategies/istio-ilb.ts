import { Chart } from 'cdk8s';
import {
  GrpcVirtualService,
  IstioIlbGateway,
  MeshAccessPolicy,
  existingNamespace,
  type AppNamespace,
  type SelfSignedCertificate,
} from '../../lib';
import { type GreeterApp } from '../greeter-app';
import { type GreeterClient } from '../greeter-client';
import {
  GATEWAY_NAME,
  GREETER_RETRIES,
  PUBLIC_GRPC_SERVICES,
  clientChart,
  frontDoorTls,
  greeterCharts,
  loadBalancerAnnotations,
  type Strategy,
  type StrategyOutput,
} from '../strategy';

/** The constructs of the strategy, for callers that inspect or extend them. */
export interface IstioIlbOutput extends StrategyOutput {
  readonly namespace: AppNamespace;
  readonly greeter: GreeterApp;
  readonly gateway: IstioIlbGateway;
  readonly routes: GrpcVirtualService;
  readonly security: MeshAccessPolicy;
  readonly certificate?: SelfSignedCertificate;
  readonly client: GreeterClient;
}

/**
 * The Istio ILB walkthrough: an Istio ingress gateway behind an internal load balancer terminates TLS for the host
 * and its Envoy balances each call over the greeter pods' sidecars, one chart per concern. Charts depend on each
 * other in apply order, so cdk8s numbers the files (`0000-namespace.k8s.yaml`, `0001-greeter.k8s.yaml`, ...) and
 * `kubectl apply -f dist/<env>/istio-ilb/` creates the Namespace before anything in it.
 */
export const istioIlb: Strategy<IstioIlbOutput> = {
  name: 'istio-ilb',
  summary: 'Istio ingress gateway behind an internal load balancer; Envoy balances each call',
  render(app, env) {
    const { namespaceChart, namespace, greeterChart, greeter } = greeterCharts(app, env, { mesh: 'istio' });

    const gatewayChart = new Chart(app, 'gateway');
    const gateway = new IstioIlbGateway(gatewayChart, 'gateway', {
      name: GATEWAY_NAME,
      namespace: existingNamespace(env.namespaces.gateway),
      configNamespace: namespace,
      host: env.host,
      tlsSecretName: env.tls.secretName,
      loadBalancerAnnotations: loadBalancerAnnotations(env.gatewayLoadBalancer),
      replicas: env.replicas.gateway,
    });
    const { certificate, tlsSecret } = frontDoorTls(gatewayChart, env, gateway);
    gatewayChart.addDependency(namespaceChart);

    const routingChart = new Chart(app, 'routing');
    const routes = new GrpcVirtualService(routingChart, 'routes', {
      backend: greeter,
      gateway,
      grpcServices: PUBLIC_GRPC_SERVICES,
      retries: GREETER_RETRIES,
    });
    routingChart.addDependency(greeterChart, gatewayChart);

    const securityChart = new Chart(app, 'security');
    const security = new MeshAccessPolicy(securityChart, 'access', {
      backend: greeter,
      allowedCallers: [gateway.identity],
    });
    securityChart.addDependency(greeterChart, gatewayChart);

    const client = clientChart(app, env, gateway, [gatewayChart]);
    return { namespace, greeter, gateway, routes, security, certificate, client, tlsSecret };
  },
};
