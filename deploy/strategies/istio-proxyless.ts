import { Chart } from 'cdk8s';
import { IstioProxylessGrpcPolicy } from '../../lib';
import { clientChart, greeterCharts, type Strategy } from '../strategy';

/**
 * Istio's proxyless gRPC: no Envoy in the data path. The greeter's and the client's pods get Istio's `grpc-agent`
 * (pilot-agent writes the xDS bootstrap and proxies the xDS stream to istiod), the client dials
 * `xds:///greeter.testing.svc.cluster.local:50051` and grpc-js balances each call over the endpoints istiod sends.
 * Istio documents ROUND_ROBIN as the only DestinationRule load balancer proxyless gRPC supports, TLS modes DISABLE or
 * ISTIO_MUTUAL, and PeerAuthentication DISABLE or STRICT (https://istio.io/latest/blog/2021/proxyless-grpc/). mTLS
 * needs xDS-enabled servers with xDS credentials (gRFC A29/A36); the greeter server is a plain grpc-js server, so its
 * pods do not carry `security.istio.io/tlsMode: istio` (grpc-agent.yaml: set by the user only when gRPC initializes
 * mTLS) and Istio's auto mTLS sends them plaintext.
 */
export const istioProxyless: Strategy = {
  name: 'istio-proxyless',
  summary: "Istio proxyless gRPC: istiod programs the client's grpc-js over xDS, which balances each call; no sidecar",
  render(app, env) {
    const { namespaceChart, greeterChart, greeter } = greeterCharts(app, env, { mesh: 'istio', istioProxyless: true });
    const routingChart = new Chart(app, 'routing');
    new IstioProxylessGrpcPolicy(routingChart, 'destination-rule', { backend: greeter });
    routingChart.addDependency(greeterChart);
    clientChart(app, env, greeter, [namespaceChart, routingChart]);
    return {};
  },
};
