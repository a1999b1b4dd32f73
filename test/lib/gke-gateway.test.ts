/**
 * GKE's Gateway constructs: the Gateway of a GKE class, the HTTPRoute that carries gRPC (GKE's conformance reports
 * claim no GRPCRoute: kubernetes-sigs/gateway-api v1.6.1 conformance/reports/*\/gke-gateway), and the policies of
 * GoogleCloudPlatform/gke-gateway-api v1.4.0, with the app-protocol table deciding what needs TLS at the pods.
 */
import { Duration, Testing } from 'cdk8s';
import { GkeGateway, GkeGrpcBackendPolicy, GrpcBackend, GrpcHttpRoute, existingNamespace } from '../../lib';
import { findObject, type KubeObject } from '../../harness/manifests';

const namespace = existingNamespace('payments');
const synth = (chart: ReturnType<typeof Testing.chart>) => Testing.synth(chart) as KubeObject[];
const backend = (appProtocol: string) =>
  GrpcBackend.fromService({ name: 'payments', namespace, port: 9090, appProtocol });

test('GkeGateway: class gke-l7-rilb, an HTTPS listener with the Secret, HTTPRoutes only; clients dial the host', () => {
  const chart = Testing.chart();
  const gateway = new GkeGateway(chart, 'gateway', { namespace, host: 'pay.example.com', tlsSecretName: 'pay-tls' });
  const spec = findObject(synth(chart), 'Gateway').spec;
  expect(spec.gatewayClassName).toBe('gke-l7-rilb');
  expect(spec.listeners[0]).toMatchObject({
    protocol: 'HTTPS',
    port: 443,
    tls: { mode: 'Terminate', certificateRefs: [{ group: '', kind: 'Secret', name: 'pay-tls' }] },
    allowedRoutes: { kinds: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }] },
  });
  expect(gateway.grpcTarget).toBe('pay.example.com:443');
});

test('GrpcHttpRoute: one path prefix per gRPC service, to the Service port GKE reads as HTTP/2', () => {
  const chart = Testing.chart();
  const gateway = new GkeGateway(chart, 'gateway', { namespace, host: 'pay.example.com', tlsSecretName: 'pay-tls' });
  new GrpcHttpRoute(chart, 'route', { gateway, backend: backend('HTTP2'), grpcServices: ['payments.v1.Payments'] });
  const rule = findObject(synth(chart), 'HTTPRoute').spec.rules[0];
  expect(rule).toEqual({
    matches: [{ path: { type: 'PathPrefix', value: '/payments.v1.Payments/' } }],
    backendRefs: [{ group: '', kind: 'Service', name: 'payments', port: 9090 }],
  });
});

test('GkeGrpcBackendPolicy: a gRPC health check on the plaintext port, and connection draining', () => {
  const chart = Testing.chart();
  new GkeGrpcBackendPolicy(chart, 'policy', {
    backend: backend('HTTP2'),
    healthCheckPort: 9091,
    drainTimeout: Duration.seconds(20),
    timeout: Duration.seconds(10),
  });
  const objects = synth(chart);
  const targetRef = { group: '', kind: 'Service', name: 'payments' };
  expect(findObject(objects, 'HealthCheckPolicy').spec).toEqual({
    targetRef,
    default: { config: { type: 'GRPC', grpcHealthCheck: { portSpecification: 'USE_FIXED_PORT', port: 9091 } } },
  });
  expect(findObject(objects, 'GCPBackendPolicy').spec).toEqual({
    targetRef,
    default: { timeoutSec: 10, connectionDraining: { drainingTimeoutSec: 20 } },
  });
});

test('GkeGrpcBackendPolicy: without TLS at the pods the serving port is health-checked', () => {
  const chart = Testing.chart();
  new GkeGrpcBackendPolicy(chart, 'policy', { backend: backend('HTTP') });
  expect(findObject(synth(chart), 'HealthCheckPolicy').spec.default.config.grpcHealthCheck).toEqual({
    portSpecification: 'USE_SERVING_PORT',
  });
});
