/**
 * dist/ as kubectl, Kustomize and Argo CD read it from git: every directory has a `Kustomization` file listing its
 * files, `kubectl kustomize` renders exactly those objects, each environment has its own Argo CD root whose
 * Applications point at directories that exist and never share an object, and sync waves put the Namespace and the
 * gateway before the routes. (`kubectl apply -f` and `-k` on every directory: kubectl.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { KUSTOMIZATION_FILE, manifestFiles } from '../../deploy/kustomization';
import {
  ENVIRONMENTS,
  GITOPS,
  ROOT_APPLICATION_NAME,
  SYNC_WAVE_ANNOTATION,
  argoCdClusters,
  argoCdDirs,
} from '../../deploy';
import { apiResource } from '../../harness/kube-discovery';
import { KUBECTL, KUBECTL_INSTALL_HINT, kubectlMissing } from '../../harness/kubectl';
import { ROOT } from '../../harness/processes';
import {
  findObject,
  manifestDirs,
  readManifestDir,
  validateAgainstSchemas,
  type KubeObject,
} from '../../harness/manifests';
import { describeWhenInstalled } from '../../harness/system-packages';

const DIST = path.join(ROOT, GITOPS.distPath);
const dirs = manifestDirs(DIST).map((dir) => path.relative(DIST, dir));
const objectsIn = (dir: string) => readManifestDir(path.join(DIST, dir)).flatMap((file) => file.objects);
const identity = (o: KubeObject) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;

test('dist/ has a directory per environment × strategy and two per cluster for Argo CD, each with a Kustomization file listing its files in apply order', () => {
  const expected = Object.values(ENVIRONMENTS).flatMap((env) => [
    ...env.strategies.map((strategy) => `${env.name}/${strategy}`),
    ...argoCdClusters(env).flatMap((cluster) => Object.values(argoCdDirs(cluster))),
  ]);
  expect(dirs.sort()).toEqual(expected.sort());
  for (const dir of dirs) {
    const kustomization = parse(readFileSync(path.join(DIST, dir, KUSTOMIZATION_FILE), 'utf8'));
    const files = manifestFiles(path.join(DIST, dir));
    expect({ dir, kustomization }).toEqual({
      dir,
      kustomization: { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: files },
    });
  }
});

describeWhenInstalled(
  'kubectl kustomize',
  kubectlMissing(),
  KUBECTL_INSTALL_HINT,
)('kubectl kustomize', () => {
  test.each(dirs)(
    '`kubectl kustomize dist/%s` renders exactly the objects of its files, the Namespace first',
    (dir) => {
      const output = execFileSync(KUBECTL, ['kustomize', path.join(DIST, dir)], { encoding: 'utf8' });
      const rendered = parseAllDocuments(output).map((doc) => doc.toJS() as KubeObject);
      expect(rendered.map(identity).sort()).toEqual(objectsIn(dir).map(identity).sort());
      if (rendered.some((o) => o.kind === 'Namespace')) expect(rendered[0].kind).toBe('Namespace');
    },
  );
});

/** The directory under dist/ an Application's source reads. */
function sourceDir(application: KubeObject): string {
  const { path: sourcePath } = application.spec.source;
  expect(sourcePath.startsWith(`${GITOPS.distPath}/`)).toBe(true);
  return path.relative(GITOPS.distPath, sourcePath);
}

/**
 * The objects two of these Applications would both manage: each manages the objects of its source directory in its
 * destination cluster, and an object without a namespace of a namespaced kind lands in the destination namespace.
 */
function sharedObjects(applications: readonly KubeObject[]): string[] {
  const managedBy = new Map<string, string>();
  const shared: string[] = [];
  for (const application of applications) {
    const { destination } = application.spec;
    for (const object of objectsIn(sourceDir(application))) {
      const resource = apiResource(object);
      if (resource === undefined)
        throw new Error(
          `${identity(object)}: ${object.apiVersion} is not a kind Kubernetes 1.32 or upstream/crds serves`,
        );
      const namespace = resource.namespaced ? (object.metadata.namespace ?? destination.namespace) : '';
      const key = `${destination.server} ${resource.group}/${object.kind} ${namespace}/${object.metadata.name}`;
      const owner = managedBy.get(key);
      if (owner !== undefined) shared.push(`${key}: ${owner} and ${application.metadata.name}`);
      managedBy.set(key, application.metadata.name);
    }
  }
  return shared;
}

test('the shared-object check finds what one root over every environment would do: two Applications fighting over `testing`', () => {
  const everyEnvironment = Object.values(ENVIRONMENTS).flatMap((env) => objectsIn(argoCdDirs(env).applications));
  expect(sharedObjects(everyEnvironment)).toContain(
    `https://kubernetes.default.svc /Namespace /testing: greeter-gke and greeter-docker-desktop`,
  );
});

const clusters = Object.values(ENVIRONMENTS).flatMap((env) =>
  argoCdClusters(env).map((cluster) => ({ ...cluster, env })),
);

test('every cluster has its own root directory: no two share a name', () => {
  const names = clusters.map((cluster) => cluster.name);
  expect(new Set(names).size).toBe(names.length);
});

