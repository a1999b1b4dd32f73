import { Chart, Duration } from 'cdk8s';
import { HeadlessGrpcService } from '../../lib';
import { clientChart, greeterCharts, type Strategy } from '../strategy';

/** How long a client keeps a connection before the server's GOAWAY makes it re-resolve DNS. */
const HEADLESS_MAX_CONNECTION_AGE = Duration.seconds(30);

/** A headless Service and the client's own round_robin balance each call; no proxy, no mesh. */
export const headless: Strategy = {
  name: 'headless',
  summary: 'headless Service (one A record per pod) and grpc-js round_robin in the client; connections aged out',
  render(app, env) {
    const { namespaceChart, greeterChart, greeter } = greeterCharts(app, env, {
      mesh: 'none',
      maxConnectionAge: HEADLESS_MAX_CONNECTION_AGE,
    });
    const headlessChart = new Chart(app, 'headless');
    const service = new HeadlessGrpcService(headlessChart, 'headless', { backend: greeter });
    headlessChart.addDependency(namespaceChart, greeterChart);
    clientChart(app, env, service, [headlessChart]);
    return {};
  },
};
