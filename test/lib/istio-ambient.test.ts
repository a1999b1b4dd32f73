/**
 * The Istio ambient constructs, as Istio 1.30 reads them: the waypoint and its binding to the Service (istio/api
 * 1.30.3 label/labels.yaml; istioctl/pkg/waypoint/waypoint.go), the mesh GRPCRoute on the Service
 * (pilot/pkg/config/kube/gateway/route_collections.go), and where each policy is enforced (ztunnel: `selector`, L4;
 * the waypoint: `targetRefs`, istio/api security/v1beta1/authorization_policy.proto).
 */
import { Testing } from 'cdk8s';
import { AmbientAccessPolicy, AppNamespace, GrpcApp, IstioWaypoint, MeshGrpcRoute, existingNamespace } from '../../lib';
import { findObject, type KubeObject } from '../../harness/manifests';

const image = { repository: 'payments', tag: '2.0.0' };

function ambientApp() {
  const chart = Testing.chart();
  const namespace = new AppNamespace(chart, 'ns', { name: 'payments', mesh: 'istio-ambient' });
  const app = new GrpcApp(chart, 'app', { namespace, name: 'payments', image, port: 9090 });
  return { chart, namespace, app };
}
const synth = (chart: ReturnType<typeof Testing.chart>) => Testing.synth(chart) as KubeObject[];

describe('IstioWaypoint', () => {
  test("binds the backend's Service with use-waypoint and ingress-use-waypoint, and is a Gateway of class istio-waypoint with the HBONE listener", () => {
    const { chart, app } = ambientApp();
    const waypoint = new IstioWaypoint(chart, 'waypoint', { backend: app });
    const objects = synth(chart);
    expect(findObject(objects, 'Service', 'payments').metadata.labels).toMatchObject({
      'istio.io/use-waypoint': 'payments-waypoint',
      'istio.io/ingress-use-waypoint': 'true',
    });
    const gateway = findObject(objects, 'Gateway', 'payments-waypoint');
    expect(gateway.metadata.labels).toEqual({ 'istio.io/waypoint-for': 'service' });
    expect(gateway.spec.gatewayClassName).toBe('istio-waypoint');
    expect(gateway.spec.listeners).toEqual([{ name: 'mesh', port: 15008, protocol: 'HBONE' }]);
    // gatewaycommon/classinfo.go DisableNameSuffix: the ServiceAccount is named after the Gateway.
    expect(waypoint.identity).toEqual({ namespace: app.namespace, serviceAccountName: 'payments-waypoint' });
  });

  test('without ingressUseWaypoint only the mesh goes through the waypoint; with bindService false the Service is left alone', () => {
    const { chart, app } = ambientApp();
    const waypoint = new IstioWaypoint(chart, 'waypoint', {
      backend: app,
      ingressUseWaypoint: false,
      bindService: false,
    });
    expect(findObject(synth(chart), 'Service', 'payments').metadata.labels).not.toHaveProperty('istio.io/use-waypoint');
    expect(waypoint.bindingLabels).toEqual({ 'istio.io/use-waypoint': 'payments-waypoint' });
  });

  test('its options ConfigMap scales it, mounts no API token, and sets the seccomp profile Pod Security restricted needs', () => {
    const { chart, app } = ambientApp();
    new IstioWaypoint(chart, 'waypoint', { backend: app, replicas: 1 });
    const objects = synth(chart);
    const options = findObject(objects, 'ConfigMap', 'payments-waypoint-options');
    expect(Object.keys(options.data).sort()).toEqual(['deployment', 'serviceAccount']);
    expect(findObject(objects, 'Gateway').spec.infrastructure.parametersRef).toEqual({
      group: '',
      kind: 'ConfigMap',
      name: 'payments-waypoint-options',
    });
    expect(options.data.deployment).toContain('type: RuntimeDefault');
  });
});

describe('MeshGrpcRoute', () => {
  test('attaches to the Service and its port (GAMMA) and sends the calls to the same Service', () => {
    const { chart, app } = ambientApp();
    new MeshGrpcRoute(chart, 'route', { backend: app, grpcServices: ['payments.v1.Payments'] });
    const route = findObject(synth(chart), 'GRPCRoute', 'payments');
    const service = { group: '', kind: 'Service', name: 'payments', port: 9090 };
    expect(route.spec).toEqual({
      parentRefs: [service],
      rules: [{ matches: [{ method: { type: 'Exact', service: 'payments.v1.Payments' } }], backendRefs: [service] }],
    });
  });
});

describe('AmbientAccessPolicy', () => {
  test('L4 at ztunnel: only the waypoint on the gRPC port; L7 at the waypoint: the callers, for the listed services', () => {
    const { chart, app } = ambientApp();
    const waypoint = new IstioWaypoint(chart, 'waypoint', { backend: app });
    new AmbientAccessPolicy(chart, 'access', {
      backend: app,
      waypoint,
      allowedCallers: [{ namespace: existingNamespace('orders'), serviceAccountName: 'orders' }],
      grpcServices: ['payments.v1.Payments'],
    });
    const objects = synth(chart);
    expect(findObject(objects, 'PeerAuthentication', 'default').spec).toEqual({ mtls: { mode: 'STRICT' } });
    expect(findObject(objects, 'AuthorizationPolicy', 'payments-pods').spec).toEqual({
      selector: { matchLabels: { app: 'payments' } },
      action: 'ALLOW',
      rules: [
        {
          from: [{ source: { principals: ['cluster.local/ns/payments/sa/payments-waypoint'] } }],
          to: [{ operation: { ports: ['9090'] } }],
        },
      ],
    });
    expect(findObject(objects, 'AuthorizationPolicy', 'payments').spec).toEqual({
      targetRefs: [{ group: '', kind: 'Service', name: 'payments' }],
      action: 'ALLOW',
      rules: [
        {
          from: [{ source: { principals: ['cluster.local/ns/orders/sa/orders'] } }],
          to: [{ operation: { paths: ['/payments.v1.Payments/*'] } }],
        },
      ],
    });
  });
});
