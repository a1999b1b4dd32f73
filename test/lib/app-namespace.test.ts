import { Chart, Testing } from 'cdk8s';
import { AppNamespace } from '../../lib';

describe('AppNamespace', () => {
  test('renders a Namespace labelled for Istio sidecar injection by default', () => {
    const chart = Testing.chart();
    new AppNamespace(chart, 'ns', { name: 'testing' });
    expect(Testing.synth(chart)).toMatchSnapshot();
  });

  test('istioInjection: false leaves the label off', () => {
    const chart = Testing.chart();
    new AppNamespace(chart, 'ns', { name: 'plain', istioInjection: false });
    expect(Testing.synth(chart)).toEqual([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'plain' }, spec: {} }]);
  });

  test.each(['Testing', 'has_underscore', '-leading', 'trailing-', 'x'.repeat(64), ''])('rejects the name %j, naming prop and value', (name) => {
    const chart: Chart = Testing.chart();
    expect(() => new AppNamespace(chart, 'ns', { name })).toThrow(`AppNamespace 'ns': name must be a DNS-1123 label`);
    expect(() => new AppNamespace(Testing.chart(), 'ns', { name })).toThrow(`got ${JSON.stringify(name)}`);
  });
});
