/** This repository's own constructs for the greeter, rendered with their minimal props. */
import { Chart, Testing } from 'cdk8s';
import { existingNamespace, type IGrpcEndpoint } from '../../lib';
import { GreeterApp } from '../../deploy/greeter-app';
import { GreeterClient } from '../../deploy/greeter-client';

const namespace = existingNamespace('payments');
const plaintextEndpoint: IGrpcEndpoint = {
  grpcTarget: 'payments.payments.svc.cluster.local:9090',
  loadBalancingPolicy: 'pick_first',
  clientNamespace: namespace,
};

test('GreeterApp with minimal props', () => {
  const chart = new Chart(Testing.app(), 'subject');
  new GreeterApp(chart, 'greeter', { namespace, image: { repository: 'greeter-server', tag: '1.0.0' } });
  expect(Testing.synth(chart)).toMatchSnapshot();
});

test('GreeterClient with minimal props', () => {
  const chart = new Chart(Testing.app(), 'subject');
  new GreeterClient(chart, 'client', {
    endpoint: plaintextEndpoint,
    image: { repository: 'greeter-client', tag: '1.0.0' },
  });
  expect(Testing.synth(chart)).toMatchSnapshot();
});
