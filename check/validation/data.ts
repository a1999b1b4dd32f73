/**
 * The schemas objects are validated against, read lazily from the data directory (the repository's `upstream/`, or
 * the trimmed copy the packed grpc-lb-check carries) and cached per directory: the Kubernetes OpenAPI definitions per
 * version, and each CRD's schema only when an object of its kind and version is validated (the Istio bundle holds 15
 * CRDs in one file). CRD files are YAML as upstream publishes them, or JSON (a CRD, or a List of CRDs).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { CORE_SCHEMA, load as loadYaml } from 'js-yaml';
import type { JsonSchema } from './schema-types';

/** The file that marks the data directory, recording where each schema came from. */
const SOURCES_FILE = 'sources.json';

let defaultDataDir: string | undefined;

/** The repository's `upstream/` directory: the nearest one above this file (source, or the compiled library). */
export function findDefaultDataDir(): string {
  if (defaultDataDir) return defaultDataDir;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'upstream');
    if (existsSync(path.join(candidate, SOURCES_FILE))) return (defaultDataDir = candidate);
    if (path.dirname(dir) === dir)
      throw new Error(`validation: no upstream/${SOURCES_FILE} above ${__dirname}; pass options.dataDir`);
  }
}

/** The Kubernetes definitions of one version: `upstream/schemas/k8s-v<version>-definitions.json`. */
export interface CoreSchemas {
  readonly version: string;
  readonly definitions: Readonly<Record<string, JsonSchema>>;
  /** The definition name of a group/version/kind (`apps/v1/Deployment`), undefined when this version has none. */
  definitionFor(apiVersion: string, kind: string): string | undefined;
}

/** A CRD's schema for one served version. */
export interface CrdVersion {
  /** The CRD's name, `<plural>.<group>`. */
  readonly crd: string;
  readonly version: string;
  readonly schema: JsonSchema;
}

/** One version of a CRD: whether it is served, and its schema, read on first call. */
interface VersionSource {
  readonly served: boolean;
  readonly schema: () => JsonSchema | undefined;
}

/** One CRD, indexed by group and kind; its versions are read on first call. */
interface CrdSource {
  readonly file: string;
  readonly name: string;
  readonly versions: () => ReadonlyMap<string, VersionSource>;
}

/** `read`, called once, on the first call of the function returned. */
function once<T>(read: () => T): () => T {
  let result: { readonly value: T } | undefined;
  return () => (result ??= { value: read() }).value;
}

/** What one data directory holds, loaded on first use. */
export class SchemaData {
  private readonly core = new Map<string, CoreSchemas>();
  private crds?: Map<string, CrdSource>;

  constructor(readonly dataDir: string) {}

  coreSchemas(version: string): CoreSchemas {
    let schemas = this.core.get(version);
    if (!schemas) {
      const file = path.join(this.dataDir, 'schemas', `k8s-v${version}-definitions.json`);
      if (!existsSync(file))
        throw new Error(
          `validation: no Kubernetes definitions for version ${JSON.stringify(version)} (expected ${file})`,
        );
      schemas = loadCoreSchemas(version, file);
      this.core.set(version, schemas);
    }
    return schemas;
  }

  /** The CRD serving `group`'s `kind`, or undefined when there is none in the data directory. */
  crdFor(group: string, kind: string): CrdSource | undefined {
    this.crds ??= indexCrds(path.join(this.dataDir, 'crds'));
    return this.crds.get(`${group}/${kind}`);
  }

