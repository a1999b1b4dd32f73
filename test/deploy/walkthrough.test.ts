/**
 * The synthesized Istio walkthrough of every environment: the wiring between objects that must agree, checked
 * from the YAML the way the cluster will read it (snapshots and schema validation: strategies.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { clientSettings } from '../../app/client';
import { parseSettings } from '../../app/config';
import { serverSettings } from '../../app/server';
import { CLIENT_ENV, SERVER_ENV } from '../../app/settings';
import { ENVIRONMENTS, IMAGE_NAMES, SYNC_WAVE_ANNOTATION } from '../../deploy';
import { synthesize } from '../../main';
import {
  containerEnv,
  findObject,
  readManifestDir,
  selects,
  serviceHost,
  type KubeObject,
} from '../../harness/manifests';

const outdir = mkdtempSync(path.join(tmpdir(), 'walkthrough-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));
synthesize(
  outdir,
  Object.keys(ENVIRONMENTS).map((env) => `${env}/istio-ilb`),
);

const rendered = Object.fromEntries(
  Object.keys(ENVIRONMENTS).map((env) => [env, readManifestDir(path.join(outdir, env, 'istio-ilb'))]),
);
const objectsOf = (env: string): KubeObject[] => rendered[env].flatMap((file) => file.objects);
const environments = Object.keys(ENVIRONMENTS);

const workloads = (objects: readonly KubeObject[]) => objects.filter((o) => o.kind === 'Deployment');
const podLabels = (deployment: KubeObject): Record<string, string> => deployment.spec.template.metadata.labels;
const containers = (objects: readonly KubeObject[]) =>
  workloads(objects).flatMap((d) => d.spec.template.spec.containers as KubeObject[]);

describe.each(environments)('dist/%s', (env) => {
  const objects = objectsOf(env);
  const virtualService = findObject(objects, 'VirtualService');
  const destination = virtualService.spec.http[0].route[0].destination;
  const greeterService = objects.filter((o) => o.kind === 'Service' && serviceHost(o) === destination.host);
  const gateway = findObject(objects, 'Gateway');
  const gatewayDeployment = workloads(objects).filter((d) => selects(gateway.spec.selector, podLabels(d)));
  const gatewayService = objects.filter((o) => o.kind === 'Service' && o.spec.type === 'LoadBalancer');
  const client = workloads(objects).filter((d) =>
    d.spec.template.spec.containers.some((c: KubeObject) => containerEnv(c).SERVER_NAME !== undefined),
  );

  test('files apply in order: the Namespace first, every object named and namespaced where it must be', () => {
    expect(rendered[env][0].objects.map((o) => o.kind)).toEqual(['Namespace']);
    for (const o of objects) {
      expect(o.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      if (o.kind !== 'Namespace')
        expect({ kind: o.kind, namespace: o.metadata.namespace }).toEqual({
          kind: o.kind,
          namespace: expect.any(String),
        });
    }
  });

  test('the VirtualService routes the gateway host to the greeter Service by its DNS name and gRPC port', () => {
    expect(greeterService).toHaveLength(1);
    const [service] = greeterService;
    const port = service.spec.ports.find((p: KubeObject) => p.port === destination.port.number);
    expect(port).toMatchObject({ name: 'grpc', appProtocol: 'grpc' });
    const greeter = workloads(objects).filter((d) => selects(service.spec.selector, podLabels(d)));
    expect(greeter).toHaveLength(1);
    const [container] = greeter[0].spec.template.spec.containers;
    expect(container.ports).toContainEqual(
      expect.objectContaining({ name: port.targetPort, containerPort: port.port }),
    );
    expect(container.readinessProbe.grpc.port).toBe(port.port);
    expect(virtualService.spec.hosts).toEqual(gateway.spec.servers[0].hosts);
    expect(virtualService.spec.gateways).toEqual([`${gateway.metadata.namespace}/${gateway.metadata.name}`]);
    expect(virtualService.spec.http[0].retries.retryOn).toContain('unavailable');
  });

  test('the DestinationRule balances each call over the same Service, with mesh TLS and outlier detection', () => {
    const rule = findObject(objects, 'DestinationRule');
    expect(rule.spec.host).toBe(destination.host);
    expect(rule.spec.trafficPolicy).toMatchObject({
      loadBalancer: { simple: 'ROUND_ROBIN' },
      tls: { mode: 'ISTIO_MUTUAL' },
    });
    expect(rule.spec.trafficPolicy.outlierDetection.maxEjectionPercent).toBeLessThan(100);
  });

  test('the Gateway selects exactly the gateway pods, which listen where the Gateway and the Service say', () => {
    expect(gatewayDeployment).toHaveLength(1);
    const [deployment] = gatewayDeployment;
    expect(deployment.spec.template.metadata.annotations).toEqual({ 'inject.istio.io/templates': 'gateway' });
    expect(podLabels(deployment)['sidecar.istio.io/inject']).toBe('true');
    const [proxy] = deployment.spec.template.spec.containers;
    expect(proxy).toMatchObject({ name: 'istio-proxy', image: 'auto' });
    const server = gateway.spec.servers[0];
    expect(server).toMatchObject({
      port: { protocol: 'HTTPS' },
      tls: { mode: 'SIMPLE', credentialName: expect.any(String) },
    });
    expect(proxy.ports.map((p: KubeObject) => p.containerPort)).toEqual([server.port.number]);
    expect(gatewayService).toHaveLength(1);
    expect(selects(gatewayService[0].spec.selector, podLabels(deployment))).toBe(true);
    expect(gatewayService[0].spec.ports[0].targetPort).toBe(server.port.number);
    expect(gatewayService[0].metadata.namespace).toBe(deployment.metadata.namespace);
  });

  test("the gateway's ServiceAccount may read its TLS Secret, in the gateway's namespace", () => {
    const [deployment] = gatewayDeployment;
    const namespace = deployment.metadata.namespace;
    const account = deployment.spec.template.spec.serviceAccountName;
    expect(findObject(objects, 'ServiceAccount', account).metadata.namespace).toBe(namespace);
    const binding = objects.find(
      (o) =>
        o.kind === 'RoleBinding' && o.subjects.some((s: KubeObject) => s.name === account && s.namespace === namespace),
    );
    expect(binding).toBeDefined();
    const role = findObject(objects, 'Role', binding!.roleRef.name);
    expect(role.metadata.namespace).toBe(namespace);
    // istiod's credentialName check is a SubjectAccessReview for `list` on secrets (Istio 1.30.3 pilot/pkg/credentials/kube/secrets.go).
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }]);
  });

  test('the client test dials the gateway Service, verifies the host, and mounts only the certificate of the same Secret', () => {
    expect(client).toHaveLength(1);
    const [deployment] = client;
    const [container] = deployment.spec.template.spec.containers;
    const settings = containerEnv(container);
    const [service] = gatewayService;
    expect(deployment.metadata.namespace).toBe(service.metadata.namespace);
    expect(settings.TARGET).toBe(`${serviceHost(service)}:${service.spec.ports[0].port}`);
    expect(settings.SERVER_NAME).toBe(gateway.spec.servers[0].hosts[0]);
    const volume = deployment.spec.template.spec.volumes.find(
      (v: KubeObject) => v.secret?.secretName === gateway.spec.servers[0].tls.credentialName,
    );
    expect(volume.secret.items).toEqual([{ key: 'tls.crt', path: path.basename(settings.CA_FILE) }]);
    const mount = container.volumeMounts.find((m: KubeObject) => m.name === volume.name);
    expect(path.join(mount.mountPath, path.basename(settings.CA_FILE))).toBe(settings.CA_FILE);
    expect(mount.readOnly).toBe(true);
    expect(podLabels(deployment)['sidecar.istio.io/inject']).toBe('false');
  });

  test('only the gateway may call the greeter, and only over Istio mutual TLS', () => {
    const namespace = findObject(objects, 'Namespace');
    expect(namespace.metadata.labels).toMatchObject({
      'istio-injection': 'enabled',
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
    const [service] = greeterService;
    expect(service.metadata.namespace).toBe(namespace.metadata.name);
    const peer = findObject(objects, 'PeerAuthentication');
    expect(peer).toMatchObject({
      metadata: { namespace: namespace.metadata.name },
      spec: { mtls: { mode: 'STRICT' } },
    });
    expect(peer.spec.selector).toBeUndefined();
    const policy = findObject(objects, 'AuthorizationPolicy');
    const [deployment] = gatewayDeployment;
    expect(policy.spec.action).toBe('ALLOW');
    expect(policy.spec.selector.matchLabels).toEqual(service.spec.selector);
    expect(policy.spec.rules).toEqual([
      {
        from: [
          {
            source: {
              principals: [
                `cluster.local/ns/${deployment.metadata.namespace}/sa/${deployment.spec.template.spec.serviceAccountName}`,
              ],
            },
          },
        ],
        to: [{ operation: { ports: [String(destination.port.number)] } }],
      },
    ]);
  });

  test('the containers get settings the greeter server and client accept, and the pod outlives the drain', () => {
    const [service] = greeterService;
    const [greeter] = workloads(objects).filter((d) => selects(service.spec.selector, podLabels(d)));
    // NODE_OPTIONS is Node's own (the heap cap); every other variable is a server setting of app/settings.ts
    // (app-settings.test.ts ties those to the parsers).
    const { NODE_OPTIONS, ...server } = containerEnv(greeter.spec.template.spec.containers[0]);
    expect(NODE_OPTIONS).toMatch(/^--max-old-space-size=\d+$/);
    expect(Object.values(SERVER_ENV)).toEqual(expect.arrayContaining(Object.keys(server)));
    const parsed = parseSettings(serverSettings, [], server);
    expect(parsed.help === false && parsed.settings.port).toBe(destination.port.number);
    const grace = parsed.help === false ? parsed.settings.shutdownGraceMs : NaN;
    // The pod serves through its preStop sleep, then drains: the grace period and the sidecar cover both.
    const delay = greeter.spec.template.spec.containers[0].lifecycle.preStop.sleep.seconds * 1000;
    expect(delay).toBeGreaterThan(0);
    expect(greeter.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(delay + grace);
    expect(JSON.parse(greeter.spec.template.metadata.annotations['proxy.istio.io/config'])).toEqual({
      terminationDrainDuration: `${(delay + grace) / 1000}s`,
    });

    const clientEnv = containerEnv(client[0].spec.template.spec.containers[0]);
    expect(Object.values(CLIENT_ENV)).toEqual(expect.arrayContaining(Object.keys(clientEnv)));
    // CA_FILE names a file in the pod; everything else must parse as the client will parse it.
    const clientParsed = parseSettings(clientSettings, [], { ...clientEnv, CA_FILE: undefined });
    expect(clientParsed.help === false && clientParsed.settings.serverName).toBe(gateway.spec.servers[0].hosts[0]);
  });
});

test('Docker Desktop runs locally built images that are never pulled; GKE pulls tagged images from its registry', () => {
  const images = (env: string) => containers(objectsOf(env)).filter((c) => c.image !== 'auto');
  const local = images('docker-desktop');
  expect(local.length).toBeGreaterThan(0);
  for (const container of local) {
    expect(container.imagePullPolicy).toBe('Never');
    expect(container.image).toMatch(new RegExp(`^(${Object.values(IMAGE_NAMES).join('|')}):`));
  }
  const gke = images('gke');
  for (const container of gke) {
    expect(container.imagePullPolicy).not.toBe('Never');
    expect(container.image.startsWith(`${ENVIRONMENTS.gke.images.registry}/`)).toBe(true);
    expect(container.image).not.toMatch(/:latest$/);
  }
  expect(gke.map((c) => c.image.split('/').pop())).toEqual(local.map((c) => c.image));
});

test('the gateway is an internal load balancer on GKE and a plain one on Docker Desktop (published on localhost)', () => {
  const annotations = (env: string) =>
    objectsOf(env).find((o) => o.kind === 'Service' && o.spec.type === 'LoadBalancer')!.metadata.annotations;
  expect(annotations('gke')).toEqual({
    'networking.gke.io/load-balancer-type': 'Internal',
    [SYNC_WAVE_ANNOTATION]: '1',
  });
  expect(annotations('docker-desktop')).toEqual({ [SYNC_WAVE_ANNOTATION]: '1' });
});
