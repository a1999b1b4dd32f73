import { Chart } from 'cdk8s';
import { NginxGrpcIngress } from '../../lib';
import { clientChart, frontDoorTls, greeterCharts, type Strategy } from '../strategy';

/** ingress-nginx terminates TLS and balances each call over the greeter's pods; no mesh. */
export const nginxIngress: Strategy = {
  name: 'nginx-ingress',
  summary: 'ingress-nginx Ingress with backend protocol GRPC; nginx balances each call over the pods',
  render(app, env) {
    const { namespaceChart, greeterChart, greeter } = greeterCharts(app, env, { mesh: 'none' });
    const ingressChart = new Chart(app, 'ingress');
    const ingress = new NginxGrpcIngress(ingressChart, 'ingress', { backend: greeter, host: env.host, tlsSecretName: env.tls.secretName });
    const { tlsSecret } = frontDoorTls(ingressChart, env, ingress);
    ingressChart.addDependency(namespaceChart, greeterChart);
    clientChart(app, env, ingress, [ingressChart]);
    return { tlsSecret };
  },
};
