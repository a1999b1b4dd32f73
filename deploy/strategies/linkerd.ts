import { LinkerdGrpcPolicy } from '../../lib';
import { clientChart, greeterCharts, type Strategy } from '../strategy';

/** Linkerd's proxies in the app's namespace (client and server) balance each call; retries by an outbound GRPCRoute. */
export const linkerd: Strategy = {
  name: 'linkerd',
  summary: "Linkerd's sidecar proxy in the client balances each call over the ClusterIP Service's endpoints",
  render(app, env) {
    const { namespaceChart, greeterChart, greeter } = greeterCharts(app, env, { mesh: 'linkerd' });
    // The policy's GRPCRoute names the greeter's Service as its parent: it lives in the greeter's chart and file.
    new LinkerdGrpcPolicy(greeterChart, 'linkerd-policy', { backend: greeter });
    clientChart(app, env, greeter, [namespaceChart, greeterChart]);
    return {};
  },
};
