/**
 * Every environment × strategy directory, synthesized the way `npm run synth` writes dist/: schema validation of
 * every object, and the wiring between the client and each strategy's front door, checked from the YAML the way the
 * cluster reads it. The one switch: an environment's `strategies` picks what is rendered. The full output's golden
 * copy is the committed dist/ (synth.test.ts checks it fresh); each construct's is construct-snapshots.test.ts.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { clientSettings } from '../../app/client';
import { parseSettings } from '../../app/config';
import { serverSettings } from '../../app/server';
import { renderNginxConfig } from '../../harness/nginx-config';
import {
  ENVIRONMENTS,
  STRATEGY_NAMES,
  SYNC_WAVE_ANNOTATION,
  environmentStrategies,
  type EnvironmentConfig,
} from '../../deploy';
import { ENDPOINT_SLICE_READER_RULES } from '../../lib/endpoint-slice-reader';
import { ENVOY_GATEWAY_CONTROLLER, declaresGrpc } from 'grpc-k8s-lb-common';
import { App, ApiObject } from 'cdk8s';
import { ENVOY_GATEWAY_CLASS } from '../../lib/grpc-gateway';
import { envoyGateway } from '../../deploy/strategies/envoy-gateway';
import { synthesize } from '../../main';
import { KUSTOMIZATION_FILE } from '../../deploy/kustomization';
import {
  containerEnv,
  findObject,
  readManifestDir,
  selects,
  serviceHost,
  validateAgainstSchemas,
  type KubeObject,
} from '../../harness/manifests';

const outdir = mkdtempSync(path.join(tmpdir(), 'strategies-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));
synthesize(outdir);

const cases = Object.values(ENVIRONMENTS).flatMap((env) =>
  env.strategies.map((strategy) => [env.name, strategy] as const),
);
const rendered = (env: string, strategy: string) => readManifestDir(path.join(outdir, env, strategy));
const objectsOf = (env: string, strategy: string) => rendered(env, strategy).flatMap((file) => file.objects);

const deployments = (objects: readonly KubeObject[]) => objects.filter((o) => o.kind === 'Deployment');
const podLabels = (deployment: KubeObject): Record<string, string> => deployment.spec.template.metadata.labels;
/** An object's annotations less Argo CD's sync wave, which every object carries (gitops.test.ts checks it). */
const withoutSyncWave = (annotations: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries(annotations).filter(([key]) => key !== SYNC_WAVE_ANNOTATION));

/** The client test: the one Deployment whose container gets a TARGET. */
function clientOf(objects: readonly KubeObject[]) {
  const [deployment, ...others] = deployments(objects).filter(
    (d) => containerEnv(d.spec.template.spec.containers[0]).TARGET !== undefined,
  );
  expect(others).toEqual([]);
  return { deployment, settings: containerEnv(deployment.spec.template.spec.containers[0]) };
}

/** The greeter: its Deployment, its ClusterIP Service and the server settings it runs with. */
function greeterOf(objects: readonly KubeObject[]) {
  const service = objects.find(
    (o) => o.kind === 'Service' && o.spec.clusterIP === undefined && o.spec.type === 'ClusterIP',
  )!;
  const [deployment] = deployments(objects).filter((d) => selects(service.spec.selector, podLabels(d)));
  const parsed = parseSettings(serverSettings, [], containerEnv(deployment.spec.template.spec.containers[0]));
  if (parsed.help) throw new Error('unexpected --help');
  return {
    service,
    deployment,
    settings: parsed.settings,
    grpcPort: service.spec.ports.find((p: { name?: string; appProtocol?: string }) => declaresGrpc(p)),
  };
}

