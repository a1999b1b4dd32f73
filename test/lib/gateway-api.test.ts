/**
 * The Gateway API strategy (GrpcGateway + GrpcRoute): each environment's directory synthesized as `npm run synth`
 * writes it, the wiring between Gateway, GRPCRoute, greeter Service,
 * mesh policy and client test checked from the YAML, the constructs' options, and bad props.
 */
import { Testing } from 'cdk8s';
import { ENVIRONMENTS, type EnvironmentConfig } from '../../deploy';
import { gatewayApi } from '../../deploy/strategies/gateway-api';
import {
  AppNamespace,
  GrpcGateway,
  GrpcRoute,
  existingNamespace,
  type GrpcGatewayProps,
  type GrpcRouteProps,
} from '../../lib';
import { GreeterApp } from '../../deploy/greeter-app';
import { image, renderedStrategy } from '../../harness/fixtures';
import {
  containerEnv,
  findObject,
  gatewayParentRef,
  selects,
  validateAgainstSchemas,
  type KubeObject,
} from '../../harness/manifests';

const { environments, rendered } = renderedStrategy(gatewayApi);

test('renders for both environments', () => {
  expect(environments.map((env) => env.name).sort()).toEqual(['docker-desktop', 'gke']);
});

describe.each(environments)('gateway-api for $name', (env) => {
  const { output, files } = rendered[env.name];
  const objects = files.flatMap((file) => file.objects);
  const gateway = findObject(objects, 'Gateway');
  const [listener] = gateway.spec.listeners;
  const route = findObject(objects, 'GRPCRoute');
  const greeterService = findObject(objects, 'Service', route.spec.rules[0].backendRefs[0].name);
  const client = objects.filter(
    (o) => o.kind === 'Deployment' && containerEnv(o.spec.template.spec.containers[0]).TARGET !== undefined,
  );

  test('files apply in order: Namespace, greeter, gateway, routing, security, client', () => {
    expect(files.map((f) => f.file)).toEqual(
      ['0000-namespace', '0001-greeter', '0002-gateway', '0003-routing', '0004-security', '0005-client'].map(
        (f) => `${f}.k8s.yaml`,
      ),
    );
    expect(files[0].objects.map((o) => o.kind)).toEqual(['Namespace']);
  });

  test("the route attaches to the Gateway's HTTPS listener, for the same host, and the listener admits it", () => {
    expect(route.spec.parentRefs).toEqual([gatewayParentRef(gateway.metadata, listener.name)]);
    expect(route.spec.hostnames).toEqual([listener.hostname]);
    expect(listener.hostname).toBe(env.host);
    expect(listener).toMatchObject({ protocol: 'HTTPS', port: 443 });
    // The Gateway, its route and the TLS Secret share the app's namespace: `Same` admits the route, no ReferenceGrant.
    expect(gateway.metadata.namespace).toBe(env.namespaces.app);
    expect(route.metadata.namespace).toBe(gateway.metadata.namespace);
    expect(listener.allowedRoutes).toEqual({
      namespaces: { from: 'Same' },
      kinds: [{ group: 'gateway.networking.k8s.io', kind: 'GRPCRoute' }],
    });
    expect(objects.filter((o) => o.kind === 'ReferenceGrant')).toEqual([]);
  });

  test("the listener terminates TLS with the environment's Secret, which the strategy asks the operator for", () => {
    expect(listener.tls).toEqual({
      mode: 'Terminate',
      certificateRefs: [{ group: '', kind: 'Secret', name: env.tls.secretName }],
    });
    expect(output.tlsSecret).toEqual({
      namespace: gateway.metadata.namespace,
      secretName: env.tls.secretName,
      host: env.host,
    });
  });

  test("the route sends helloworld.Greeter calls to the greeter Service's gRPC port, which reaches the server", () => {
    const grpcPort = greeterService.spec.ports.find((p: KubeObject) => p.name === 'grpc');
    expect(grpcPort).toMatchObject({ appProtocol: 'grpc' });
    expect(route.spec.rules).toEqual([
      {
        matches: [{ method: { type: 'Exact', service: 'helloworld.Greeter' } }],
        backendRefs: [{ group: '', kind: 'Service', name: greeterService.metadata.name, port: grpcPort.port }],
      },
    ]);
    expect(greeterService.metadata.namespace).toBe(route.metadata.namespace);
    const greeter = objects.filter(
      (o) => o.kind === 'Deployment' && selects(greeterService.spec.selector, o.spec.template.metadata.labels),
    );
    expect(greeter).toHaveLength(1);
    const [server] = greeter[0].spec.template.spec.containers;
    expect(server.ports).toContainEqual(
      expect.objectContaining({ name: grpcPort.targetPort, containerPort: grpcPort.port }),
    );
    expect(containerEnv(server).PORT).toBe(String(grpcPort.port));
  });

  test("the client test dials the Service Istio deploys for the Gateway, verifying the listener's certificate", () => {
    expect(client).toHaveLength(1);
    const [deployment] = client;
    const settings = containerEnv(deployment.spec.template.spec.containers[0]);
    expect(settings.TARGET).toBe(
      `${gateway.metadata.name}-${gateway.spec.gatewayClassName}.${gateway.metadata.namespace}.svc.cluster.local:${listener.port}`,
    );
    expect(settings).toMatchObject({ LB_POLICY: 'pick_first', SERVER_NAME: listener.hostname });
    expect(deployment.metadata.namespace).toBe(gateway.metadata.namespace);
    expect(deployment.spec.template.spec.volumes).toEqual([
      expect.objectContaining({
        secret: expect.objectContaining({ secretName: listener.tls.certificateRefs[0].name }),
      }),
    ]);
    // An outside caller: no sidecar, although the namespace is meshed.
    expect(deployment.spec.template.metadata.labels['sidecar.istio.io/inject']).toBe('false');
  });

  test("the namespace is meshed and only the gateway's identity may call the greeter", () => {
    expect(findObject(objects, 'Namespace').metadata.labels).toMatchObject({ 'istio-injection': 'enabled' });
    expect(findObject(objects, 'PeerAuthentication').spec.mtls).toEqual({ mode: 'STRICT' });
    const policy = findObject(objects, 'AuthorizationPolicy');
    // Istio's automated deployment runs the gateway as ServiceAccount `<gateway>-istio`, in the Gateway's namespace.
    expect(policy.spec.rules[0].from[0].source.principals).toEqual([
      `cluster.local/ns/${gateway.metadata.namespace}/sa/${gateway.metadata.name}-istio`,
    ]);
    expect(policy.spec.selector.matchLabels).toEqual(greeterService.spec.selector);
  });

  test("Istio's options ConfigMap sets the gateway replicas, and the load balancer follows the environment", () => {
    const options = findObject(objects, 'ConfigMap');
    expect(gateway.spec.infrastructure.parametersRef).toEqual({
      group: '',
      kind: 'ConfigMap',
      name: options.metadata.name,
    });
    expect(options.metadata.namespace).toBe(gateway.metadata.namespace);
    // The gateway's pods hold no API token (Istio 1.30.3 deploymentcontroller.go strategic-merges these overlays).
    expect(options.data.deployment).toBe(
      `spec:\n  replicas: ${env.replicas.gateway}\n  template:\n    spec:\n      automountServiceAccountToken: false\n`,
    );
    expect(options.data.serviceAccount).toBe('automountServiceAccountToken: false\n');
    if (env.replicas.gateway > 1)
      expect(options.data.podDisruptionBudget).toBe(`spec:\n  minAvailable: ${env.replicas.gateway - 1}\n`);
    else expect(options.data.podDisruptionBudget).toBeUndefined();
    expect(gateway.spec.infrastructure.annotations).toEqual(
      env.gatewayLoadBalancer === 'gke-internal' ? { 'networking.gke.io/load-balancer-type': 'Internal' } : undefined,
    );
  });
});

