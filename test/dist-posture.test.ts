/**
 * The security and operability posture of everything in the committed dist/, object by object: the Pod Security
 * Standards "restricted" rules for every workload, requests and limits on every container, probes on every server
 * container, no key material, pinned images, and a disruption budget for every workload with more than one replica.
 *
 * Documented exceptions, each checked to be exactly that:
 * - The Istio gateway's container is `image: auto`: Istio's `gateway` injection template replaces it with its proxy,
 *   including the proxy's readiness probe, so it has no probe of its own here.
 * - API tokens are mounted only where a process reads the Kubernetes API: the `k8s-resolver` client (EndpointSlices).
 *   The Istio gateway's pilot-agent authenticates with its own projected `istio-token` (Istio's gateway template).
 * - Meshed namespaces enforce Pod Security `baseline`, the level Istio and Linkerd document with their CNI plugins;
 *   the rest enforce `restricted`. All warn and audit against `restricted`, which every pod here meets.
 */
import * as path from 'node:path';
import { ROOT } from '../harness/processes';
import { manifestDirs, readManifestDir, type KubeObject } from '../harness/manifests';
import { CLIENT_ENV } from '../app/settings';
import { ENVIRONMENTS, IMAGE_NAMES, SYNC_WAVE_ANNOTATION } from '../deploy';

const DIST = path.join(ROOT, 'dist');
const dirs = manifestDirs(DIST).map((dir) => path.relative(DIST, dir));
const objectsIn = (dir: string) => readManifestDir(path.join(DIST, dir)).flatMap((file) => file.objects);
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod']);
const ISTIO_AUTO_IMAGE = 'auto';

/** The pod spec of a workload object. */
const podSpec = (o: KubeObject) =>
  o.kind === 'Pod' ? o.spec : o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec;
const allContainers = (pod: KubeObject): KubeObject[] => [...(pod.initContainers ?? []), ...pod.containers];

// Pod Security Standards (Kubernetes 1.27): the "restricted" profile, and the sysctls "baseline" calls safe.
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
]);
const RESTRICTED_VOLUME_TYPES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/** Every rule of the restricted profile a pod breaks, as readable strings (empty: it meets the profile). */
function restrictedViolations(pod: KubeObject): string[] {
  const violations: string[] = [];
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) if (pod[field]) violations.push(`${field}: true`);
  for (const volume of pod.volumes ?? []) {
    const types = Object.keys(volume).filter((key) => key !== 'name');
    if (!types.every((type) => RESTRICTED_VOLUME_TYPES.has(type)))
      violations.push(`volume ${volume.name}: ${types.join(', ')}`);
  }
  for (const sysctl of pod.securityContext?.sysctls ?? [])
    if (!SAFE_SYSCTLS.has(sysctl.name)) violations.push(`sysctl ${sysctl.name}`);
  const podSeccomp = pod.securityContext?.seccompProfile?.type;
  for (const container of allContainers(pod)) {
    const context = container.securityContext ?? {};
    const where = `container ${container.name}`;
    if (context.privileged) violations.push(`${where}: privileged`);
    if (context.allowPrivilegeEscalation !== false) violations.push(`${where}: allowPrivilegeEscalation not false`);
    if (!(context.runAsNonRoot ?? pod.securityContext?.runAsNonRoot))
      violations.push(`${where}: runAsNonRoot not true`);
    if ((context.runAsUser ?? pod.securityContext?.runAsUser) === 0) violations.push(`${where}: runAsUser 0`);
    if (!['RuntimeDefault', 'Localhost'].includes(context.seccompProfile?.type ?? podSeccomp))
      violations.push(`${where}: no RuntimeDefault seccomp profile`);
    if (!(context.capabilities?.drop ?? []).includes('ALL')) violations.push(`${where}: capabilities not dropping ALL`);
    for (const added of context.capabilities?.add ?? [])
      if (added !== 'NET_BIND_SERVICE') violations.push(`${where}: adds capability ${added}`);
    for (const port of container.ports ?? []) if (port.hostPort) violations.push(`${where}: hostPort ${port.hostPort}`);
  }
  return violations;
}

test('dist/ holds every environment × strategy directory', () => {
  expect(dirs.length).toBeGreaterThanOrEqual(
    Object.values(ENVIRONMENTS).reduce((n, env) => n + env.strategies.length, 0),
  );
});

