import { Chart } from 'cdk8s';
import { NginxGrpcIngress } from '../../lib';
import { PUBLIC_GRPC_SERVICES, clientChart, frontDoorTls, greeterCharts, type Strategy } from '../strategy';

/**
 * ingress-nginx terminates TLS and balances each call over the greeter's pods; no mesh. Deprecated: ingress-nginx is
 * retired (Kubernetes SIG Network, https://kubernetes.io/blog/2025/11/11/ingress-nginx-retirement/: best-effort
 * maintenance until March 2026, then no releases, bug fixes or security fixes); use `envoy-gateway`.
 */
export const nginxIngress: Strategy = {
  name: 'nginx-ingress',
  summary:
    'DEPRECATED (ingress-nginx is retired: no fixes after March 2026; use envoy-gateway): ingress-nginx Ingress with backend protocol GRPC; nginx balances each call over the pods',
  render(app, env) {
    const { namespaceChart, greeterChart, greeter } = greeterCharts(app, env, { mesh: 'none' });
    const ingressChart = new Chart(app, 'ingress');
    const ingress = new NginxGrpcIngress(ingressChart, 'ingress', {
      backend: greeter,
      host: env.host,
      tlsSecretName: env.tls.secretName,
      grpcServices: PUBLIC_GRPC_SERVICES,
    });
    const { tlsSecret } = frontDoorTls(ingressChart, env, ingress);
    ingressChart.addDependency(namespaceChart, greeterChart);
    clientChart(app, env, ingress, [ingressChart]);
    return { tlsSecret };
  },
};
