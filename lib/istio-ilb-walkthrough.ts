import { App, Chart } from 'cdk8s';
import { AppNamespace } from './app-namespace';
import { imageRepository, type EnvironmentConfig } from './environments';
import { GreeterApp } from './greeter-app';
import { GreeterClientTest } from './greeter-client-test';
import { GrpcVirtualService } from './grpc-virtual-service';
import { IstioIlbGateway } from './istio-ilb-gateway';
import { MeshAccessPolicy } from './mesh-access-policy';
import { SelfSignedCertificate } from './self-signed-certificate';
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
}

/**
 * The seed's Istio ILB walkthrough for one environment, as one chart per concern. Charts depend on each other
 * in apply order, so cdk8s numbers the files (`0000-namespace.k8s.yaml`, `0001-greeter.k8s.yaml`, ...) and
 * `kubectl apply -f dist/<env>/` creates the Namespace before anything in it.
 */
export function istioIlbWalkthrough(app: App, env: EnvironmentConfig): IstioIlbWalkthrough {
  const image = (name: 'server' | 'client') => ({ repository: imageRepository(env, name), tag: env.images.tag, pullPolicy: env.images.pullPolicy });

  const namespaceChart = new Chart(app, 'namespace');
  const namespace = new AppNamespace(namespaceChart, 'testing', { name: env.namespaces.app });

  const greeterChart = new Chart(app, 'greeter');
  const greeter = new GreeterApp(greeterChart, 'greeter', { namespace, image: image('server'), replicas: env.replicas.greeter });

  const gatewayChart = new Chart(app, 'gateway');
  const gateway = new IstioIlbGateway(gatewayChart, 'gateway', {
    namespace: existingNamespace(env.namespaces.gateway),
    configNamespace: namespace,
    host: env.host,
    tlsSecretName: env.tls.secretName,
    loadBalancer: env.gatewayLoadBalancer,
    replicas: env.replicas.gateway,
  });
  const certificate = env.tls.source === 'cert-manager' ? new SelfSignedCertificate(gatewayChart, 'certificate', { gateway }) : undefined;

  const routingChart = new Chart(app, 'routing');
  const routes = new GrpcVirtualService(routingChart, 'routes', { app: greeter, gateway });

  const securityChart = new Chart(app, 'security');
  const security = new MeshAccessPolicy(securityChart, 'access', { app: greeter, allowedCallers: [gateway.identity] });

  const clientChart = new Chart(app, 'client');
  const client = new GreeterClientTest(clientChart, 'client', { gateway, image: image('client') });

  greeterChart.addDependency(namespaceChart);
  gatewayChart.addDependency(namespaceChart);
  routingChart.addDependency(greeterChart, gatewayChart);
  securityChart.addDependency(greeterChart, gatewayChart);
  clientChart.addDependency(gatewayChart);
  return { namespace, greeter, gateway, routes, security, certificate, client };
}
