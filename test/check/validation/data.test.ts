/**
 * The validation data: the fast CRD reader (line scan, one version's block, descriptions dropped) yields exactly the
 * schema a full YAML parse does, for every CRD and version in upstream/crds; the default data directory is
 * upstream/; bad options are errors that name the value.
 */
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../../../harness/processes';
import { findDefaultDataDir, schemaData } from '../../../check/validation/data';
import { validateObjects } from '../../../check/validation';
import { withoutDescriptions } from '../../../scripts/bundle-check';

const UPSTREAM = path.join(ROOT, 'upstream');

interface Crd {
  spec: {
    group: string;
    names: { kind: string };
    versions: Array<{ name: string; served: boolean; schema: { openAPIV3Schema: unknown } }>;
  };
}

const crds = readdirSync(path.join(UPSTREAM, 'crds')).flatMap((file) =>
  parseAllDocuments(readFileSync(path.join(UPSTREAM, 'crds', file), 'utf8'))
    .map((doc) => doc.toJS() as Crd)
    .filter(Boolean),
);

test('the default data directory is the repository’s upstream/', () => {
  expect(findDefaultDataDir()).toBe(UPSTREAM);
});

test.each(crds.map((crd) => [`${crd.spec.names.kind}.${crd.spec.group}`, crd] as const))(
  '%s: every served version’s schema reads as a full parse gives it',
  (_, crd) => {
    const data = schemaData(UPSTREAM);
    for (const version of crd.spec.versions) {
      const found = data.crdVersion(`${crd.spec.group}/${version.name}`, crd.spec.names.kind);
      if (!version.served) {
        expect(found).toBeInstanceOf(Error);
        continue;
      }
      if (found === undefined || found instanceof Error)
        throw new Error(`${crd.spec.names.kind} ${version.name}: ${found}`);
      expect(withoutDescriptions(found.schema)).toEqual(withoutDescriptions(version.schema.openAPIV3Schema));
    }
  },
);

test('bad options are errors naming the value', () => {
  expect(() => validateObjects([], { kubernetesVersions: ['1.29'] })).not.toThrow();
  expect(() =>
    validateObjects([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }], {
      kubernetesVersions: ['1.29.0'],
    }),
  ).toThrow(/no Kubernetes definitions for version "1.29.0"/);
  expect(() => validateObjects([], { kubernetesVersions: ['latest'] })).toThrow(
    /kubernetesVersions must be like "1.32.0", got "latest"/,
  );
  expect(() => validateObjects([], { kubernetesVersions: [] })).toThrow(/kubernetesVersions is empty/);
});