test('dist/ holds one directory per environment and strategy, each applying on its own from its Namespace', () => {
  for (const env of Object.values(ENVIRONMENTS))
    expect(readdirSync(path.join(outdir, env.name)).sort()).toEqual([...env.strategies].sort());
  for (const [env, strategy] of cases) {
    const files = rendered(env, strategy);
    expect(files.map((f) => f.file)).toEqual(
      files.map((_, index) =>
        expect.stringMatching(new RegExp(`^${String(index).padStart(4, '0')}-[a-z-]+\\.k8s\\.yaml$`)),
      ),
    );
    // The first file holds the Namespace and, where a strategy renders one, the cluster-scoped GatewayClass.
    expect(files[0].objects.map((o) => o.kind)).toEqual(
      strategy === 'envoy-gateway' ? ['Namespace', 'GatewayClass'] : ['Namespace'],
    );
    expect(files.at(-1)!.file).toMatch(/-client\.k8s\.yaml$/);
  }
});

describe.each(cases)('dist/%s/%s', (env, strategy) => {
  const objects = objectsOf(env, strategy);

  test('every object is valid against its published schema', () => {
    const results = validateAgainstSchemas(objects);
    expect(results).toHaveLength(objects.length);
    expect(results.filter((r) => r.error !== null)).toEqual([]);
  });

  test('the client parses its settings as the greeter client will, and dials with the policy its front door needs', () => {
    const { settings } = clientOf(objects);
    const parsed = parseSettings(clientSettings, [], { ...settings, CA_FILE: undefined });
    expect(parsed.help).toBe(false);
    expect(['pick_first', 'round_robin']).toContain(settings.LB_POLICY);
  });

  test('the greeter serves through a native preStop sleep before it drains, within its grace period; the client retries UNAVAILABLE and waits for ready', () => {
    // The greeter's Deployment by the setting only its server reads (some strategies' greeters read files of the pod).
    const [greeter] = deployments(objects).filter(
      (d) => containerEnv(d.spec.template.spec.containers[0]).SHUTDOWN_GRACE_MS !== undefined,
    );
    const pod = greeter.spec.template.spec;
    const delaySeconds = pod.containers[0].lifecycle.preStop.sleep.seconds;
    // At least the slowest data plane's lag in front of any of them (ingress-nginx: 1/0.3 s + 1 s; docs/strategies.md).
    expect(delaySeconds).toBeGreaterThanOrEqual(5);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
      delaySeconds * 1000 + Number(containerEnv(pod.containers[0]).SHUTDOWN_GRACE_MS),
    );
    const { settings } = clientOf(objects);
    expect(settings.WAIT_FOR_READY).toBe('true');
    // An xds: target takes its retries from the control plane's route (app/xds.ts refuses more attempts).
    expect(settings.MAX_ATTEMPTS).toBe(strategy === 'istio-proxyless' ? '1' : '3');
  });
});

const each = (strategy: string) =>
  Object.values(ENVIRONMENTS)
    .filter((env) => env.strategies.some((s) => s === strategy))
    .map((env) => env.name);

