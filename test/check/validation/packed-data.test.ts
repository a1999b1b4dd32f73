/**
 * The data the packed grpc-lb-check carries (scripts/bundle-check.ts: upstream/ as JSON, without description texts
 * and without CRD versions not served) validates exactly as upstream/ does: every CRD version and every Kubernetes
 * definition read from it equals what is read from upstream/ (descriptions aside), and validating dist/, the
 * checker's corpus and broken variants of all of them (an unknown field; every string, number and boolean replaced;
 * a version no CRD serves) gives identical reports.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { schemaData } from '../../../check/validation/data';
import { validateObjects } from '../../../check/validation';
import { UPSTREAM_DIR, withoutDescriptions, writeCheckData } from '../../../scripts/bundle-check';
import { HELD_KUBERNETES_VERSIONS, manifestCorpus, variantsOf } from './variants';

const packed = mkdtempSync(path.join(tmpdir(), 'packed-data-'));
afterAll(() => rmSync(packed, { recursive: true, force: true }));
const written = writeCheckData(UPSTREAM_DIR, packed);

interface Crd {
  spec: { group: string; names: { kind: string }; versions: Array<{ name: string }> };
}
const crds = readdirSync(path.join(UPSTREAM_DIR, 'crds')).flatMap((file) =>
  parseAllDocuments(readFileSync(path.join(UPSTREAM_DIR, 'crds', file), 'utf8'))
    .map((doc) => doc.toJS() as Crd)
    .filter(Boolean),
);

const bytesUnder = (dir: string): number =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + statSync(path.join(e.parentPath, e.name)).size, 0);

test('the packed data is JSON, a fraction of upstream/, and records where each file came from', () => {
  const sources = JSON.parse(readFileSync(path.join(packed, 'sources.json'), 'utf8')) as Array<{
    path: string;
    derivedFrom: string;
    sha256: string;
  }>;
  const upstreamSources = JSON.parse(readFileSync(path.join(UPSTREAM_DIR, 'sources.json'), 'utf8')) as Array<{
    path: string;
    sha256: string;
  }>;
  expect(written.filter((file) => !file.endsWith('.json'))).toEqual([]);
  expect(sources.map((s) => s.path).sort()).toEqual(written.filter((f) => f !== 'sources.json').sort());
  for (const source of sources)
    expect(upstreamSources).toContainEqual(
      expect.objectContaining({ path: source.derivedFrom, sha256: source.sha256 }),
    );
  // Only what validation reads: no SARIF schema, no YAML.
  expect(written.filter((file) => /sarif|\.ya?ml$/.test(file))).toEqual([]);
  const [before, after] = [bytesUnder(UPSTREAM_DIR), bytesUnder(packed)];
  process.stdout.write(
    `packed data: ${(after / 1024).toFixed(0)} KiB (upstream/: ${(before / 1024).toFixed(0)} KiB)\n`,
  );
  expect(after).toBeLessThan(before / 3);
});

test.each(crds.map((crd) => [`${crd.spec.names.kind}.${crd.spec.group}`, crd] as const))(
  '%s: every version reads as from upstream/',
  (_, crd) => {
    const versions = [...crd.spec.versions.map((v) => v.name), 'v0'];
    for (const version of versions) {
      const read = (dir: string) => schemaData(dir).crdVersion(`${crd.spec.group}/${version}`, crd.spec.names.kind);
      const [fromUpstream, fromPacked] = [read(UPSTREAM_DIR), read(packed)];
      // toEqual compares an Error by its message: "does not serve version ... (served: ...)" must match too.
      expect(fromPacked).toEqual(fromUpstream);
    }
  },
);

test.each(HELD_KUBERNETES_VERSIONS.map((v) => [v]))(
  'Kubernetes %s definitions read as from upstream/, without descriptions',
  (version) => {
    const [fromUpstream, fromPacked] = [
      schemaData(UPSTREAM_DIR).coreSchemas(version),
      schemaData(packed).coreSchemas(version),
    ];
    expect(fromPacked.definitions).toEqual(withoutDescriptions(fromUpstream.definitions));
    expect(fromPacked.definitionFor('apps/v1', 'Deployment')).toBe(fromUpstream.definitionFor('apps/v1', 'Deployment'));
  },
);

describe('validation against the packed data and against upstream/', () => {
  const objects = manifestCorpus();
  const variants = variantsOf(objects);

  test.each(Object.entries(variants))('dist/ and the corpus %s: identical reports', (_, input) => {
    const kubernetesVersions = HELD_KUBERNETES_VERSIONS;
    const fromUpstream = validateObjects(input, { dataDir: UPSTREAM_DIR, kubernetesVersions });
    expect(validateObjects(input, { dataDir: packed, kubernetesVersions })).toEqual(fromUpstream);
    expect(fromUpstream.unknownKinds.length).toBeLessThan(input.length);
  });

  test('the variants exercise every kind of finding: schema and CEL violations, CEL rules evaluated', () => {
    const report = validateObjects(variants['with every value replaced'], { dataDir: packed });
    expect(report.issues.filter((i) => i.kind === 'schema').length).toBeGreaterThan(objects.length);
    expect(report.issues.filter((i) => i.kind === 'cel').length).toBeGreaterThan(10);
    expect(validateObjects(objects, { dataDir: packed }).celRulesEvaluated).toBeGreaterThan(100);
  });
});
