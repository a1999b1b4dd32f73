import { Chart } from 'cdk8s';
import {
  AmbientAccessPolicy,
  GrpcRoute,
  IstioWaypoint,
  MeshGrpcRoute,
  existingNamespace,
  type AppNamespace,
  type GrpcGateway,
  type SelfSignedCertificate,
} from '../../lib';
import { type GreeterApp } from '../greeter-app';
import { greeterClientIdentity, type GreeterClient } from '../greeter-client';
import {
  PUBLIC_GRPC_SERVICES,
  clientChart,
  gatewayApiGateway,
  greeterCharts,
  type Strategy,
  type StrategyOutput,
} from '../strategy';

/** The constructs of the strategy, for callers that inspect or extend them. */
export interface IstioAmbientOutput extends StrategyOutput {
  readonly namespace: AppNamespace;
  readonly greeter: GreeterApp;
  readonly waypoint: IstioWaypoint;
  readonly gateway: GrpcGateway;
  readonly edgeRoute: GrpcRoute;
  readonly meshRoute: MeshGrpcRoute;
  readonly security: AmbientAccessPolicy;
  readonly certificate?: SelfSignedCertificate;
  readonly client: GreeterClient;
}

/**
 * Istio in ambient mode: the app's namespace is enrolled in ambient (ztunnel on each node carries its pods' traffic,
 * at L4 only) and the greeter's Service is bound to a waypoint, which balances each call of every meshed client, the
 * in-cluster client included, and applies the mesh GRPCRoute attached to the Service. Callers outside the cluster
 * come in through a Gateway API gateway of class `istio` in the gateway namespace (where its TLS Secret is, and whose
 * pods need more than the app namespace's Pod Security `restricted`), whose Envoy sends them through the waypoint
 * too. ztunnel admits only the waypoint to the pods (L4), and the waypoint only the gateway and the client, for the
 * greeter's public service (L7).
 */
export const istioAmbient: Strategy<IstioAmbientOutput> = {
  name: 'istio-ambient',
  summary:
    "Istio ambient: ztunnel sends the client's connection to the Service's waypoint, which balances each call; an Istio Gateway API gateway for callers outside",
  render(app, env) {
    const { namespaceChart, namespace, greeterChart, greeter } = greeterCharts(app, env, { mesh: 'istio-ambient' });

    const waypointChart = new Chart(app, 'waypoint');
    const waypoint = new IstioWaypoint(waypointChart, 'waypoint', { backend: greeter, replicas: env.replicas.gateway });
    waypointChart.addDependency(namespaceChart, greeterChart);

    const { gatewayChart, gateway, certificate, tlsSecret } = gatewayApiGateway(
      app,
      env,
      { namespace: existingNamespace(env.namespaces.gateway), routeNamespace: namespace },
      namespaceChart,
    );

    const routingChart = new Chart(app, 'routing');
    const edgeRoute = new GrpcRoute(routingChart, 'edge', {
      gateway,
      backend: greeter,
      grpcServices: PUBLIC_GRPC_SERVICES,
      name: `${greeter.serviceName}-edge`,
    });
    const meshRoute = new MeshGrpcRoute(routingChart, 'mesh', { backend: greeter });
    routingChart.addDependency(greeterChart, gatewayChart, waypointChart);

    const securityChart = new Chart(app, 'security');
    const security = new AmbientAccessPolicy(securityChart, 'access', {
      backend: greeter,
      waypoint,
      allowedCallers: [...(gateway.identity === undefined ? [] : [gateway.identity]), greeterClientIdentity(greeter)],
      grpcServices: PUBLIC_GRPC_SERVICES,
    });
    securityChart.addDependency(greeterChart, gatewayChart, waypointChart);

    const client = clientChart(app, env, greeter, [waypointChart, routingChart, securityChart]);
    return {
      namespace,
      greeter,
      waypoint,
      gateway,
      edgeRoute,
      meshRoute,
      security,
      certificate,
      client,
      tlsSecret,
    };
  },
};
