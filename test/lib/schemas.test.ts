/**
 * Argo CD's Applications are validated against Argo CD's own Application CRD (upstream/crds), like every other custom
 * kind in dist/; a kind nothing has a schema for is an error, never a pass.
 */
import * as path from 'node:path';
import { manifestDirs, readManifestDir, validateAgainstSchemas } from '../../harness/manifests';
import { ROOT } from '../../harness/processes';

const objects = manifestDirs(path.join(ROOT, 'dist')).flatMap((dir) =>
  readManifestDir(dir).flatMap((file) => file.objects),
);

test('every object in dist/ is valid; a wrong field type in an Application, and an unknown kind, are caught', () => {
  const application = objects.find((o) => o.kind === 'Application')!;
  const broken = [
    { ...application, spec: { ...application.spec, source: { ...application.spec.source, repoURL: 5 } } },
    { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', metadata: { name: 'dist' } },
  ];
  const results = validateAgainstSchemas([...objects, ...broken]);
  expect(results.slice(0, objects.length).filter((r) => r.error !== null)).toEqual([]);
  expect(results.slice(objects.length).map((r) => r.error)).toEqual([
    expect.stringMatching(/repoURL/),
    expect.stringMatching(/Kustomization|kustomize\.config\.k8s\.io/),
  ]);
});
