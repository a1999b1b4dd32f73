import { Chart } from 'cdk8s';
import { GREETER_SERVICE } from '../../app/settings';
import { CloudEndpointsProxy, GrpcRoute, PropValidator, existingNamespace, type GrpcGateway } from '../../lib';
import { type GreeterApp } from '../greeter-app';
import { clientChart, gatewayApiGateway, greeterCharts, type Strategy, type StrategyOutput } from '../strategy';

/** The constructs of the strategy, for callers that inspect or extend them (`npm run endpoints` reads the proxy's API config). */
export interface EndpointsOutput extends StrategyOutput {
  readonly greeter: GreeterApp;
  readonly proxy: CloudEndpointsProxy;
  readonly gateway: GrpcGateway;
  readonly route: GrpcRoute;
}

/**
 * Cloud Endpoints on GKE: ESPv2 sidecars in front of the greeter (no mesh: ESPv2 is the pod's proxy), and, since
 * ESPv2 only forwards to its own pod, the Gateway API gateway of the `gateway-api` strategy in front of their
 * Service to balance each call over the pods. The gateway runs in the gateway namespace (`istio-system`, as in the
 * istio-ilb walkthrough, where the TLS Secret lives too) and admits the route from the app's namespace.
 */
export const endpoints: Strategy<EndpointsOutput> = {
  name: 'endpoints',
  summary:
    'Google Cloud Endpoints: ESPv2 sidecars behind a Gateway API gateway (class istio), which balances each call',
  render(app, env) {
    if (env.endpoints === undefined) {
      throw PropValidator.named('EnvironmentConfig', env.name).error(
        'endpoints',
        env.endpoints,
        "{ serviceName } for the 'endpoints' strategy: ESPv2 needs a Cloud Endpoints service on Google Cloud",
      );
    }
    const { namespaceChart, namespace, greeterChart, greeter } = greeterCharts(app, env, { mesh: 'none' });
    const proxy = new CloudEndpointsProxy(greeterChart, 'endpoints', {
      app: greeter,
      endpointsServiceName: env.endpoints.serviceName,
      apis: [GREETER_SERVICE],
      title: 'Greeter gRPC API',
    });
    const { gatewayChart, gateway, tlsSecret } = gatewayApiGateway(
      app,
      env,
      { namespace: existingNamespace(env.namespaces.gateway), routeNamespace: namespace },
      namespaceChart,
    );

    const routingChart = new Chart(app, 'routing');
    // Only the API that Endpoints serves: ESPv2 would reject any other service's calls anyway.
    const route = new GrpcRoute(routingChart, 'route', { gateway, backend: proxy, grpcServices: proxy.apis });
    routingChart.addDependency(greeterChart, gatewayChart);

    clientChart(app, env, gateway, [gatewayChart]);
    return { greeter, proxy, gateway, route, tlsSecret };
  },
};
