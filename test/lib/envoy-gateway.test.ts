/**
 * Envoy Gateway: `GrpcGateway` with class `eg` (the EnvoyProxy that names the Service clients dial) and
 * `EnvoyGatewayGrpcPolicy` (the BackendTrafficPolicy on a GRPCRoute), rendered and checked field by field, with their
 * bad props. What Envoy Gateway v1.9.0 reads is cited in the constructs; the dist/ rows are in control-planes.test.ts.
 */
import { Duration, Testing } from 'cdk8s';
import {
  AppNamespace,
  EnvoyGatewayGrpcPolicy,
  GKE_INTERNAL_LOAD_BALANCER,
  GrpcGateway,
  GrpcRoute,
  existingNamespace,
  type EnvoyGatewayGrpcPolicyProps,
  type GrpcGatewayProps,
} from '../../lib';
import { GreeterApp } from '../../deploy/greeter-app';
import { ENVOY_GATEWAY_CLASS } from '../../lib';
import { ENVOY_GATEWAY_RETRY_CONDITIONS } from '../../lib/grpc-retry-policy';
import * as eg from '../../lib/imports/gateway.envoyproxy.io';
import { gatewayApiDuration } from '../../lib/internal/validate';
import { image } from '../../harness/fixtures';
import type { KubeObject } from '../../harness/manifests';

