/**
 * The schema check the other tests rely on (harness/validate-manifests.mjs) rejects what an API server would: a
 * wrong type in a core kind, an unknown field or a wrong type in a CRD kind (checked against the CRD in
 * upstream/crds), and a kind it has no schema for.
 */
import * as path from 'node:path';
import { manifestDirs, readManifestDir, validateAgainstSchemas, type KubeObject } from '../../harness/manifests';
import { ROOT } from '../../harness/processes';

const objects = manifestDirs(path.join(ROOT, 'dist')).flatMap((dir) => readManifestDir(dir).flatMap((file) => file.objects));
const withSpec = (o: KubeObject, spec: object): KubeObject => ({ ...o, spec: { ...o.spec, ...spec } });
const first = (kind: string) => objects.find((o) => o.kind === kind)!;

test('every object in dist/ is valid, and each kind of mistake is caught with the field it is in', () => {
  const application = first('Application');
  const broken = [
    withSpec(first('Deployment'), { replicas: 'three' }),
    withSpec(first('VirtualService'), { hostz: ['grpc.example.com'] }),
    withSpec(first('GRPCRoute'), { rules: 'all' }),
    withSpec(application, { source: { ...application.spec.source, repoURL: 5 } }),
    { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', metadata: { name: 'dist' } },
  ];
  const results = validateAgainstSchemas([...objects, ...broken]);
  expect(results.slice(0, objects.length).filter((r) => r.error !== null)).toEqual([]);
  expect(results.slice(objects.length).map((r) => r.error)).toEqual([
    expect.stringMatching(/spec\/replicas must be integer/),
    expect.stringMatching(/^istio-1\.30\.3-crds\.yaml: \/spec must NOT have additional properties \(hostz\)/),
    expect.stringMatching(/^gateway-api-v1\.6\.1-grpcroutes\.yaml: \/spec\/rules must be array/),
    expect.stringMatching(/^argo-cd-v3\.5\.1-applications\.yaml: \/spec\/source\/repoURL must be string/),
    expect.stringMatching(/^no schema for kind Kustomization/),
  ]);
});