describe.each(clusters)('Argo CD root of cluster $name', (cluster) => {
  const { env } = cluster;
  const applications = objectsIn(argoCdDirs(cluster).applications);
  const roots = objectsIn(argoCdDirs(cluster).root);

  test('every Application is valid against the Argo CD schema', () => {
    const all = [...applications, ...roots];
    expect(validateAgainstSchemas(all).filter((r) => r.error !== null)).toEqual([]);
    expect(all.map((o) => o.kind)).toEqual(all.map(() => 'Application'));
  });

  test('the root is one Application that deploys this cluster’s Applications directory into Argo CD’s namespace', () => {
    expect(roots.map((root) => root.metadata.name)).toEqual([ROOT_APPLICATION_NAME]);
    expect(roots[0].spec.source).toEqual({
      repoURL: GITOPS.repoURL,
      targetRevision: GITOPS.targetRevision,
      path: `${GITOPS.distPath}/${argoCdDirs(cluster).applications}`,
    });
    expect(roots[0].spec.destination).toEqual({
      server: 'https://kubernetes.default.svc',
      namespace: GITOPS.argoCdNamespace,
    });
    expect(applications.map((a) => a.metadata.name)).toEqual([`greeter-${cluster.name}`]);
  });

  test('its Application deploys the cluster’s strategy directory of its environment into its namespace, synced automatically', () => {
    const application = findObject(applications, 'Application', `greeter-${cluster.name}`);
    const { source, destination, syncPolicy } = application.spec;
    expect(source).toEqual({
      repoURL: GITOPS.repoURL,
      targetRevision: GITOPS.targetRevision,
      path: `${GITOPS.distPath}/${env.name}/${cluster.strategy}`,
    });
    expect(existsSync(path.join(ROOT, source.path, KUSTOMIZATION_FILE))).toBe(true);
    expect(destination).toEqual({
      server: cluster.destinationServer,
      namespace: findObject(objectsIn(`${env.name}/${cluster.strategy}`), 'Namespace').metadata.name,
    });
    expect(syncPolicy).toEqual({
      automated: { prune: true, selfHeal: true },
      syncOptions: ['CreateNamespace=true', 'PruneLast=true'],
    });
    expect(application.metadata.namespace).toBe(GITOPS.argoCdNamespace);
  });

  test('no two Applications the root deploys (the root included) manage the same object; all are this environment’s', () => {
    const deployed = roots.flatMap((root) => objectsIn(sourceDir(root)).filter((o) => o.kind === 'Application'));
    expect(deployed.length).toBeGreaterThan(0);
    expect(sharedObjects([...roots, ...deployed])).toEqual([]);
    for (const application of deployed)
      expect(application.spec.source.path).toMatch(new RegExp(`^${GITOPS.distPath}/${env.name}/`));
  });
});

describe.each(dirs.filter((dir) => !dir.startsWith('argocd/')))('sync waves of dist/%s', (dir) => {
  const files = readManifestDir(path.join(DIST, dir));
  const wave = (o: KubeObject) => Number(o.metadata.annotations?.[SYNC_WAVE_ANNOTATION]);

  test('every object has one wave per file, and the Namespace leads wave 0, before every other file', () => {
    const waves = files.map((file) => file.objects.map(wave));
    for (const fileWaves of waves) expect(new Set(fileWaves).size).toBe(1);
    // Beside the Namespace, wave 0 holds only what no namespace holds and everything after needs: a GatewayClass.
    const [namespace, ...clusterScoped] = files[0].objects;
    expect([namespace.kind, wave(namespace)]).toEqual(['Namespace', 0]);
    for (const o of clusterScoped)
      expect({ kind: o.kind, namespace: o.metadata.namespace }).toEqual({ kind: 'GatewayClass', namespace: undefined });
    for (const o of files.slice(1).flatMap((file) => file.objects))
      expect({ object: identity(o), wave: wave(o) }).toEqual({ object: identity(o), wave: expect.any(Number) });
    expect(files.slice(1).every((file) => wave(file.objects[0]) > 0)).toBe(true);
  });

  test('routes and policies sync after the workloads and gateways they refer to; an outbound route with its Service', () => {
    const objects = files.flatMap((file) => file.objects);
    const refersToOthers = new Set([
      'VirtualService',
      'DestinationRule',
      'GRPCRoute',
      'PeerAuthentication',
      'AuthorizationPolicy',
    ]);
    const referredTo = objects.filter(
      (o) => o.kind === 'Gateway' || (o.kind === 'Deployment' && o.metadata.name === 'greeter'),
    );
    // An outbound (mesh) GRPCRoute has Services for parents, no Gateway: it carries the policy of calls to the Service.
    // Linkerd's syncs in its Service's wave, in its file after it (within a wave Argo CD applies built-in kinds before
    // custom resources: https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/); Istio ambient's after its
    // waypoint, which applies it, so in a later wave.
    const outbound = (o: KubeObject) =>
      o.kind === 'GRPCRoute' && o.spec.parentRefs.every((parent: KubeObject) => parent.kind === 'Service');
    expect(objects.filter(outbound)).toHaveLength(/\/(linkerd|istio-ambient)$/.test(dir) ? 1 : 0);
    for (const route of objects.filter((o) => refersToOthers.has(o.kind) && !outbound(o))) {
      for (const target of referredTo)
        expect({ route: identity(route), after: identity(target), later: wave(route) > wave(target) }).toEqual({
          route: identity(route),
          after: identity(target),
          later: true,
        });
    }
    for (const route of objects.filter(outbound)) {
      const file = files.find((f) => f.objects.includes(route))!;
      for (const parent of route.spec.parentRefs) {
        const service = findObject(
          objects.filter((o) => o.metadata.namespace === (parent.namespace ?? route.metadata.namespace)),
          'Service',
          parent.name,
        );
        const sameFileAfter =
          file.objects.includes(service) && file.objects.indexOf(route) > file.objects.indexOf(service);
        expect({
          route: identity(route),
          with: identity(service),
          appliedAfter: sameFileAfter || wave(route) > wave(service),
        }).toEqual({ route: identity(route), with: identity(service), appliedAfter: true });
      }
    }
  });
});
