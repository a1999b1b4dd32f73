import { Chart } from 'cdk8s';
import { EndpointSliceReader } from '../../lib';
import { clientChart, greeterCharts, type Strategy } from '../strategy';

/**
 * The client watches EndpointSlices and balances each call over the ready pods itself; no proxy, no mesh. The
 * greeter client resolves its `kubernetes:///` target with the package grpc-js-kubernetes-resolver (resolver/),
 * which any Node client can use the same way (resolver/README.md); `EndpointSliceReader` renders the RBAC it needs.
 */
export const k8sResolver: Strategy = {
  name: 'k8s-resolver',
  summary: 'the client watches EndpointSlices through the Kubernetes API and balances each call with round_robin',
  render(app, env) {
    const { namespaceChart, greeterChart, greeter } = greeterCharts(app, env, { mesh: 'none' });
    const rbacChart = new Chart(app, 'rbac');
    const reader = new EndpointSliceReader(rbacChart, 'endpoint-reader', { backend: greeter });
    rbacChart.addDependency(namespaceChart, greeterChart);
    clientChart(app, env, reader, [rbacChart]);
    return {};
  },
};
