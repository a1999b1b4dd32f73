import { Chart, Duration } from 'cdk8s';
import { HeadlessGrpcService } from '../../lib';
import { clientChart, greeterCharts, type Strategy } from '../strategy';

/**
 * How long a client keeps a connection before the server's GOAWAY makes it resolve DNS again: a pod added by a
 * scale-up gets its share within about this long (its clients resolve at most every 2 s, HeadlessGrpcService's
 * minTimeBetweenResolutions, so every age counts).
 */
const HEADLESS_MAX_CONNECTION_AGE = Duration.seconds(10);

/**
 * Cluster DNS answers a headless name from its cache for up to 30 s: the Corefile Kubernetes installs CoreDNS with
 * sets `ttl 30` and `cache 30` (https://kubernetes.io/docs/tasks/administer-cluster/dns-custom-nameservers/). A
 * terminating pod serves a second longer, so the resolution its GOAWAY triggers no longer lists it and already lists
 * the pod that replaced it. (With CoreDNS's own default TTL, 5 s, 6 s would do.)
 */
const HEADLESS_DRAIN_DELAY = Duration.seconds(31);

/** A headless Service and the client's own round_robin balance each call; no proxy, no mesh. */
export const headless: Strategy = {
  name: 'headless',
  summary: 'headless Service (one A record per pod) and grpc-js round_robin in the client; connections aged out',
  render(app, env) {
    const { namespaceChart, greeterChart, greeter } = greeterCharts(app, env, {
      mesh: 'none',
      maxConnectionAge: HEADLESS_MAX_CONNECTION_AGE,
      drainDelay: HEADLESS_DRAIN_DELAY,
    });
    const headlessChart = new Chart(app, 'headless');
    const service = new HeadlessGrpcService(headlessChart, 'headless', { backend: greeter });
    headlessChart.addDependency(namespaceChart, greeterChart);
    clientChart(app, env, service, [headlessChart]);
    return {};
  },
};