  /**
   * The schema of `apiVersion`'s version of the CRD for its group and kind: undefined when no CRD has that kind, an
   * Error when the CRD does not serve that version (the API server answers 404 for it).
   */
  crdVersion(apiVersion: string, kind: string): CrdVersion | Error | undefined {
    const { group, version } = splitApiVersion(apiVersion);
    const source = this.crdFor(group, kind);
    if (!source) return undefined;
    const versions = source.versions();
    const block = versions.get(version);
    if (!block?.served) {
      const served = [...versions].filter(([, v]) => v.served).map(([name]) => name);
      return new Error(
        `${source.name} does not serve version ${JSON.stringify(version)} (served: ${served.join(', ')})`,
      );
    }
    const schema = block.schema();
    if (!schema) return new Error(`${source.name} version ${version} has no openAPIV3Schema`);
    return { crd: source.name, version, schema };
  }
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function loadCoreSchemas(version: string, file: string): CoreSchemas {
  const { definitions } = JSON.parse(readFileSync(file, 'utf8')) as {
    definitions: Record<
      string,
      JsonSchema & { 'x-kubernetes-group-version-kind'?: Array<{ group: string; version: string; kind: string }> }
    >;
  };
  const byGvk = new Map<string, string>();
  for (const [name, definition] of Object.entries(definitions)) {
    for (const gvk of definition['x-kubernetes-group-version-kind'] ?? []) {
      const key = `${gvk.group ? `${gvk.group}/` : ''}${gvk.version}/${gvk.kind}`;
      byGvk.set(key, name);
    }
  }
  return { version, definitions, definitionFor: (apiVersion, kind) => byGvk.get(`${apiVersion}/${kind}`) };
}

// CRD YAML as kubectl, controller-gen and Istio's generator write it (2-space indentation): `metadata.name` and
// `spec.group` at indent 2, `spec.names.kind` at indent 4, `spec.versions` items at "  - ". Reading just these lines,
// and parsing only the requested version's block without its descriptions (with js-yaml, several times faster than
// the `yaml` package here), makes a CRD cost milliseconds; test/validation/data.test.ts checks the result against a
// full parse of every CRD.
const NAME_LINE = /^ {2}name: *["']?([^"'\s]+)/m;
const GROUP_LINE = /^ {2}group: *["']?([^"'\s]+)/m;
const KIND_LINE = /^ {4}kind: *["']?([^"'\s]+)/m;

function indexCrds(dir: string): Map<string, CrdSource> {
  const index = new Map<string, CrdSource>();
  if (!existsSync(dir)) return index;
  for (const file of readdirSync(dir)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    const crds = file.endsWith('.json') ? jsonCrds(text, path.join(dir, file)) : yamlCrds(text, path.join(dir, file));
    for (const { group, kind, ...source } of crds) index.set(`${group}/${kind}`, { file, ...source });
  }
  return index;
}

type IndexedCrd = Omit<CrdSource, 'file'> & { readonly group: string; readonly kind: string };

function yamlCrds(text: string, file: string): IndexedCrd[] {
  return text.split(/^---\s*$/m).flatMap((doc) => {
    if (!/^kind: *CustomResourceDefinition\s*$/m.test(doc)) return [];
    const [name, group, kind] = [NAME_LINE, GROUP_LINE, KIND_LINE].map((re) => re.exec(doc)?.[1]);
    if (!name || !group || !kind)
      throw new Error(
        `validation: a CustomResourceDefinition in ${file} has no metadata.name, spec.group or spec.names.kind at the usual indentation`,
      );
    return [{ name, group, kind, versions: once(() => versionBlocks(doc, `${file}: ${name}`)) }];
  });
}

interface CrdJson {
  readonly kind?: string;
  readonly metadata?: { readonly name?: string };
  readonly spec?: {
    readonly group?: string;
    readonly names?: { readonly kind?: string };
    readonly versions?: ReadonlyArray<{
      readonly name?: string;
      readonly served?: boolean;
      readonly schema?: { readonly openAPIV3Schema?: JsonSchema };
    }>;
  };
}

/** The CRDs of a JSON file: one CustomResourceDefinition, or a List of them (as `kubectl get crd -o json` writes). */
function jsonCrds(text: string, file: string): IndexedCrd[] {
  const parsed = JSON.parse(text) as CrdJson & { items?: CrdJson[] };
  return (parsed.kind === 'CustomResourceDefinition' ? [parsed] : (parsed.items ?? [])).flatMap((crd) => {
    if (crd.kind !== 'CustomResourceDefinition') return [];
    const [name, group, kind] = [crd.metadata?.name, crd.spec?.group, crd.spec?.names?.kind];
    if (!name || !group || !kind || !Array.isArray(crd.spec?.versions))
      throw new Error(
        `validation: a CustomResourceDefinition in ${file} has no metadata.name, spec.group, spec.names.kind or spec.versions`,
      );
    const versions = new Map(
      crd.spec.versions.map((v) => [
        String(v.name),
        { served: v.served === true, schema: () => v.schema?.openAPIV3Schema },
      ]),
    );
    return [{ name, group, kind, versions: () => versions }];
  });
}

/** The items of `spec.versions`, each as YAML text of its own (dedented) parsed on first use, by version name. */
function versionBlocks(text: string, where: string): Map<string, VersionSource> {
  const lines = text.split('\n');
  const start = lines.indexOf('  versions:');
  if (start < 0) throw new Error(`validation: ${where}: no spec.versions at the usual indentation`);
  const items: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('  - ')) items.push([line.slice(4)]);
    else if (line.startsWith('    ') || line.trim() === '') items.at(-1)?.push(line.slice(4));
    else break;
  }
  const blocks = new Map<string, VersionSource>();
  for (const item of items) {
    const name = item.map((l) => /^name: *["']?([^"'\s]+)/.exec(l)?.[1]).find(Boolean);
    const served = item.map((l) => /^served: *(true|false)/.exec(l)?.[1]).find(Boolean);
    if (!name || !served)
      throw new Error(`validation: ${where}: a spec.versions item has no name or served at the usual indentation`);
    const parse = () =>
      loadYaml(withoutDescriptions(item).join('\n'), { schema: CORE_SCHEMA, filename: where }) as {
        schema?: { openAPIV3Schema?: JsonSchema };
      };
    blocks.set(name, { served: served === 'true', schema: once(() => parse().schema?.openAPIV3Schema) });
  }
  return blocks;
}

/**
 * The lines without `description: <text>` entries and their continuation lines: most of a CRD's bytes, and no part
 * of validation. A property named `description` has no text after its colon, so it stays.
 */
function withoutDescriptions(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = /^( *)description: *\S/.exec(lines[i]);
    if (match) {
      const indent = match[1].length;
      while (i + 1 < lines.length && (lines[i + 1].trim() === '' || lines[i + 1].search(/\S/) > indent)) i++;
      continue;
    }
    out.push(lines[i]);
  }
  return out;
}

/** The Kubernetes versions whose definitions the data directory holds, oldest first (`1.27.0`, `1.32.0`). */
export function heldKubernetesVersions(dataDir: string = findDefaultDataDir()): string[] {
  const versions = readdirSync(path.join(dataDir, 'schemas')).flatMap((file) => {
    const match = /^k8s-v(\d+\.\d+\.\d+)-definitions\.json$/.exec(file);
    return match ? [match[1]] : [];
  });
  const parts = (v: string) => v.split('.').map(Number);
  return versions.sort((a, b) => parts(a).reduce((d, n, i) => d || n - parts(b)[i], 0));
}

const cache = new Map<string, SchemaData>();

/** The (cached) schema data of a directory. */
export function schemaData(dataDir: string = findDefaultDataDir()): SchemaData {
  const key = path.resolve(dataDir);
  let data = cache.get(key);
  if (!data) cache.set(key, (data = new SchemaData(key)));
  return data;
}
