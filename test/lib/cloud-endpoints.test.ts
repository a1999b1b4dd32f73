/**
 * The Cloud Endpoints strategy (CloudEndpointsProxy behind GrpcGateway + GrpcRoute), synthesized as `npm run synth`
 * writes it: the wiring between the ESPv2 sidecar, its Service, the
 * route, the gateway and the client test checked from the YAML, the construct's options, and bad props.
 */
import { Duration, Testing } from 'cdk8s';
import { GREETER_SERVICE } from '../../app/settings';
import { ENVIRONMENTS } from '../../deploy';
import { endpoints } from '../../deploy/strategies/endpoints';
import { AppNamespace, CloudEndpointsProxy, type CloudEndpointsProxyProps } from '../../lib';
import { GreeterApp } from '../../deploy/greeter-app';
import { image, renderedStrategy } from '../../harness/fixtures';
import {
  containerEnv,
  findObject,
  gatewayParentRef,
  validateAgainstSchemas,
  type KubeObject,
} from '../../harness/manifests';

const { environments, rendered } = renderedStrategy(endpoints);

/** `--name=value` flags as a map. */
const flags = (args: readonly string[]) =>
  Object.fromEntries(args.map((arg) => /^--([^=]+)=(.*)$/.exec(arg)!.slice(1, 3)));

test('renders for GKE only: Docker Desktop has no Google Cloud service to report to', () => {
  expect(environments.map((env) => env.name)).toEqual(['gke']);
  expect(() => endpoints.render(Testing.app(), ENVIRONMENTS['docker-desktop'])).toThrow(
    new Error(
      `EnvironmentConfig 'docker-desktop': endpoints must be { serviceName } for the 'endpoints' strategy: ESPv2 needs a Cloud Endpoints service on Google Cloud, got undefined`,
    ),
  );
});