test("with tls.source 'cert-manager' a Certificate writes the listener's Secret beside the Gateway, and no Secret is asked for", () => {
  const env: EnvironmentConfig = { ...ENVIRONMENTS.gke, tls: { ...ENVIRONMENTS.gke.tls, source: 'cert-manager' } };
  const app = Testing.app();
  const { certificate, gateway, tlsSecret } = gatewayApi.render(app, env);
  expect(tlsSecret).toBeUndefined();
  const certificateJson = certificate!.certificate.toJson();
  expect(certificateJson.metadata.namespace).toBe(gateway.namespace.name);
  expect(certificateJson.spec).toMatchObject({ secretName: gateway.tlsSecretName, dnsNames: [gateway.host] });
});

function fixture() {
  const chart = Testing.chart();
  const namespace = new AppNamespace(chart, 'ns', { name: 'apps' });
  const app = new GreeterApp(chart, 'greeter', { namespace, image, name: 'hello', port: 8443 });
  return { chart, namespace, app };
}
const synthOf = (chart: ReturnType<typeof Testing.chart>) => Testing.synth(chart) as KubeObject[];

describe('GrpcGateway and GrpcRoute options', () => {
  test('a Gateway in another namespace admits routes from the app namespace by its name label', () => {
    const { chart, namespace, app } = fixture();
    const gateway = new GrpcGateway(chart, 'gateway', {
      namespace: existingNamespace('gateways'),
      routeNamespace: namespace,
      host: 'hello.example.org',
      tlsSecretName: 'hello-tls',
      replicas: 1,
    });
    const route = new GrpcRoute(chart, 'route', { gateway, backend: app });
    const objects = synthOf(chart);
    const [listener] = findObject(objects, 'Gateway').spec.listeners;
    expect(listener.allowedRoutes.namespaces).toEqual({
      from: 'Selector',
      selector: { matchLabels: { 'kubernetes.io/metadata.name': 'apps' } },
    });
    const routeObject = findObject(objects, 'GRPCRoute');
    expect(routeObject.metadata).toMatchObject({ name: 'hello', namespace: 'apps' });
    expect(routeObject.spec.parentRefs[0]).toMatchObject({ name: 'grpc-gateway', namespace: 'gateways' });
    // By default no services are listed: one rule without matches, so every service (health, reflection) is routed.
    expect(route.grpcServices).toEqual([]);
    expect(routeObject.spec.rules).toEqual([
      { backendRefs: [{ group: '', kind: 'Service', name: 'hello', port: 8443 }] },
    ]);
    expect(gateway.grpcTarget).toBe('grpc-gateway-istio.gateways.svc.cluster.local:443');
    expect(gateway.identity).toEqual({
      namespace: existingNamespace('gateways'),
      serviceAccountName: 'grpc-gateway-istio',
    });
    expect(validateAgainstSchemas(objects).filter((r) => r.error !== null)).toEqual([]);
  });

  test('another GatewayClass: its Service by name, no Istio options and no mesh identity', () => {
    const { chart, namespace } = fixture();
    const gateway = new GrpcGateway(chart, 'gateway', {
      namespace,
      host: 'hello.example.org',
      tlsSecretName: 'hello-tls',
      gatewayClassName: 'cilium',
      serviceName: 'cilium-gateway',
      port: 8443,
    });
    const objects = synthOf(chart);
    expect(objects.filter((o) => o.kind === 'ConfigMap')).toEqual([]);
    expect(findObject(objects, 'Gateway').spec.gatewayClassName).toBe('cilium');
    expect(findObject(objects, 'Gateway').spec.infrastructure).toBeUndefined();
    expect(gateway.identity).toBeUndefined();
    expect(gateway.grpcTarget).toBe('cilium-gateway.apps.svc.cluster.local:8443');
  });
});

