/**
 * What every load-balancing strategy shares: its name, the charts it composes for one environment, and the common
 * charts (the app's Namespace and the greeter; the in-cluster client) that each strategy's directory repeats so that
 * `kubectl apply -f dist/<env>/<strategy>/` stands alone.
 */
import { Chart, type App, type Duration } from 'cdk8s';
import { AppNamespace, type SidecarMesh } from './app-namespace';
import { environmentImage, type EnvironmentConfig } from './environments';
import { GreeterApp } from './greeter-app';
import { GreeterClientTest } from './greeter-client-test';
import type { IGrpcEndpoint } from './grpc-endpoint';
import { SelfSignedCertificate } from './self-signed-certificate';

/** The ways out of L4 stickiness this project renders, by the name an environment picks them with. */
export const STRATEGY_NAMES = ['istio-ilb', 'nginx-ingress', 'linkerd', 'headless', 'gateway-api', 'endpoints', 'k8s-resolver'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** A Secret the operator creates before applying (`npm run certs` prints the command). */
export interface RequiredTlsSecret {
  readonly namespace: string;
  readonly secretName: string;
  readonly host: string;
}

/** What rendering a strategy left behind that the operator must know about. */
export interface StrategyOutput {
  /** The TLS Secret the strategy's front door serves, unless cert-manager issues it. */
  readonly tlsSecret?: RequiredTlsSecret;
}

/** One load-balancing strategy: adds its charts, in apply order, to an App whose outdir is `dist/<env>/<name>/`. */
export interface Strategy {
  readonly name: StrategyName;
  /** One line: what balances each call. */
  readonly summary: string;
  render(app: App, env: EnvironmentConfig): StrategyOutput;
}

/**
 * A strategy whose composition function returns its constructs (for callers that inspect or extend them) along
 * with what the operator must know.
 */
export function composedStrategy(name: StrategyName, summary: string, compose: (app: App, env: EnvironmentConfig) => StrategyOutput): Strategy {
  return { name, summary, render: (app, env) => ({ tlsSecret: compose(app, env).tlsSecret }) };
}

/** The Namespace and greeter charts every strategy starts with. */
export interface GreeterCharts {
  readonly namespaceChart: Chart;
  readonly namespace: AppNamespace;
  readonly greeterChart: Chart;
  readonly greeter: GreeterApp;
}

export interface GreeterChartsOptions {
  /** The sidecar mesh of the app's namespace. */
  readonly mesh: SidecarMesh;
  /** The server's max connection age, for strategies where clients hold connections to pods. */
  readonly maxConnectionAge?: Duration;
}

/** `0000-namespace` and `0001-greeter`: the app's Namespace and the greeter server in it. */
export function greeterCharts(app: App, env: EnvironmentConfig, options: GreeterChartsOptions): GreeterCharts {
  const namespaceChart = new Chart(app, 'namespace');
  const namespace = new AppNamespace(namespaceChart, 'testing', { name: env.namespaces.app, mesh: options.mesh });
  const greeterChart = new Chart(app, 'greeter');
  const greeter = new GreeterApp(greeterChart, 'greeter', {
    namespace,
    image: environmentImage(env, 'server'),
    replicas: env.replicas.greeter,
    maxConnectionAge: options.maxConnectionAge,
  });
  greeterChart.addDependency(namespaceChart);
  return { namespaceChart, namespace, greeterChart, greeter };
}

/**
 * The TLS of a strategy's front door: with `tls.source: 'cert-manager'` a `SelfSignedCertificate` in `chart`,
 * otherwise the Secret the operator creates with `npm run certs`.
 */
export function frontDoorTls(chart: Chart, env: EnvironmentConfig, endpoint: IGrpcEndpoint): StrategyOutput & { certificate?: SelfSignedCertificate } {
  const { tls } = endpoint;
  if (tls === undefined) return {};
  if (env.tls.source === 'cert-manager') return { certificate: new SelfSignedCertificate(chart, 'certificate', { endpoint }) };
  return { tlsSecret: { namespace: endpoint.clientNamespace.name, secretName: tls.secretName, host: tls.serverName } };
}

/** The last chart: the greeter client calling the strategy's front door, after the charts it needs. */
export function clientChart(app: App, env: EnvironmentConfig, endpoint: IGrpcEndpoint, after: readonly Chart[]): GreeterClientTest {
  const chart = new Chart(app, 'client');
  const client = new GreeterClientTest(chart, 'client', { endpoint, image: environmentImage(env, 'client') });
  chart.addDependency(...after);
  return client;
}
