/**
 * One snapshot per exported construct, rendered with its minimal props, so a change to what a construct renders shows
 * in review as a diff of that construct alone. The golden copy of the full output is the committed dist/, which
 * synth.test.ts checks fresh; nothing here repeats it. Each construct renders into a chart of its own: what it is
 * wired to (a gateway, an app) lives in another chart, or is a plain reference (`GrpcBackend.fromService`, an
 * endpoint object), and is not in its snapshot.
 */
import { App, Chart, Duration, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import * as lib from '../../lib';
import {
  AmbientAccessPolicy,
  AppNamespace,
  CloudEndpointsProxy,
  EndpointSliceReader,
  EnvoyGatewayClass,
  EnvoyGatewayGrpcPolicy,
  GkeGateway,
  GkeGrpcBackendPolicy,
  GrpcApp,
  GrpcBackend,
  GrpcGateway,
  GrpcHttpRoute,
  GrpcRoute,
  GrpcVirtualService,
  HeadlessGrpcService,
  IstioIlbGateway,
  IstioWaypoint,
  LinkerdGrpcPolicy,
  MeshAccessPolicy,
  MeshGrpcRoute,
  NginxGrpcIngress,
  SelfSignedCertificate,
  existingNamespace,
  type IGrpcEndpoint,
} from '../../lib';
import { findObject, type KubeObject } from '../../harness/manifests';

const namespace = existingNamespace('payments');
const image = { repository: 'payments', tag: '2.0.0' };
const host = 'payments.example.com';
const tlsSecretName = 'payments-tls';
/** A Service rendered elsewhere, by name, namespace and port only. */
const service = GrpcBackend.fromService({ name: 'payments', namespace, port: 9090 });
/** The same Service in a namespace with Istio's sidecars, with what constructs that apply to its pods need. */
const servicePods = GrpcBackend.fromService({
  name: 'payments',
  namespace: existingNamespace('payments', 'istio'),
  port: 9090,
  selectorLabels: { app: 'payments' },
});
const plaintextEndpoint: IGrpcEndpoint = {
  grpcTarget: 'payments.payments.svc.cluster.local:9090',
  loadBalancingPolicy: 'pick_first',
  clientNamespace: namespace,
};
const tlsEndpoint: IGrpcEndpoint = { ...plaintextEndpoint, tls: { serverName: host, secretName: tlsSecretName } };
/** The same Service in an Istio ambient namespace. */
const ambientService = GrpcBackend.fromService({
  name: 'payments',
  namespace: existingNamespace('payments', 'istio-ambient'),
  port: 9090,
  selectorLabels: { app: 'payments' },
});
/** The same Service as GKE's Gateway reads it: HTTP/2 over TLS to the pods. */
const gkeService = GrpcBackend.fromService({ name: 'payments', namespace, port: 9090, appProtocol: 'HTTP2' });

/** The chart under test and, beside it in the same App, a chart for what it is wired to. */
function charts() {
  const app: App = Testing.app();
  return { chart: new Chart(app, 'subject'), other: new Chart(app, 'other') };
}

/** Each exported construct, rendered with its minimal props; the value is what the snapshot holds. */
const renderers: Record<string, () => unknown> = {
  AppNamespace: () => {
    const { chart } = charts();
    new AppNamespace(chart, 'namespace', { name: 'payments' });
    return Testing.synth(chart);
  },
  GrpcApp: () => {
    const { chart } = charts();
    new GrpcApp(chart, 'app', { namespace, name: 'payments', image, port: 9090 });
    return Testing.synth(chart);
  },
  // The proxy adds a sidecar and a volume to the app's Deployment (the app's own output is GrpcApp's snapshot), a
  // Service, and the api_config.yaml content.
  CloudEndpointsProxy: () => {
    const { chart, other } = charts();
    const app = new GrpcApp(other, 'app', { namespace, name: 'payments', image, port: 9090 });
    const proxy = new CloudEndpointsProxy(chart, 'esp', {
      app,
      endpointsServiceName: 'payments.endpoints.my-project.cloud.goog',
      apis: ['payments.v1.Payments'],
    });
    const pod = findObject(Testing.synth(other) as KubeObject[], 'Deployment', 'payments').spec.template.spec;
    return {
      objects: Testing.synth(chart),
      sidecar: pod.containers.find((c: KubeObject) => c.name === 'esp'),
      volumes: pod.volumes,
      apiConfig: proxy.apiConfig,
    };
  },
  EndpointSliceReader: () => {
    const { chart } = charts();
    new EndpointSliceReader(chart, 'reader', { backend: service });
    return Testing.synth(chart);
  },
  GrpcGateway: () => {
    const { chart } = charts();
    new GrpcGateway(chart, 'gateway', { namespace, host, tlsSecretName });
    return Testing.synth(chart);
  },
  GrpcRoute: () => {
    const { chart, other } = charts();
    const gateway = new GrpcGateway(other, 'gateway', { namespace, host, tlsSecretName });
    new GrpcRoute(chart, 'route', { gateway, backend: service });
    return Testing.synth(chart);
  },
  EnvoyGatewayGrpcPolicy: () => {
    const { chart, other } = charts();
    const gateway = new GrpcGateway(other, 'gateway', { namespace, host, tlsSecretName, gatewayClassName: 'eg' });
    const route = new GrpcRoute(other, 'route', { gateway, backend: service });
    new EnvoyGatewayGrpcPolicy(chart, 'policy', { route });
    return Testing.synth(chart);
  },
  GrpcVirtualService: () => {
    const { chart, other } = charts();
    const gateway = new IstioIlbGateway(other, 'gateway', {
      namespace: existingNamespace('istio-system'),
      host,
      tlsSecretName,
    });
    new GrpcVirtualService(chart, 'routes', { backend: service, gateway });
    return Testing.synth(chart);
  },
  HeadlessGrpcService: () => {
    const { chart } = charts();
    const backend = GrpcBackend.fromService({
      name: 'payments',
      namespace,
      port: 9090,
      selectorLabels: { app: 'payments' },
      maxConnectionAge: Duration.seconds(30),
    });
    new HeadlessGrpcService(chart, 'headless', { backend });
    return Testing.synth(chart);
  },
  IstioIlbGateway: () => {
    const { chart } = charts();
    new IstioIlbGateway(chart, 'gateway', { namespace: existingNamespace('istio-system'), host, tlsSecretName });
    return Testing.synth(chart);
  },
  IstioProxylessGrpcPolicy: () => {
    const { chart } = charts();
    new lib.IstioProxylessGrpcPolicy(chart, 'policy', { backend: service });
    return Testing.synth(chart);
  },
  LinkerdGrpcPolicy: () => {
    const { chart } = charts();
    new LinkerdGrpcPolicy(chart, 'policy', { backend: service });
    return Testing.synth(chart);
  },
  MeshAccessPolicy: () => {
    const { chart } = charts();
    new MeshAccessPolicy(chart, 'access', {
      backend: servicePods,
      allowedCallers: [{ namespace: existingNamespace('istio-system'), serviceAccountName: 'grpc-gateway' }],
    });
    return Testing.synth(chart);
  },
  NginxGrpcIngress: () => {
    const { chart } = charts();
    new NginxGrpcIngress(chart, 'ingress', { backend: service, host, tlsSecretName });
    return Testing.synth(chart);
  },
  // The waypoint labels the app's Service (in the other chart): the label is part of what it renders.
  IstioWaypoint: () => {
    const { chart, other } = charts();
    const app = new GrpcApp(other, 'app', {
      namespace: existingNamespace('payments', 'istio-ambient'),
      name: 'payments',
      image,
      port: 9090,
    });
    new IstioWaypoint(chart, 'waypoint', { backend: app });
    return {
      objects: Testing.synth(chart),
      serviceLabels: findObject(Testing.synth(other) as KubeObject[], 'Service').metadata.labels,
    };
  },
  AmbientAccessPolicy: () => {
    const { chart } = charts();
    new AmbientAccessPolicy(chart, 'access', {
      backend: ambientService,
      waypoint: {
        name: 'payments-waypoint',
        namespace: ambientService.namespace,
        identity: { namespace: ambientService.namespace, serviceAccountName: 'payments-waypoint' },
      },
      allowedCallers: [{ namespace: existingNamespace('orders'), serviceAccountName: 'orders' }],
    });
    return Testing.synth(chart);
  },
  MeshGrpcRoute: () => {
    const { chart } = charts();
    new MeshGrpcRoute(chart, 'route', { backend: ambientService });
    return Testing.synth(chart);
  },
  GkeGateway: () => {
    const { chart } = charts();
    new GkeGateway(chart, 'gateway', { namespace, host, tlsSecretName });
    return Testing.synth(chart);
  },
  GrpcHttpRoute: () => {
    const { chart, other } = charts();
    const gateway = new GkeGateway(other, 'gateway', { namespace, host, tlsSecretName });
    new GrpcHttpRoute(chart, 'route', { gateway, backend: gkeService });
    return Testing.synth(chart);
  },
  GkeGrpcBackendPolicy: () => {
    const { chart } = charts();
    new GkeGrpcBackendPolicy(chart, 'policy', { backend: gkeService, healthCheckPort: 9091 });
    return Testing.synth(chart);
  },
  EnvoyGatewayClass: () => {
    const { chart } = charts();
    new EnvoyGatewayClass(chart, 'class');
    return Testing.synth(chart);
  },
  SelfSignedCertificate: () => {
    const { chart } = charts();
    new SelfSignedCertificate(chart, 'certificate', { endpoint: tlsEndpoint });
    return Testing.synth(chart);
  },
};

test('every construct the library exports has a snapshot, and nothing else does', () => {
  const constructs = Object.entries(lib)
    .filter(([, value]) => typeof value === 'function' && value.prototype instanceof Construct)
    .map(([name]) => name);
  expect(Object.keys(renderers).sort()).toEqual(constructs.sort());
});

test.each(Object.keys(renderers).sort())('%s with minimal props', (name) => {
  expect(renderers[name]()).toMatchSnapshot();
});
