/** The constructs most tests start from: the app's namespace, a greeter and an Istio gateway, in a test chart. */
import { Chart, Testing } from 'cdk8s';
import { AppNamespace, IstioIlbGateway, existingNamespace } from '../lib';
import { GreeterApp } from '../deploy/greeter-app';

export const image = { repository: 'greeter-server', tag: '1.0.0' };

export function fixture(chart: Chart = Testing.chart()) {
  const namespace = new AppNamespace(chart, 'ns', { name: 'testing' });
  const app = new GreeterApp(chart, 'greeter', { namespace, image });
  const gateway = new IstioIlbGateway(chart, 'gateway', {
    namespace: existingNamespace('istio-system'),
    configNamespace: namespace,
    host: 'grpc.example.com',
    tlsSecretName: 'grpc-tls',
  });
  return { chart, namespace, app, gateway };
}
