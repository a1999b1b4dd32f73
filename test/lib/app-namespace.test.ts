import { Chart, Testing } from 'cdk8s';
import { AppNamespace } from '../../lib';

describe('AppNamespace', () => {
  test('renders a Namespace labelled for Istio sidecar injection by default', () => {
    const chart = Testing.chart();
    new AppNamespace(chart, 'ns', { name: 'testing' });
    expect(Testing.synth(chart)).toEqual([
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: 'testing',
          labels: {
            'istio-injection': 'enabled',
            'pod-security.kubernetes.io/enforce': 'baseline',
            'pod-security.kubernetes.io/warn': 'restricted',
            'pod-security.kubernetes.io/audit': 'restricted',
          },
        },
      },
    ]);
  });

  test("mesh: 'none' and no Pod Security Admission leave the labels off", () => {
    const chart = Testing.chart();
    new AppNamespace(chart, 'ns', { name: 'plain', mesh: 'none', podSecurity: {} });
    expect(Testing.synth(chart)).toEqual([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'plain' } }]);
  });

  test("mesh: 'linkerd' annotates the Namespace for Linkerd's injector; 'none' enforces restricted", () => {
    const chart = Testing.chart();
    new AppNamespace(chart, 'linkerd', { name: 'linkerd-app', mesh: 'linkerd' });
    new AppNamespace(chart, 'plain', { name: 'plain-app', mesh: 'none' });
    const [linkerd, plain] = Testing.synth(chart);
    expect(linkerd.metadata.annotations).toEqual({ 'linkerd.io/inject': 'enabled' });
    expect(linkerd.metadata.labels).not.toHaveProperty('istio-injection');
    expect(linkerd.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('baseline');
    expect(plain.metadata.labels).toEqual({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
  });

  test("mesh: 'istio-ambient' enrols the Namespace in ambient and, with nothing injected into pods, enforces restricted", () => {
    const chart = Testing.chart();
    new AppNamespace(chart, 'ns', { name: 'ambient', mesh: 'istio-ambient' });
    expect(Testing.synth(chart)[0].metadata).toEqual({
      name: 'ambient',
      labels: {
        // istio/api 1.30.3 label/labels.yaml istio.io/dataplane-mode: `ambient`.
        'istio.io/dataplane-mode': 'ambient',
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/warn': 'restricted',
        'pod-security.kubernetes.io/audit': 'restricted',
      },
    });
  });

  test('enforces baseline and warns and audits restricted by default; each mode can be set', () => {
    const chart = Testing.chart();
    new AppNamespace(chart, 'default', { name: 'default-levels' });
    new AppNamespace(chart, 'strict', { name: 'strict', podSecurity: { enforce: 'restricted' } });
    const [defaults, strict] = Testing.synth(chart);
    expect(defaults.metadata.labels).toEqual({
      'istio-injection': 'enabled',
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
    expect(strict.metadata.labels).toEqual({
      'istio-injection': 'enabled',
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
  });

  test('rejects an unknown Pod Security level, naming the mode and the value', () => {
    expect(
      () => new AppNamespace(Testing.chart(), 'ns', { name: 'x', podSecurity: { warn: 'strict' as 'restricted' } }),
    ).toThrow(
      `AppNamespace 'test/ns': podSecurity.warn must be one of "privileged", "baseline", "restricted", got "strict"`,
    );
  });

  test.each(['Testing', 'has_underscore', '-leading', 'trailing-', 'x'.repeat(64), ''])(
    'rejects the name %j, naming prop and value',
    (name) => {
      const chart: Chart = Testing.chart();
      expect(() => new AppNamespace(chart, 'ns', { name })).toThrow(
        `AppNamespace 'test/ns': name must be a DNS-1123 label`,
      );
      expect(() => new AppNamespace(Testing.chart(), 'ns', { name })).toThrow(`got ${JSON.stringify(name)}`);
    },
  );
});