function envoyGateway(props: Partial<GrpcGatewayProps> = {}) {
  const chart = Testing.chart();
  const namespace = new AppNamespace(chart, 'ns', { name: 'shop', mesh: 'none' });
  const app = new GreeterApp(chart, 'greeter', { namespace, image });
  const gateway = new GrpcGateway(chart, 'gateway', {
    namespace,
    gatewayClassName: ENVOY_GATEWAY_CLASS,
    host: 'grpc.example.com',
    tlsSecretName: 'grpc-tls',
    name: 'edge',
    ...props,
  });
  return { chart, namespace, app, gateway };
}
const synth = (chart: ReturnType<typeof Testing.chart>) => Testing.synth(chart) as KubeObject[];
const one = (objects: readonly KubeObject[], kind: string) => {
  const found = objects.filter((o) => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
};

describe("GrpcGateway of class 'eg'", () => {
  test('an EnvoyProxy in the Gateway’s namespace names the Service, sets its annotations, replicas and disruption budget', () => {
    const { chart, gateway } = envoyGateway({ loadBalancerAnnotations: GKE_INTERNAL_LOAD_BALANCER, replicas: 3 });
    const objects = synth(chart);
    const proxy = one(objects, 'EnvoyProxy');
    expect(proxy.apiVersion).toBe('gateway.envoyproxy.io/v1alpha1');
    expect(proxy.metadata).toEqual({ name: 'edge', namespace: 'shop' });
    expect(proxy.spec).toEqual({
      provider: {
        type: 'Kubernetes',
        kubernetes: {
          envoyService: { name: 'shop-edge', type: 'LoadBalancer', annotations: GKE_INTERNAL_LOAD_BALANCER },
          envoyDeployment: { replicas: 3 },
          envoyPDB: { maxUnavailable: 1 },
        },
      },
    });
    const gatewayObject = one(objects, 'Gateway');
    // The load balancer's annotations only on the Service: Envoy Gateway copies infrastructure.annotations everywhere.
    expect(gatewayObject.spec.infrastructure).toEqual({
      parametersRef: { group: 'gateway.envoyproxy.io', kind: 'EnvoyProxy', name: 'edge' },
    });
    expect(gatewayObject.spec.gatewayClassName).toBe('eg');
    // The EnvoyProxy is applied before the Gateway that refers to it.
    expect(objects.indexOf(proxy)).toBeLessThan(objects.indexOf(gatewayObject));
    expect(objects.filter((o) => o.kind === 'ConfigMap')).toEqual([]);
    expect(gateway.identity).toBeUndefined();
  });

  test('clients dial the named Service in Envoy Gateway’s namespace, or where serviceNamespace says', () => {
    expect(envoyGateway().gateway.grpcTarget).toBe('shop-edge.envoy-gateway-system.svc.cluster.local:443');
    const gatewayNamespaceMode = envoyGateway({
      serviceNamespace: existingNamespace('shop'),
      serviceName: 'edge',
    }).gateway;
    expect(gatewayNamespaceMode.grpcTarget).toBe('edge.shop.svc.cluster.local:443');
    // The client runs beside the TLS Secret, in the Gateway's namespace.
    expect(gatewayNamespaceMode.clientNamespace.name).toBe('shop');
  });

  test('one replica: no disruption budget, no annotations', () => {
    const objects = synth(envoyGateway({ replicas: 1 }).chart);
    expect(one(objects, 'EnvoyProxy').spec.provider.kubernetes).toEqual({
      envoyService: { name: 'shop-edge', type: 'LoadBalancer' },
      envoyDeployment: { replicas: 1 },
    });
  });

  test('bad props name the construct, the prop and the value', () => {
    expect(() => envoyGateway({ replicas: 0 })).toThrow(
      `GrpcGateway 'test/gateway': replicas must be an integer >= 1, got 0`,
    );
    expect(() => envoyGateway({ serviceName: 'Edge' })).toThrow(
      `GrpcGateway 'test/gateway': serviceName must be a DNS-1123 label`,
    );
    // Istio always deploys the Service beside its Gateway.
    expect(() => envoyGateway({ gatewayClassName: 'istio', serviceNamespace: existingNamespace('elsewhere') })).toThrow(
      `GrpcGateway 'test/gateway': serviceNamespace must be unset or the Gateway's namespace ("shop"): Istio deploys the Service beside the Gateway, got "elsewhere"`,
    );
    expect(() => envoyGateway({ gatewayClassName: 'other', serviceName: 'edge', replicas: 2 })).toThrow(
      `GrpcGateway 'test/gateway': replicas must be unset for class "other"`,
    );
  });
});

describe('EnvoyGatewayGrpcPolicy', () => {
  function policy(props: Partial<EnvoyGatewayGrpcPolicyProps> = {}) {
    const { chart, app, gateway } = envoyGateway();
    const route = new GrpcRoute(chart, 'route', { gateway, backend: app, grpcServices: ['helloworld.Greeter'] });
    new EnvoyGatewayGrpcPolicy(chart, 'policy', { route, ...props });
    return one(synth(chart), 'BackendTrafficPolicy');
  }

  // Envoy Gateway's own retry defaults once a policy has `retry` (v1.9.0 internal/xds/translator/route.go
  // retryDefaultNumRetries, retryDefaultRetryOn), no per-try timeout and no request timeout.
  test("defaults: round robin per call, Envoy Gateway's own retries, no timeouts, outlier ejection", () => {
    const btp = policy();
    expect(btp.apiVersion).toBe('gateway.envoyproxy.io/v1alpha1');
    expect(btp.metadata).toEqual({ name: 'greeter', namespace: 'shop' });
    expect(btp.spec).toEqual({
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'GRPCRoute', name: 'greeter' }],
      loadBalancer: { type: 'RoundRobin' },
      retry: {
        numRetries: 2,
        retryOn: {
          triggers: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
        },
      },
      healthCheck: {
        passive: { consecutiveGatewayErrors: 5, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
      },
    });
  });

  test("its own triggers, such as reset-before-request, which Istio's list shares but Linkerd's lacks", () => {
    const btp = policy({
      retries: { retryOn: ['reset-before-request', 'connect-failure'], perTryTimeout: Duration.seconds(1) },
    });
    expect(btp.spec.retry).toEqual({
      numRetries: 2,
      perRetry: { timeout: '1s' },
      retryOn: { triggers: ['reset-before-request', 'connect-failure'] },
    });
  });

  test('its retry conditions are the BackendTrafficPolicy CRD enum of Envoy Gateway v1.9.0', () => {
    expect([...ENVOY_GATEWAY_RETRY_CONDITIONS].sort()).toEqual(
      Object.values(eg.BackendTrafficPolicySpecRetryRetryOnTriggers).sort(),
    );
  });

  test('options: least request, no retries, a finer timeout', () => {
    const btp = policy({
      name: 'greeter-policy',
      loadBalancing: 'LeastRequest',
      retries: { attempts: 0 },
      timeout: Duration.millis(1500),
      consecutiveErrorsToEject: 2,
    });
    expect(btp.metadata.name).toBe('greeter-policy');
    expect(btp.spec.loadBalancer).toEqual({ type: 'LeastRequest' });
    expect(btp.spec.retry).toBeUndefined();
    expect(btp.spec.timeout).toEqual({ http: { requestTimeout: '1500ms' } });
    expect(btp.spec.healthCheck.passive.consecutiveGatewayErrors).toBe(2);
  });

  test.each([
    [
      { loadBalancing: 'ConsistentHash' as 'Random' },
      `loadBalancing must be one of "RoundRobin", "LeastRequest", "Random", got "ConsistentHash"`,
    ],
    // Istio's trigger that Envoy Gateway v1.9.0's enum lacks.
    [
      { retries: { retryOn: ['unavailable', 'envoy-ratelimited'] } } as const,
      `retries.retryOn[1] must be one of "5xx", "gateway-error", "reset", "reset-before-request"`,
    ],
    [{ retries: { retryOn: [] } }, `retries.retryOn must be a non-empty list of 5xx, gateway-error`],
    [{ retries: { attempts: 11 } }, `retries.attempts must be an integer from 0 to 10, got 11`],
    [
      { retries: { perTryTimeout: Duration.seconds(5) }, timeout: Duration.seconds(2) },
      `timeout must be at least retries.perTryTimeout (5000 ms), got "2000 ms"`,
    ],
    [{ timeout: Duration.days(2) }, `timeout must be a Duration of at most 99999 s, got "172800000 ms"`],
    [{ consecutiveErrorsToEject: 0 }, `consecutiveErrorsToEject must be an integer >= 1, got 0`],
    [{ name: 'Greeter Policy' }, `name must be a DNS-1123 subdomain`],
  ])('rejects %j', (props, message) => {
    expect(() => policy(props as Partial<EnvoyGatewayGrpcPolicyProps>)).toThrow(
      `EnvoyGatewayGrpcPolicy 'test/policy': ${message}`,
    );
  });
});

test.each([
  [0, '0s'],
  [2000, '2s'],
  [1500, '1500ms'],
  [99_999, '99999ms'],
  [120_500, '120s500ms'],
  [99_999_000, '99999s'],
])('gatewayApiDuration(%d) is %s, within GEP-2257’s pattern', (ms, text) => {
  const duration = gatewayApiDuration({ construct: 'Test', id: 't' }, 'd', ms);
  expect(duration).toBe(text);
  // The pattern of every duration field in the Gateway API and Envoy Gateway CRDs.
  expect(duration).toMatch(/^([0-9]{1,5}(h|m|s|ms)){1,4}$/);
});