// Each bad prop fails with a message that names the construct, the prop and the value.
type BadCase = [label: string, build: () => void, message: string];
const withGateway = (props: Partial<GrpcGatewayProps>) => () => {
  const { chart, namespace } = fixture();
  new GrpcGateway(chart, 'bad', { namespace, host: 'grpc.example.com', tlsSecretName: 'grpc-tls', ...props });
};
const withRoute = (props: Partial<GrpcRouteProps>) => () => {
  const { chart, namespace, app } = fixture();
  const gateway = new GrpcGateway(chart, 'gateway', { namespace, host: 'grpc.example.com', tlsSecretName: 'grpc-tls' });
  new GrpcRoute(chart, 'bad', { gateway, backend: app, ...props });
};
const badCases: BadCase[] = [
  [
    'name',
    withGateway({ name: 'Greeter_Gateway' }),
    `GrpcGateway 'test/bad': name must be a DNS-1123 label (lower-case letters, digits and "-", at most 63 characters, alphanumeric at both ends), got "Greeter_Gateway"`,
  ],
  [
    'host',
    withGateway({ host: '10.0.0.1' }),
    `GrpcGateway 'test/bad': host must be a Gateway API hostname such as "grpc.example.com" or "*.example.com" (lower-case DNS labels, no IP address), got "10.0.0.1"`,
  ],
  [
    'tlsSecretName empty',
    withGateway({ tlsSecretName: '' }),
    `GrpcGateway 'test/bad': tlsSecretName must be the name of the kubernetes.io/tls Secret for "grpc.example.com": the listener terminates TLS, got ""`,
  ],
  [
    'tlsSecretName with a slash',
    withGateway({ tlsSecretName: 'istio-system/tls' }),
    `GrpcGateway 'test/bad': tlsSecretName must be a DNS-1123 subdomain (dot-separated DNS-1123 labels, at most 253 characters), got "istio-system/tls"`,
  ],
  ['port', withGateway({ port: 0 }), `GrpcGateway 'test/bad': port must be an integer from 1 to 65535, got 0`],
  [
    'gatewayClassName',
    withGateway({ gatewayClassName: 'Istio Class' }),
    `GrpcGateway 'test/bad': gatewayClassName must be a DNS-1123 subdomain (dot-separated DNS-1123 labels, at most 253 characters), got "Istio Class"`,
  ],
  [
    'serviceName missing for another class',
    withGateway({ gatewayClassName: 'gke-l7-rilb' }),
    `GrpcGateway 'test/bad': serviceName must be the Service that the controller of class "gke-l7-rilb" deploys for the Gateway, got undefined`,
  ],
  [
    'serviceName',
    withGateway({ serviceName: 'Gateway' }),
    `GrpcGateway 'test/bad': serviceName must be a DNS-1123 label (lower-case letters, digits and "-", at most 63 characters, alphanumeric at both ends), got "Gateway"`,
  ],
  ['replicas 0', withGateway({ replicas: 0 }), `GrpcGateway 'test/bad': replicas must be an integer >= 1, got 0`],
  [
    'replicas for another class',
    withGateway({ gatewayClassName: 'cilium', serviceName: 'cilium', replicas: 2 }),
    `GrpcGateway 'test/bad': replicas must be unset for class "cilium": only Istio's and Envoy Gateway's options are rendered, got 2`,
  ],
  [
    'route name',
    withRoute({ name: 'Hello World' }),
    `GrpcRoute 'test/bad': name must be a DNS-1123 subdomain (dot-separated DNS-1123 labels, at most 253 characters), got "Hello World"`,
  ],
  [
    'route service',
    withRoute({ grpcServices: ['helloworld.Greeter', 'hello world'] }),
    `GrpcRoute 'test/bad': grpcServices[1] must be a fully qualified gRPC service name such as "helloworld.Greeter", got "hello world"`,
  ],
  [
    'route from a namespace the gateway does not admit',
    () => {
      const { chart, namespace, app } = fixture();
      const gateway = new GrpcGateway(chart, 'gateway', {
        namespace: existingNamespace('gateways'),
        host: 'grpc.example.com',
        tlsSecretName: 'grpc-tls',
      });
      expect(gateway.routeNamespace.name).not.toBe(namespace.name);
      new GrpcRoute(chart, 'bad', { gateway, backend: app });
    },
    `GrpcRoute 'test/bad': backend.namespace must be a namespace whose routes Gateway gateways/grpc-gateway admits, got "apps"`,
  ],
];

test.each(badCases)('bad prop: %s', (_label, build, message) => {
  expect(build).toThrow(new Error(message));
});