describe.each(dirs)('dist/%s', (dir) => {
  const files = readManifestDir(path.join(DIST, dir));
  const objects = objectsIn(dir);
  const workloads = objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
  const environment = Object.values(ENVIRONMENTS).find((env) => dir.startsWith(`${env.name}/`));

  test('no Secret and no key or certificate in any file: key material is created in the cluster, never in git', () => {
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    for (const file of files)
      expect({
        file: file.file,
        keyMaterial: /-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----/.test(file.text),
      }).toEqual({ file: file.file, keyMaterial: false });
  });

  test('every workload meets the Pod Security Standards "restricted" profile', () => {
    for (const workload of workloads)
      expect({ workload: workload.metadata.name, violations: restrictedViolations(podSpec(workload)) }).toEqual({
        workload: workload.metadata.name,
        violations: [],
      });
  });

  test('every Namespace enforces Pod Security Admission: baseline where a mesh injects, restricted elsewhere', () => {
    for (const namespace of objects.filter((o) => o.kind === 'Namespace')) {
      const labels = namespace.metadata.labels ?? {};
      const meshed =
        labels['istio-injection'] === 'enabled' || namespace.metadata.annotations?.['linkerd.io/inject'] === 'enabled';
      expect(labels).toMatchObject({
        'pod-security.kubernetes.io/enforce': meshed ? 'baseline' : 'restricted',
        'pod-security.kubernetes.io/warn': 'restricted',
        'pod-security.kubernetes.io/audit': 'restricted',
      });
    }
  });

  test('every container has CPU and memory requests and limits', () => {
    for (const workload of workloads) {
      for (const container of allContainers(podSpec(workload))) {
        expect({ container: `${workload.metadata.name}/${container.name}`, resources: container.resources }).toEqual({
          container: `${workload.metadata.name}/${container.name}`,
          resources: {
            requests: { cpu: expect.any(String), memory: expect.any(String) },
            limits: { cpu: expect.any(String), memory: expect.any(String) },
          },
        });
      }
    }
  });

  test('every server container (one with ports) has readiness and liveness probes; the Istio gateway gets its proxy’s', () => {
    for (const workload of workloads) {
      for (const container of podSpec(workload).containers.filter((c: KubeObject) => (c.ports ?? []).length > 0)) {
        const name = `${workload.metadata.name}/${container.name}`;
        if (container.image === ISTIO_AUTO_IMAGE) {
          expect(workload.spec.template.metadata.annotations['inject.istio.io/templates']).toBe('gateway');
          continue;
        }
        expect({
          container: name,
          readiness: container.readinessProbe !== undefined,
          liveness: container.livenessProbe !== undefined,
        }).toEqual({ container: name, readiness: true, liveness: true });
      }
    }
  });

  test('API tokens are mounted only for processes that read the Kubernetes API', () => {
    for (const workload of workloads) {
      const pod = podSpec(workload);
      const readsApi = pod.containers.some((c: KubeObject) =>
        (c.env ?? []).some((e: KubeObject) => e.name === CLIENT_ENV.target && e.value.startsWith('kubernetes:///')),
      );
      expect({ workload: workload.metadata.name, automount: pod.automountServiceAccountToken !== false }).toEqual({
        workload: workload.metadata.name,
        automount: readsApi,
      });
    }
  });

  test('every workload with more than one replica has a PodDisruptionBudget that selects it', () => {
    for (const workload of workloads.filter((w) => (w.spec.replicas ?? 1) > 1)) {
      const labels = workload.spec.template.metadata.labels;
      const budgets = objects.filter(
        (o) =>
          o.kind === 'PodDisruptionBudget' &&
          o.metadata.namespace === workload.metadata.namespace &&
          Object.entries(o.spec.selector.matchLabels).every(([key, value]) => labels[key] === value),
      );
      expect({ workload: workload.metadata.name, budgets: budgets.length }).toEqual({
        workload: workload.metadata.name,
        budgets: 1,
      });
    }
  });

  test('images are pinned: registry-pulled environments never use :latest or an untagged image; local ones are never pulled', () => {
    const images = workloads.flatMap((w) => allContainers(podSpec(w))).filter((c) => c.image !== ISTIO_AUTO_IMAGE);
    for (const container of images) {
      expect(container.image).toMatch(/:[A-Za-z0-9_][A-Za-z0-9_.-]*$/);
      expect(container.image).not.toMatch(/:latest$/);
      if (!Object.values(IMAGE_NAMES).some((name) => container.image.includes(`${name}:`))) continue;
      // This project's own images: as the environment builds and ships them.
      expect({ image: container.image, pullPolicy: container.imagePullPolicy }).toEqual(
        environment!.images.registry === ''
          ? { image: expect.not.stringContaining('/'), pullPolicy: environment!.images.pullPolicy }
          : {
              image: expect.stringMatching(new RegExp(`^${environment!.images.registry}/`)),
              pullPolicy: environment!.images.pullPolicy,
            },
      );
    }
  });

  test('every object is annotated with an Argo CD sync wave or is an Argo CD Application', () => {
    for (const o of objects)
      expect({
        object: `${o.kind}/${o.metadata.name}`,
        ok: o.kind === 'Application' || o.metadata.annotations?.[SYNC_WAVE_ANNOTATION] !== undefined,
      }).toEqual({ object: `${o.kind}/${o.metadata.name}`, ok: true });
  });
});
