/**
 * Objects to validate in bulk: every object of the committed dist/ and of the checker's corpus, and broken variants
 * of all of them, so a comparison of two validations covers valid objects and every kind of finding.
 */
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../../../harness/processes';
import { manifestDirs, readManifestDir } from '../../../harness/manifests';
import { parseManifests } from '../../../check';

type Manifest = { apiVersion: string; kind: string; spec?: object };

/** Every Kubernetes version whose definitions upstream/schemas holds (`k8s-v<version>-definitions.json`), oldest first. */
export const HELD_KUBERNETES_VERSIONS: readonly string[] = readdirSync(path.join(ROOT, 'upstream', 'schemas'))
  .flatMap((file) => /^k8s-v(\d+\.\d+\.\d+)-definitions\.json$/.exec(file)?.[1] ?? [])
  .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));

/** dist/ and test/check/corpus, every object. */
export function manifestCorpus(): Manifest[] {
  const dist = manifestDirs(path.join(ROOT, 'dist')).flatMap((dir) =>
    readManifestDir(dir).flatMap((file) => file.objects),
  );
  const corpusDir = path.join(ROOT, 'test', 'check', 'corpus');
  const corpus = readdirSync(corpusDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .flatMap((entry) =>
      parseManifests(readFileSync(path.join(entry.parentPath, entry.name), 'utf8'), entry.name).map((m) => m.object),
    );
  return [...dist, ...corpus];
}

/** Every leaf replaced: strings by one no pattern, enum or format accepts, numbers by -1, booleans flipped. */
function scrambled(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrambled);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, scrambled(v)]));
  if (typeof value === 'string') return 'Not valid: *';
  if (typeof value === 'number') return -1;
  if (typeof value === 'boolean') return !value;
  return value;
}

/** The objects as they are, and broken: an unknown field, every value replaced, a version nothing serves. */
export function variantsOf(objects: readonly Manifest[]): Record<string, Manifest[]> {
  return {
    'as they are': [...objects],
    'with an unknown field in spec': objects.map((o) => ({ ...o, spec: { ...o.spec, notAField: 1 } })),
    'with every value replaced': objects.map(({ apiVersion, kind, ...rest }) => ({
      apiVersion,
      kind,
      ...(scrambled(rest) as object),
    })),
    'with a version nothing serves': objects.map((o) => ({ ...o, apiVersion: `${o.apiVersion.split('/')[0]}/v0` })),
  };
}