describe.each(each('nginx-ingress'))('nginx-ingress in %s', (env) => {
  const objects = objectsOf(env, 'nginx-ingress');
  const ingress = findObject(objects, 'Ingress');
  const greeter = greeterOf(objects);
  const { deployment, settings } = clientOf(objects);

  test('the Ingress routes the host over TLS to the greeter Service by its gRPC port, as gRPC', () => {
    expect(withoutSyncWave(ingress.metadata.annotations)).toEqual({
      'nginx.ingress.kubernetes.io/backend-protocol': 'GRPC',
    });
    expect(ingress.spec.ingressClassName).toBe('nginx');
    const [rule] = ingress.spec.rules;
    expect(ingress.spec.tls).toEqual([{ hosts: [rule.host], secretName: expect.any(String) }]);
    expect(rule.http.paths).toEqual([
      {
        path: '/helloworld.Greeter/',
        pathType: 'Prefix',
        backend: { service: { name: greeter.service.metadata.name, port: { name: greeter.grpcPort.name } } },
      },
    ]);
    expect(ingress.metadata.namespace).toBe(greeter.service.metadata.namespace);
    expect(ingress.metadata.labels).toBeUndefined();
  });

  test('the client dials the controller with the host as server name and trusts only the Ingress Secret’s certificate', () => {
    expect(settings).toMatchObject({
      TARGET: 'ingress-nginx-controller.ingress-nginx.svc.cluster.local:443',
      SERVER_NAME: ingress.spec.rules[0].host,
      LB_POLICY: 'pick_first',
    });
    expect(deployment.metadata.namespace).toBe(ingress.metadata.namespace);
    const [volume] = deployment.spec.template.spec.volumes;
    expect(volume.secret).toEqual({
      secretName: ingress.spec.tls[0].secretName,
      items: [{ key: 'tls.crt', path: path.basename(settings.CA_FILE) }],
    });
  });

  test('no mesh: the namespace enforces the restricted Pod Security Standard', () => {
    expect(findObject(objects, 'Namespace').metadata.labels).toEqual({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
  });

  test("describes the same routing as the L7 harness's nginx config (harness/nginx-config.ts)", () => {
    const [rule] = ingress.spec.rules;
    const config = renderNginxConfig(
      '/run',
      [{ name: 'greeter', port: 8443, kind: 'grpc-tls', backends: [50051, 50052] }],
      { certFile: '/c.pem', keyFile: '/k.pem', caFile: '/c.pem' } as never,
    );
    // TLS for the same host, HTTP/2, the greeter's service (no health, no reflection) to its pods, as gRPC
    // (grpc_pass, not proxy_pass).
    expect(config).toContain(`server_name ${rule.host};`);
    expect(config).toMatch(/listen 127\.0\.0\.1:8443 ssl http2;/);
    expect(rule.http.paths.map((p: KubeObject) => `${p.pathType}:${p.path}`)).toEqual(['Prefix:/helloworld.Greeter/']);
    expect(config).toMatch(/location \/helloworld\.Greeter\/ \{\s+grpc_pass grpc:\/\/greeter;/);
    // The server drains with GOAWAY only on shutdown here (no max connection age), which ingress-nginx's upstream
    // keepalive handles; with an age set, the harness's keepalive_time rule would be needed.
    expect(greeter.settings.maxConnectionAgeMs).toBeUndefined();
  });
});

describe.each(each('linkerd'))('linkerd in %s', (env) => {
  const objects = objectsOf(env, 'linkerd');
  const greeter = greeterOf(objects);
  const { deployment, settings } = clientOf(objects);
  const namespace = findObject(objects, 'Namespace');

  test("the namespace is annotated for Linkerd's injector and the client calls the ClusterIP Service from inside it", () => {
    expect(withoutSyncWave(namespace.metadata.annotations)).toEqual({ 'linkerd.io/inject': 'enabled' });
    expect(namespace.metadata.labels).not.toHaveProperty('istio-injection');
    expect(deployment.metadata.namespace).toBe(namespace.metadata.name);
    expect(settings).toEqual(
      expect.objectContaining({
        TARGET: `${serviceHost(greeter.service)}:${greeter.grpcPort.port}`,
        LB_POLICY: 'pick_first',
      }),
    );
    expect(settings.SERVER_NAME).toBeUndefined();
    expect(podLabels(deployment)).not.toHaveProperty('sidecar.istio.io/inject');
    // Linkerd ≥ 2.18 carries an appProtocol it does not know (such as grpc) as opaque TCP: linkerd2 PR #13948.
    expect(greeter.grpcPort.appProtocol).toBe('kubernetes.io/h2c');
  });

  test("retries and timeouts for gRPC are annotations on an outbound GRPCRoute whose parent is the greeter's Service, and the proxy outlives the drain", () => {
    const route = findObject(objects, 'GRPCRoute');
    const service = { group: '', kind: 'Service', name: greeter.service.metadata.name, port: greeter.grpcPort.port };
    expect(route.metadata.namespace).toBe(greeter.service.metadata.namespace);
    expect(withoutSyncWave(route.metadata.annotations)).toEqual({
      'retry.linkerd.io/grpc': 'cancelled,unavailable',
      'retry.linkerd.io/limit': '2',
      'retry.linkerd.io/timeout': '2000ms',
      'timeout.linkerd.io/request': '10000ms',
    });
    // A Service parent (no Gateway): Linkerd applies the route to every meshed call to the Service.
    expect(route.spec).toEqual({ parentRefs: [service], rules: [{ backendRefs: [service] }] });
    expect(withoutSyncWave(greeter.service.metadata.annotations)).toEqual({});
    const annotations = greeter.deployment.spec.template.metadata.annotations;
    expect(Number(annotations['config.alpha.linkerd.io/proxy-wait-before-exit-seconds']) * 1000).toBeGreaterThanOrEqual(
      greeter.settings.shutdownGraceMs,
    );
    expect(annotations).not.toHaveProperty('proxy.istio.io/config');
  });
});

describe.each(each('headless'))('headless in %s', (env) => {
  const objects = objectsOf(env, 'headless');
  const greeter = greeterOf(objects);
  const headless = objects.find((o) => o.kind === 'Service' && o.spec.clusterIP === 'None')!;
  const { settings } = clientOf(objects);

  test('the headless Service publishes only ready greeter pods on the gRPC port', () => {
    expect(headless.spec.selector).toEqual(greeter.service.spec.selector);
    expect(headless.spec.publishNotReadyAddresses).toBe(false);
    expect(headless.spec.ports).toEqual(greeter.service.spec.ports);
    expect(headless.metadata.labels).toBeUndefined();
  });

  test('the client resolves every pod through DNS and balances with round_robin; servers age connections out', () => {
    expect(settings).toEqual(
      expect.objectContaining({
        TARGET: `dns:///${serviceHost(headless)}:${greeter.grpcPort.port}`,
        LB_POLICY: 'round_robin',
      }),
    );
    expect(greeter.settings.maxConnectionAgeMs).toBeGreaterThan(0);
  });

  test('the client resolves again at most every 2 s, so that each max connection age and each drain can make it; pods outlast the DNS TTL', () => {
    expect(Number(settings.DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS)).toBe(2000);
    expect(Number(settings.DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS)).toBeLessThanOrEqual(
      greeter.settings.maxConnectionAgeMs!,
    );
    // Kubernetes' CoreDNS Corefile answers with a 30 s TTL and caches 30 s: the pod serves longer than an answer lives.
    expect(greeter.deployment.spec.template.spec.containers[0].lifecycle.preStop.sleep.seconds).toBeGreaterThan(30);
  });
});

describe.each(each('k8s-resolver'))('k8s-resolver in %s', (env) => {
  const objects = objectsOf(env, 'k8s-resolver');
  const greeter = greeterOf(objects);
  const { deployment, settings } = clientOf(objects);

  test('the client watches the greeter Service by name, namespace and port name, and balances with round_robin', () => {
    expect(settings).toEqual(
      expect.objectContaining({
        TARGET: `kubernetes:///${greeter.service.metadata.name}.${greeter.service.metadata.namespace}:${greeter.grpcPort.name}`,
        LB_POLICY: 'round_robin',
      }),
    );
  });

  test('only the client gets an API token, bound to a Role that may only list and watch EndpointSlices', () => {
    const pod = deployment.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(greeter.deployment.spec.template.spec.automountServiceAccountToken).toBe(false);
    const binding = objects.find(
      (o) =>
        o.kind === 'RoleBinding' &&
        o.subjects.some(
          (s: KubeObject) => s.name === pod.serviceAccountName && s.namespace === deployment.metadata.namespace,
        ),
    )!;
    expect(findObject(objects, 'ServiceAccount', pod.serviceAccountName).metadata.namespace).toBe(
      deployment.metadata.namespace,
    );
    const role = findObject(objects, 'Role', binding.roleRef.name);
    expect(role.metadata.namespace).toBe(greeter.service.metadata.namespace);
    expect(role.rules).toEqual(ENDPOINT_SLICE_READER_RULES);
  });
});

describe.each(each('istio-ambient'))('istio-ambient in %s', (env) => {
  const objects = objectsOf(env, 'istio-ambient');
  const greeter = greeterOf(objects);
  const { deployment, settings } = clientOf(objects);

  test("the client calls the ClusterIP Service from the ambient namespace, and the waypoint's L7 policy admits it by identity", () => {
    expect(deployment.metadata.namespace).toBe(greeter.service.metadata.namespace);
    expect(settings).toEqual(
      expect.objectContaining({
        TARGET: `${serviceHost(greeter.service)}:${greeter.grpcPort.port}`,
        LB_POLICY: 'pick_first',
      }),
    );
    expect(podLabels(deployment)).not.toHaveProperty('sidecar.istio.io/inject');
    const serviceAccount = deployment.spec.template.spec.serviceAccountName ?? 'default';
    const l7 = findObject(objects, 'AuthorizationPolicy', greeter.service.metadata.name);
    expect(l7.spec.rules[0].from[0].source.principals).toContain(
      `cluster.local/ns/${deployment.metadata.namespace}/sa/${serviceAccount}`,
    );
  });

  test("outside callers: the istio gateway admits the greeter's route from the app namespace, and its identity is allowed too", () => {
    const gateway = findObject(objects, 'Gateway', 'greeter-gateway');
    const route = findObject(objects, 'GRPCRoute', 'greeter-edge');
    expect(route.spec.parentRefs[0]).toMatchObject({ name: 'greeter-gateway', namespace: gateway.metadata.namespace });
    expect(gateway.spec.listeners[0].allowedRoutes.namespaces.selector.matchLabels).toEqual({
      'kubernetes.io/metadata.name': route.metadata.namespace,
    });
    const l7 = findObject(objects, 'AuthorizationPolicy', greeter.service.metadata.name);
    expect(l7.spec.rules[0].from[0].source.principals).toContain(
      `cluster.local/ns/${gateway.metadata.namespace}/sa/greeter-gateway-istio`,
    );
  });
});

describe.each(each('gke-gateway'))('gke-gateway in %s', (env) => {
  const objects = objectsOf(env, 'gke-gateway');
  // The server's settings name files that exist only in the pod: read its environment as written.
  const greeterPod = findObject(objects, 'Deployment', 'greeter').spec.template.spec;
  const greeterEnv = containerEnv(greeterPod.containers[0]);
  const { deployment, settings } = clientOf(objects);
  const gateway = findObject(objects, 'Gateway');

  test("the client dials the gateway's host over TLS and trusts the certificate of its listener's Secret", () => {
    const host = gateway.spec.listeners[0].hostname;
    expect(settings).toMatchObject({ TARGET: `${host}:443`, SERVER_NAME: host, LB_POLICY: 'pick_first' });
    expect(deployment.spec.template.spec.volumes[0].secret.secretName).toBe(
      gateway.spec.listeners[0].tls.certificateRefs[0].name,
    );
  });

  test('the greeter serves TLS with a certificate from the same Secret, mounted read-only where its settings point', () => {
    expect(greeterPod.volumes).toContainEqual({
      name: 'tls',
      secret: { secretName: gateway.spec.listeners[0].tls.certificateRefs[0].name },
    });
    const mount = greeterPod.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'tls');
    expect(mount).toMatchObject({ name: 'tls', readOnly: true });
    expect(greeterEnv.TLS_CERT_FILE).toBe(`${mount.mountPath}/tls.crt`);
    expect(greeterEnv.TLS_KEY_FILE).toBe(`${mount.mountPath}/tls.key`);
  });

  test('the port without TLS, where the health checks call, is a named container port', () => {
    expect(greeterPod.containers[0].ports).toContainEqual({
      name: 'grpc-plaintext',
      containerPort: Number(greeterEnv.PLAINTEXT_PORT),
      protocol: 'TCP',
    });
    expect(greeterPod.containers[0].readinessProbe.grpc.port).toBe(Number(greeterEnv.PLAINTEXT_PORT));
  });
});

describe.each(each('envoy-gateway'))('envoy-gateway in %s', (env) => {
  const objects = objectsOf(env, 'envoy-gateway');

  test("the Gateway's class is rendered with the Namespace, for Envoy Gateway's controller, whose chart creates none", () => {
    const [namespaceFile] = rendered(env, 'envoy-gateway');
    const gatewayClass = findObject(namespaceFile.objects, 'GatewayClass');
    expect(gatewayClass.spec.controllerName).toBe(ENVOY_GATEWAY_CONTROLLER);
    expect(findObject(objects, 'Gateway').spec.gatewayClassName).toBe(gatewayClass.metadata.name);
  });

  test("where the platform runs the GatewayClass, none is rendered and the Gateway names the platform's", () => {
    const config: EnvironmentConfig = {
      ...ENVIRONMENTS[env as keyof typeof ENVIRONMENTS],
      envoyGatewayClass: 'platform',
    };
    const output = envoyGateway.render(new App(), config);
    expect(output.gatewayClass).toBeUndefined();
    const chartObjects = output.gateway.node.scope!.node.findAll().filter((c) => c instanceof ApiObject);
    expect(chartObjects.map((o) => (o as ApiObject).kind)).not.toContain('GatewayClass');
    expect(output.gateway.gatewayClassName).toBe(ENVOY_GATEWAY_CLASS);
  });
});

describe('the strategy switch', () => {
  const only = (strategies: readonly string[]): EnvironmentConfig =>
    ({
      ...ENVIRONMENTS['docker-desktop'],
      strategies,
      argoCd: { destinationServer: ENVIRONMENTS['docker-desktop'].argoCd.destinationServer, strategy: strategies[0] },
    }) as EnvironmentConfig;

  test('every strategy the project names is rendered by some environment', () => {
    expect(new Set(cases.map(([, strategy]) => strategy))).toEqual(new Set(STRATEGY_NAMES));
  });

  test('an environment renders exactly the strategies it names, in its own directories', () => {
    expect(environmentStrategies(only(['linkerd', 'headless'])).map((s) => s.name)).toEqual(['linkerd', 'headless']);
    const dir = mkdtempSync(path.join(tmpdir(), 'strategy-switch-'));
    try {
      synthesize(dir, ['docker-desktop/linkerd']);
      const files = [...rendered('docker-desktop', 'linkerd').map((f) => f.file), KUSTOMIZATION_FILE];
      expect(readdirSync(dir, { recursive: true }).sort()).toEqual(
        ['docker-desktop', 'docker-desktop/linkerd', ...files.map((file) => `docker-desktop/linkerd/${file}`)].sort(),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    [
      ['istio-ilb', 'consul'],
      `EnvironmentConfig 'docker-desktop': strategies[1] must be one of ${STRATEGY_NAMES.map((name) => `"${name}"`).join(', ')}, got "consul"`,
    ],
    [['linkerd', 'linkerd'], `EnvironmentConfig 'docker-desktop': strategies[1] must be listed once, got "linkerd"`],
    [[], `EnvironmentConfig 'docker-desktop': strategies must be a non-empty list of strategy names`],
  ])('rejects strategies %j, naming the entry and the value', (strategies, message) => {
    expect(() => environmentStrategies(only(strategies))).toThrow(message);
  });

  test('an unknown environment/strategy fails before anything is written', () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'strategy-unknown-')), 'dist');
    expect(() => synthesize(dir, ['docker-desktop/istio-ilb', 'docker-desktop/endpoints'])).toThrow(
      /unknown strategy "docker-desktop\/endpoints": docker-desktop renders "docker-desktop\/istio-ilb", /,
    );
    expect(existsSync(dir)).toBe(false);
  });
});
