/**
 * dist/ as kubectl, Kustomize and Argo CD read it from git: every directory has a kustomization.yaml listing its
 * files, `kubectl kustomize` renders exactly those objects, and the Argo CD Applications point at directories that
 * exist, with sync waves that put the Namespace and the gateway before the routes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ARGO_CD_DIRS, ENVIRONMENTS, GITOPS, SYNC_WAVE_ANNOTATION } from '../deploy';
import { ROOT } from '../harness/processes';
import { findObject, manifestDirs, readManifestDir, validateAgainstSchemas, type KubeObject } from '../harness/manifests';
import { describeWhenInstalled } from '../harness/system-packages';

const DIST = path.join(ROOT, GITOPS.distPath);
const dirs = manifestDirs(DIST).map((dir) => path.relative(DIST, dir));
const objectsIn = (dir: string) => readManifestDir(path.join(DIST, dir)).flatMap((file) => file.objects);
const identity = (o: KubeObject) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;

test('dist/ has a directory per environment × strategy and for Argo CD, each with a kustomization.yaml listing its files in apply order', () => {
  const expected = [
    ...Object.values(ENVIRONMENTS).flatMap((env) => env.strategies.map((strategy) => `${env.name}/${strategy}`)),
    ...Object.values(ARGO_CD_DIRS),
  ];
  expect(dirs.sort()).toEqual(expected.sort());
  for (const dir of dirs) {
    const kustomization = parse(readFileSync(path.join(DIST, dir, 'kustomization.yaml'), 'utf8'));
    const files = readdirSync(path.join(DIST, dir)).filter((file) => file.endsWith('.k8s.yaml')).sort();
    expect({ dir, kustomization }).toEqual({ dir, kustomization: { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: files } });
  }
});

// kubectl is not in every Debian image: .ci/run installs Debian's kubernetes-client when it is missing.
const kubectlMissing = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0 ? undefined : 'kubectl is not installed';
describeWhenInstalled('kubectl kustomize', kubectlMissing, 'apt-get install -y kubernetes-client')('kubectl kustomize', () => {
  test.each(dirs)('`kubectl kustomize dist/%s` renders exactly the objects of its files, the Namespace first', (dir) => {
    const output = execFileSync('kubectl', ['kustomize', path.join(DIST, dir)], { encoding: 'utf8' });
    const rendered = parseAllDocuments(output).map((doc) => doc.toJS() as KubeObject);
    expect(rendered.map(identity).sort()).toEqual(objectsIn(dir).map(identity).sort());
    if (rendered.some((o) => o.kind === 'Namespace')) expect(rendered[0].kind).toBe('Namespace');
  });
});

describe('Argo CD', () => {
  const applications = objectsIn(ARGO_CD_DIRS.applications);
  const [root] = objectsIn(ARGO_CD_DIRS.root);

  test('every Application is valid against the Argo CD schema', () => {
    const all = [...applications, root];
    expect(validateAgainstSchemas(all).filter((r) => r.error !== null)).toEqual([]);
    expect(all.map((o) => o.kind)).toEqual(all.map(() => 'Application'));
  });

  test.each(Object.values(ENVIRONMENTS))('the $name Application deploys its chosen strategy directory into its namespace, synced automatically', (env) => {
    const application = findObject(applications, 'Application', `greeter-${env.name}`);
    const { source, destination, syncPolicy } = application.spec;
    expect(source).toEqual({ repoURL: GITOPS.repoURL, targetRevision: GITOPS.targetRevision, path: `${GITOPS.distPath}/${env.name}/${env.argoCd.strategy}` });
    expect(existsSync(path.join(ROOT, source.path, 'kustomization.yaml'))).toBe(true);
    expect(destination).toEqual({ server: env.argoCd.destinationServer, namespace: findObject(objectsIn(`${env.name}/${env.argoCd.strategy}`), 'Namespace').metadata.name });
    expect(syncPolicy).toEqual({ automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true', 'PruneLast=true'] });
    expect(application.metadata.namespace).toBe(GITOPS.argoCdNamespace);
  });

  test('the app of apps deploys the Applications directory into Argo CD’s namespace', () => {
    expect(root.metadata.name).toBe('grpc-k8s-lb');
    expect(root.spec.source.path).toBe(`${GITOPS.distPath}/${ARGO_CD_DIRS.applications}`);
    expect(root.spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: GITOPS.argoCdNamespace });
    expect(applications.map((a) => a.metadata.name).sort()).toEqual(Object.keys(ENVIRONMENTS).map((env) => `greeter-${env}`).sort());
  });
});

describe.each(dirs.filter((dir) => !dir.startsWith('argocd/')))('sync waves of dist/%s', (dir) => {
  const files = readManifestDir(path.join(DIST, dir));
  const wave = (o: KubeObject) => Number(o.metadata.annotations?.[SYNC_WAVE_ANNOTATION]);

  test('every object has one wave per file, and the Namespace is alone in wave 0, before every other file', () => {
    const waves = files.map((file) => file.objects.map(wave));
    for (const fileWaves of waves) expect(new Set(fileWaves).size).toBe(1);
    expect(files[0].objects.map((o) => [o.kind, wave(o)])).toEqual([['Namespace', 0]]);
    for (const o of files.slice(1).flatMap((file) => file.objects)) expect({ object: identity(o), wave: wave(o) }).toEqual({ object: identity(o), wave: expect.any(Number) });
    expect(files.slice(1).every((file) => wave(file.objects[0]) > 0)).toBe(true);
  });

  test('routes and policies sync after the workloads and gateways they refer to; an outbound route with its Service', () => {
    const objects = files.flatMap((file) => file.objects);
    const refersToOthers = new Set(['VirtualService', 'DestinationRule', 'GRPCRoute', 'PeerAuthentication', 'AuthorizationPolicy']);
    const referredTo = objects.filter((o) => o.kind === 'Gateway' || (o.kind === 'Deployment' && o.metadata.name === 'greeter'));
    // Linkerd's outbound GRPCRoute has Services for parents, no Gateway: it carries the retry and timeout settings of
    // calls to the Service beside it, in the Service's wave. Within a wave Argo CD applies built-in kinds before custom
    // resources (https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/), and the file lists it after them.
    const outbound = (o: KubeObject) => o.kind === 'GRPCRoute' && o.spec.parentRefs.every((parent: KubeObject) => parent.kind === 'Service');
    expect(objects.filter(outbound)).toHaveLength(dir.endsWith('/linkerd') ? 1 : 0);
    for (const route of objects.filter((o) => refersToOthers.has(o.kind) && !outbound(o))) {
      for (const target of referredTo) expect({ route: identity(route), after: identity(target), later: wave(route) > wave(target) }).toEqual({ route: identity(route), after: identity(target), later: true });
    }
    for (const route of objects.filter(outbound)) {
      const file = files.find((f) => f.objects.includes(route))!;
      for (const parent of route.spec.parentRefs) {
        const service = findObject(file.objects.filter((o) => o.metadata.namespace === (parent.namespace ?? route.metadata.namespace)), 'Service', parent.name);
        expect({ route: identity(route), with: identity(service), appliedAfter: file.objects.indexOf(route) > file.objects.indexOf(service) }).toEqual({ route: identity(route), with: identity(service), appliedAfter: true });
      }
    }
  });
});
