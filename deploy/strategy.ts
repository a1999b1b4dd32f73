/**
 * What every load-balancing strategy shares: its name, the charts it composes for one environment, and the common
 * charts (the app's Namespace and the greeter; the in-cluster client; a Gateway API gateway) that each strategy's
 * directory repeats so that `kubectl apply -f dist/<env>/<strategy>/` stands alone.
 */
import { Chart, Duration, type App } from 'cdk8s';
import { GREETER_SERVICE } from '../app/settings';
import {
  AppNamespace,
  GKE_INTERNAL_LOAD_BALANCER,
  GrpcGateway,
  SelfSignedCertificate,
  type GrpcGatewayProps,
  type IGrpcEndpoint,
} from '../lib';
import { GreeterApp, type GreeterAppProps } from './greeter-app';
import { GreeterClient } from './greeter-client';
import { environmentImage, type EnvironmentConfig, type GatewayLoadBalancer } from './environments';
import type { StrategyName } from './strategy-names';

export { STRATEGY_NAMES, type StrategyName } from './strategy-names';

/** The gRPC services the greeter serves to callers outside its namespace: health and reflection stay in-cluster. */
export const PUBLIC_GRPC_SERVICES: readonly string[] = [GREETER_SERVICE];

/**
 * The greeter's retries at a gateway: SayHello has no side effects, so a call may run twice, and retrying also what a
 * reset connection or a pod going away answers hides a rollout from its clients. The library's default is the data
 * plane's own, narrower one; this is the greeter's choice (see `GrpcRetryPolicy` for what can run a call twice).
 */
export const GREETER_RETRIES = {
  attempts: 3,
  perTryTimeout: Duration.seconds(2),
  retryOn: ['connect-failure', 'refused-stream', 'reset', 'unavailable', 'cancelled'],
} as const;

/** The longest a greeter call may take at a proxy that sets a timeout, retries included. */
export const GREETER_CALL_TIMEOUT = Duration.seconds(10);

/** The name of every strategy's front door (gateway), so clients and docs find it under one name. */
export const GATEWAY_NAME = 'greeter-gateway';

/** A Secret the operator creates before applying (`npm run certs` prints the command). */
export interface RequiredTlsSecret {
  readonly namespace: string;
  readonly secretName: string;
  readonly host: string;
}

/** What rendering a strategy left behind that the operator must know about, and its constructs for inspection. */
export interface StrategyOutput {
  /** The TLS Secret the strategy's front door serves, unless cert-manager issues it. */
  readonly tlsSecret?: RequiredTlsSecret;
}

/**
 * One load-balancing strategy: adds its charts, in apply order, to an App whose outdir is `dist/<env>/<name>/`, and
 * returns its constructs. Every file in deploy/strategies/ exports one.
 */
export interface Strategy<Output extends StrategyOutput = StrategyOutput> {
  readonly name: StrategyName;
  /** One line: what balances each call. */
  readonly summary: string;
  render(app: App, env: EnvironmentConfig): Output;
}

/** The Namespace and greeter charts every strategy starts with. */
export interface GreeterCharts {
  readonly namespaceChart: Chart;
  readonly namespace: AppNamespace;
  readonly greeterChart: Chart;
  readonly greeter: GreeterApp;
}

/** `0000-namespace` and `0001-greeter`: the app's Namespace and the greeter server in it. */
export function greeterCharts(
  app: App,
  env: EnvironmentConfig,
  options: {
    readonly mesh: AppNamespace['mesh'];
  } & Pick<GreeterAppProps, 'maxConnectionAge' | 'drainDelay' | 'istioProxyless' | 'appProtocol' | 'tls'>,
): GreeterCharts {
  const namespaceChart = new Chart(app, 'namespace');
  const namespace = new AppNamespace(namespaceChart, 'testing', { name: env.namespaces.app, mesh: options.mesh });
  const greeterChart = new Chart(app, 'greeter');
  const greeter = new GreeterApp(greeterChart, 'greeter', {
    namespace,
    image: environmentImage(env, 'server'),
    replicas: env.replicas.greeter,
    maxConnectionAge: options.maxConnectionAge,
    drainDelay: options.drainDelay,
    istioProxyless: options.istioProxyless,
    appProtocol: options.appProtocol,
    tls: options.tls,
  });
  greeterChart.addDependency(namespaceChart);
  return { namespaceChart, namespace, greeterChart, greeter };
}

/** The annotations of the environment's kind of LoadBalancer. */
export function loadBalancerAnnotations(kind: GatewayLoadBalancer): Readonly<Record<string, string>> | undefined {
  return kind === 'gke-internal' ? GKE_INTERNAL_LOAD_BALANCER : undefined;
}

/**
 * The TLS of a strategy's front door: with `tls.source: 'cert-manager'` a `SelfSignedCertificate` in `chart`,
 * otherwise the Secret the operator creates with `npm run certs`.
 */
export function frontDoorTls(
  chart: Chart,
  env: EnvironmentConfig,
  endpoint: IGrpcEndpoint,
): StrategyOutput & { certificate?: SelfSignedCertificate } {
  const { tls } = endpoint;
  if (tls === undefined) return {};
  if (env.tls.source === 'cert-manager')
    return { certificate: new SelfSignedCertificate(chart, 'certificate', { endpoint }) };
  return { tlsSecret: { namespace: endpoint.clientNamespace.name, secretName: tls.secretName, host: tls.serverName } };
}

/** The `gateway` chart of the strategies whose front door is a Gateway API gateway, with its TLS. */
export function gatewayApiGateway(
  app: App,
  env: EnvironmentConfig,
  placement: Pick<GrpcGatewayProps, 'namespace' | 'routeNamespace' | 'gatewayClassName'>,
  namespaceChart: Chart,
) {
  const gatewayChart = new Chart(app, 'gateway');
  const gateway = new GrpcGateway(gatewayChart, 'gateway', {
    ...placement,
    name: GATEWAY_NAME,
    host: env.host,
    tlsSecretName: env.tls.secretName,
    loadBalancerAnnotations: loadBalancerAnnotations(env.gatewayLoadBalancer),
    replicas: env.replicas.gateway,
  });
  gatewayChart.addDependency(namespaceChart);
  return { gatewayChart, gateway, ...frontDoorTls(gatewayChart, env, gateway) };
}

/** The last chart: the greeter client calling the strategy's front door, after the charts it needs. */
export function clientChart(
  app: App,
  env: EnvironmentConfig,
  endpoint: IGrpcEndpoint,
  after: readonly Chart[],
): GreeterClient {
  const chart = new Chart(app, 'client');
  const client = new GreeterClient(chart, 'client', { endpoint, image: environmentImage(env, 'client') });
  chart.addDependency(...after);
  return client;
}
