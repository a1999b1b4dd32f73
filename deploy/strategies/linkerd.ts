import { Duration } from 'cdk8s';
import { LinkerdGrpcPolicy } from '../../lib';
import { GREETER_CALL_TIMEOUT, clientChart, greeterCharts, type Strategy } from '../strategy';

/** Linkerd's proxies in the app's namespace (client and server) balance each call; retries by an outbound GRPCRoute. */
export const linkerd: Strategy = {
  name: 'linkerd',
  summary: "Linkerd's sidecar proxy in the client balances each call over the ClusterIP Service's endpoints",
  render(app, env) {
    const { namespaceChart, greeterChart, greeter } = greeterCharts(app, env, { mesh: 'linkerd' });
    // The policy's GRPCRoute names the greeter's Service as its parent: it lives in the greeter's chart and file.
    // Linkerd retries by gRPC status only: what a pod that is going away answers (SayHello may run twice).
    new LinkerdGrpcPolicy(greeterChart, 'linkerd-policy', {
      backend: greeter,
      retries: { attempts: 2, perTryTimeout: Duration.seconds(2), retryOn: ['cancelled', 'unavailable'] },
      timeout: GREETER_CALL_TIMEOUT,
    });
    clientChart(app, env, greeter, [namespaceChart, greeterChart]);
    return {};
  },
};