describe.each(environments)('endpoints for $name', (env) => {
  const { output, files } = rendered[env.name];
  const objects = files.flatMap((file) => file.objects);
  const greeter = findObject(objects, 'Deployment', 'greeter');
  const pod = greeter.spec.template.spec;
  const server = pod.containers.find((c: KubeObject) => c.name === 'server');
  const esp = pod.containers.find((c: KubeObject) => c.name === 'esp');
  const espFlags = flags(esp.args);
  const route = findObject(objects, 'GRPCRoute');
  const [backendRef] = route.spec.rules[0].backendRefs;
  const espService = findObject(objects, 'Service', backendRef.name);
  const gateway = findObject(objects, 'Gateway');
  const [listener] = gateway.spec.listeners;

  test("the ESPv2 sidecar serves the environment's Endpoints service and forwards to the server's port on loopback", () => {
    expect(esp.image).toBe('gcr.io/endpoints-release/endpoints-runtime:2');
    expect(espFlags).toEqual({
      listener_port: String(esp.ports[0].containerPort),
      backend: `grpc://127.0.0.1:${containerEnv(server).PORT}`,
      service: env.endpoints!.serviceName,
      rollout_strategy: 'managed',
      healthz: 'healthz',
    });
    expect(server.ports).toContainEqual(
      expect.objectContaining({ name: 'grpc', containerPort: Number(containerEnv(server).PORT) }),
    );
    for (const probe of [esp.startupProbe, esp.readinessProbe, esp.livenessProbe]) {
      expect(probe.httpGet).toEqual({ path: `/${espFlags.healthz}`, port: esp.ports[0].name });
    }
  });

  test('the ESPv2 Service targets the ESPv2 container port of the greeter pods, as gRPC', () => {
    expect(espService.metadata.namespace).toBe(greeter.metadata.namespace);
    expect(espService.metadata.labels).toBeUndefined();
    expect(greeter.spec.template.metadata.labels).toMatchObject(espService.spec.selector);
    expect(espService.spec.type).toBe('ClusterIP');
    expect(espService.spec.ports).toEqual([
      {
        name: 'grpc',
        appProtocol: 'kubernetes.io/h2c',
        port: Number(espFlags.listener_port),
        targetPort: esp.ports[0].name,
        protocol: 'TCP',
      },
    ]);
    expect(backendRef).toEqual({
      group: '',
      kind: 'Service',
      name: espService.metadata.name,
      port: espService.spec.ports[0].port,
    });
  });

  test("the gateway in the gateway namespace admits the route from the app's namespace; the client dials the gateway", () => {
    expect(gateway.metadata.namespace).toBe(env.namespaces.gateway);
    expect(route.metadata.namespace).toBe(env.namespaces.app);
    expect(listener.allowedRoutes.namespaces).toEqual({
      from: 'Selector',
      selector: { matchLabels: { 'kubernetes.io/metadata.name': route.metadata.namespace } },
    });
    expect(route.spec.parentRefs).toEqual([gatewayParentRef(gateway.metadata, listener.name)]);
    expect(route.spec.hostnames).toEqual([env.host]);
    expect(listener.hostname).toBe(env.host);
    expect(listener.tls.certificateRefs).toEqual([{ group: '', kind: 'Secret', name: env.tls.secretName }]);
    expect(output.tlsSecret).toEqual({
      namespace: gateway.metadata.namespace,
      secretName: env.tls.secretName,
      host: env.host,
    });
    const client = findObject(objects, 'Deployment', 'greeter-client');
    expect(client.metadata.namespace).toBe(gateway.metadata.namespace);
    expect(containerEnv(client.spec.template.spec.containers[0])).toMatchObject({
      TARGET: `${gateway.metadata.name}-istio.${gateway.metadata.namespace}.svc.cluster.local:${listener.port}`,
      SERVER_NAME: env.host,
    });
  });

  test('no mesh, so the namespace enforces restricted, which the ESPv2 container meets, with a writable /tmp', () => {
    expect(findObject(objects, 'Namespace').metadata.labels).toEqual({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
    expect(objects.filter((o) => o.apiVersion.endsWith('istio.io/v1'))).toEqual([]);
    expect(esp.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(esp.volumeMounts).toEqual([{ name: 'esp-tmp', mountPath: '/tmp' }]);
    // The server's own /tmp (GrpcApp's default), then ESPv2's.
    expect(pod.volumes).toEqual([
      { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      { name: 'esp-tmp', emptyDir: { sizeLimit: '64Mi' } },
    ]);
  });

  test("ESPv2 keeps proxying through the server's drain delay and drain, within the grace period", () => {
    const delaySeconds = server.lifecycle.preStop.sleep.seconds;
    const drainSeconds = Number(containerEnv(server).SHUTDOWN_GRACE_MS) / 1000;
    expect(esp.lifecycle).toEqual({ preStop: { exec: { command: ['sleep', String(delaySeconds + drainSeconds)] } } });
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(delaySeconds + drainSeconds);
  });
});

test("api_config names what the sidecar's --service names, and the services the route matches", () => {
  const { proxy, route } = endpoints.render(Testing.app(), ENVIRONMENTS.gke);
  expect(proxy.apiConfig).toEqual({
    type: 'google.api.Service',
    config_version: 3,
    name: ENVIRONMENTS.gke.endpoints.serviceName,
    title: 'Greeter gRPC API',
    apis: [{ name: 'helloworld.Greeter' }],
    usage: { rules: [{ selector: '*', allow_unregistered_calls: true }] },
  });
  expect(route.grpcServices).toEqual(proxy.apiConfig.apis.map((api) => api.name));
});

function fixture() {
  const chart = Testing.chart();
  const namespace = new AppNamespace(chart, 'ns', { name: 'apps', mesh: 'none' });
  const app = new GreeterApp(chart, 'greeter', {
    namespace,
    image,
    name: 'hello',
    port: 8443,
    shutdownGrace: Duration.seconds(5),
  });
  return { chart, namespace, app };
}
const endpointsServiceName = 'hello.endpoints.my-project.cloud.goog';
const apis = [GREETER_SERVICE];

describe('CloudEndpointsProxy options', () => {
  test('port, name, APIs, API keys and drain time', () => {
    const { chart, app } = fixture();
    const proxy = new CloudEndpointsProxy(chart, 'esp', {
      app,
      endpointsServiceName,
      port: 8081,
      name: 'hello-api',
      apis: ['helloworld.Greeter', 'grpc.health.v1.Health'],
      title: 'Hello',
      allowUnregisteredCalls: false,
      drainTime: Duration.seconds(3),
    });
    const objects = Testing.synth(chart) as KubeObject[];
    const [server, esp] = findObject(objects, 'Deployment', 'hello').spec.template.spec.containers;
    expect(server.name).toBe('server');
    expect(flags(esp.args)).toMatchObject({
      listener_port: '8081',
      backend: 'grpc://127.0.0.1:8443',
      service: endpointsServiceName,
    });
    expect(esp.lifecycle.preStop.exec.command).toEqual(['sleep', '3']);
    expect(findObject(objects, 'Service', 'hello-api').spec.ports[0]).toMatchObject({ port: 8081, targetPort: 'esp' });
    expect(proxy.grpcTarget).toBe('hello-api.apps.svc.cluster.local:8081');
    expect(proxy.apiConfig).toMatchObject({
      title: 'Hello',
      apis: [{ name: 'helloworld.Greeter' }, { name: 'grpc.health.v1.Health' }],
      usage: { rules: [{ selector: '*', allow_unregistered_calls: false }] },
    });
    expect(validateAgainstSchemas(objects).filter((r) => r.error !== null)).toEqual([]);
  });

  test("by default the sidecar proxies through the server's drain delay (5 s) and shutdown grace (5 s)", () => {
    const { chart, app } = fixture();
    new CloudEndpointsProxy(chart, 'esp', { app, endpointsServiceName, apis });
    const esp = findObject(Testing.synth(chart) as KubeObject[], 'Deployment', 'hello').spec.template.spec
      .containers[1];
    expect(esp.lifecycle.preStop.exec.command).toEqual(['sleep', '10']);
  });
});

// Each bad prop fails with a message that names the construct, the prop and the value.
type BadCase = [label: string, props: Partial<CloudEndpointsProxyProps>, message: string];
const badCases: BadCase[] = [
  [
    'endpointsServiceName',
    { endpointsServiceName: 'greeter' },
    `CloudEndpointsProxy 'test/bad': endpointsServiceName must be a fully qualified lower-case host name such as "grpc.example.com" (optionally "*." first), got "greeter"`,
  ],
  [
    'no apis',
    { apis: [] },
    `CloudEndpointsProxy 'test/bad': apis must be a non-empty list of fully qualified gRPC service names, got []`,
  ],
  [
    'api without a package',
    { apis: ['Greeter'] },
    `CloudEndpointsProxy 'test/bad': apis[0] must be a fully qualified gRPC service name such as "helloworld.Greeter", got "Greeter"`,
  ],
  ['empty title', { title: ' ' }, `CloudEndpointsProxy 'test/bad': title must be a non-empty title, got " "`],
  ['port 0', { port: 0 }, `CloudEndpointsProxy 'test/bad': port must be an integer from 1 to 65535, got 0`],
  [
    "the server's port",
    { port: 8443 },
    `CloudEndpointsProxy 'test/bad': port must be a port other than the server's (8443): both listen in one pod, got 8443`,
  ],
  [
    'name',
    { name: 'Hello_ESP' },
    `CloudEndpointsProxy 'test/bad': name must be a DNS-1123 label (lower-case letters, digits and "-", at most 63 characters, alphanumeric at both ends), got "Hello_ESP"`,
  ],
  [
    'image',
    { image: { repository: 'gcr.io/Endpoints/esp', tag: '2' } },
    `CloudEndpointsProxy 'test/bad': image.repository must be an image repository such as "registry.example.com/team/payments", got "gcr.io/Endpoints/esp"`,
  ],
  [
    'resources',
    { resources: { requests: { cpu: 'one', memory: '1Mi' }, limits: { cpu: '1', memory: '1Mi' } } },
    `CloudEndpointsProxy 'test/bad': resources.requests.cpu must be a Kubernetes quantity such as "100m" or "128Mi", got "one"`,
  ],
  [
    'drainTime past the grace period',
    { drainTime: Duration.seconds(20) },
    `CloudEndpointsProxy 'test/bad': drainTime must be shorter than the pod's terminationGracePeriodSeconds (20 s), got "20000 ms"`,
  ],
];

test.each(badCases)('bad prop: %s', (_label, props, message) => {
  const { chart, app } = fixture();
  expect(() => new CloudEndpointsProxy(chart, 'bad', { app, endpointsServiceName, apis, ...props })).toThrow(
    new Error(message),
  );
});

test('bad prop: a second proxy for the same app', () => {
  const { chart, app } = fixture();
  new CloudEndpointsProxy(chart, 'esp', { app, endpointsServiceName, apis });
  expect(
    () => new CloudEndpointsProxy(chart, 'bad', { app, endpointsServiceName, apis, port: 9001, name: 'other' }),
  ).toThrow(
    new Error(
      `CloudEndpointsProxy 'test/bad': app must be an app without an ESPv2 sidecar: one proxy per pod, got "hello"`,
    ),
  );
});
