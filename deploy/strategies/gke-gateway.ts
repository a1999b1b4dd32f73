import { Chart, Duration } from 'cdk8s';
import { GKE_HTTP2_OVER_TLS } from 'grpc-k8s-lb-common';
import {
  GkeGateway,
  GkeGrpcBackendPolicy,
  GrpcHttpRoute,
  type AppNamespace,
  type SelfSignedCertificate,
} from '../../lib';
import { type GreeterApp } from '../greeter-app';
import { type GreeterClient } from '../greeter-client';
import {
  GATEWAY_NAME,
  PUBLIC_GRPC_SERVICES,
  clientChart,
  frontDoorTls,
  greeterCharts,
  type Strategy,
  type StrategyOutput,
} from '../strategy';

/** The constructs of the strategy, for callers that inspect or extend them. */
export interface GkeGatewayOutput extends StrategyOutput {
  readonly namespace: AppNamespace;
  readonly greeter: GreeterApp;
  readonly gateway: GkeGateway;
  readonly route: GrpcHttpRoute;
  readonly policy: GkeGrpcBackendPolicy;
  readonly certificate?: SelfSignedCertificate;
  readonly client: GreeterClient;
}

/**
 * GKE's own Gateway controller, no mesh: a Gateway of class `gke-l7-rilb` (a regional internal Application Load
 * Balancer, Google-managed) and an HTTPRoute (GKE takes no GRPCRoute) that send each call to a greeter pod through
 * container-native load balancing. HTTP/2 to the pods over TLS (appProtocol `HTTP2`) is what Google documents
 * (cleartext `kubernetes.io/h2c` is read as HTTP/2 by the app-protocol table, but no GKE document we could read says
 * so), so the greeter serves TLS with the gateway's own certificate, and without TLS on a second port for the kubelet's
 * gRPC probes and the load balancer's gRPC health check (HealthCheckPolicy); a GCPBackendPolicy drains a leaving pod as
 * long as the greeter does. The Gateway, the route, the policies and the TLS Secret live in the app's namespace.
 */
export const gkeGateway: Strategy<GkeGatewayOutput> = {
  name: 'gke-gateway',
  summary:
    "GKE's Gateway controller (class gke-l7-rilb): a Google Cloud internal Application Load Balancer sends each call to a pod (NEGs); managed, no mesh",
  render(app, env) {
    const { namespaceChart, namespace, greeterChart, greeter } = greeterCharts(app, env, {
      mesh: 'none',
      appProtocol: GKE_HTTP2_OVER_TLS,
      tls: { secretName: env.tls.secretName },
    });

    const gatewayChart = new Chart(app, 'gateway');
    const gateway = new GkeGateway(gatewayChart, 'gateway', {
      namespace,
      name: GATEWAY_NAME,
      host: env.host,
      tlsSecretName: env.tls.secretName,
    });
    const { certificate, tlsSecret } = frontDoorTls(gatewayChart, env, gateway);
    gatewayChart.addDependency(namespaceChart);

    const routingChart = new Chart(app, 'routing');
    const route = new GrpcHttpRoute(routingChart, 'route', {
      gateway,
      backend: greeter,
      grpcServices: PUBLIC_GRPC_SERVICES,
    });
    const policy = new GkeGrpcBackendPolicy(routingChart, 'policy', {
      backend: greeter,
      healthCheckPort: greeter.plaintextPort,
      drainTimeout: Duration.millis(greeter.drainTimeMs),
    });
    routingChart.addDependency(greeterChart, gatewayChart);

    const client = clientChart(app, env, gateway, [gatewayChart, routingChart]);
    return { namespace, greeter, gateway, route, policy, certificate, client, tlsSecret };
  },
};
