/**
 * Every directory under dist/ works as users apply it, with the real kubectl: `kubectl apply -f DIR/` (kubectl reads
 * every .json, .yaml and .yml file there, so each must hold Kubernetes objects) and `kubectl apply -k DIR/`, both
 * exiting 0 and naming every object. kubectl talks to a discovery-only API server on 127.0.0.1 that serves the
 * Kubernetes 1.32 and CRD kinds dist/ uses and has no objects, so `--dry-run=client` reports each as created.
 */
import { cpSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { KUSTOMIZATION_FILE } from '../deploy/kustomization';
import {
  apiResource,
  kubectlName,
  startDiscoveryServer,
  writeDiscoveryKubeconfig,
  type DiscoveryServer,
} from '../harness/kube-discovery';
import { KUBECTL_INSTALL_HINT, kubectl, kubectlMissing } from '../harness/kubectl';
import { manifestDirs, readManifestDir, type KubeObject } from '../harness/manifests';
import { ROOT } from '../harness/processes';
import { describeWhenInstalled } from '../harness/system-packages';

const DIST = path.join(ROOT, 'dist');
const dirs = manifestDirs(DIST).map((dir) => path.relative(DIST, dir));
const objectsIn = (dir: string) => readManifestDir(dir).flatMap((file) => file.objects);

/** What `kubectl apply --dry-run=client` prints for these objects when none exists yet, sorted. */
function createdLines(objects: readonly KubeObject[]): string[] {
  return objects
    .map((o) => {
      const resource = apiResource(o);
      return resource
        ? `${kubectlName(resource, o.metadata.name)} created (dry run)`
        : `(no ${o.apiVersion} ${o.kind} in Kubernetes 1.32 or upstream/crds)`;
    })
    .sort();
}

describeWhenInstalled(
  'kubectl apply',
  kubectlMissing(),
  KUBECTL_INSTALL_HINT,
)('kubectl apply --dry-run=client against a discovery-only API server', () => {
  let server: DiscoveryServer;
  let work: string;
  const apply = (mode: '-f' | '-k', dir: string) =>
    kubectl([
      '--kubeconfig',
      path.join(work, 'kubeconfig'),
      '--cache-dir',
      path.join(work, 'cache'),
      'apply',
      '--dry-run=client',
      '--validate=false',
      mode,
      `${dir}/`,
    ]);
  const outcome = async (run: ReturnType<typeof apply>) => {
    const { status, stdout, stderr } = await run;
    return { status, stderr, lines: stdout.split('\n').filter(Boolean).sort() };
  };

  beforeAll(async () => {
    server = await startDiscoveryServer(dirs.flatMap((dir) => objectsIn(path.join(DIST, dir))));
    work = mkdtempSync(path.join(tmpdir(), 'kubectl-apply-'));
    writeDiscoveryKubeconfig(path.join(work, 'kubeconfig'), server.url);
  });
  afterAll(async () => {
    await server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('dist/ has directories to apply', () => {
    expect(dirs.length).toBeGreaterThan(0);
  });

  describe.each(dirs)('dist/%s/', (dir) => {
    const expected = { status: 0, stderr: '', lines: createdLines(objectsIn(path.join(DIST, dir))) };

    test('`kubectl apply -f` exits 0 and names every object of its files', async () => {
      expect(await outcome(apply('-f', path.join(DIST, dir)))).toEqual(expected);
    });

    test(`\`kubectl apply -k\` exits 0 and names every object, through its ${KUSTOMIZATION_FILE} file`, async () => {
      expect(await outcome(apply('-k', path.join(DIST, dir)))).toEqual(expected);
    });
  });

  test('a file kubectl reads that is not an object, such as a kustomization.yaml, makes `kubectl apply -f` exit non-zero', async () => {
    const copy = mkdtempSync(path.join(tmpdir(), 'kubectl-planted-'));
    try {
      const source = path.join(
        DIST,
        dirs.find((dir) => !dir.startsWith('argocd'))!,
      );
      cpSync(source, copy, { recursive: true });
      const control = await outcome(apply('-f', copy));
      expect(control.status).toBe(0);
      // The same Kustomization, under the name kubectl reads as a manifest.
      renameSync(path.join(copy, KUSTOMIZATION_FILE), path.join(copy, 'kustomization.yaml'));
      const planted = await outcome(apply('-f', copy));
      expect(planted.status).not.toBe(0);
      expect(planted.stderr).toMatch(
        /no matches for kind "Kustomization" in version "kustomize\.config\.k8s\.io\/v1beta1"/,
      );
      // Everything else was still applied: the failure is the planted file alone.
      expect(planted.lines).toEqual(control.lines);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
