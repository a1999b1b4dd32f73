/**
 * The packed grpc-lb-check (run by check/'s prepack): check/bin.ts and everything it imports (grpc-k8s-lb-common,
 * yaml, js-yaml, @bufbuild/cel, @bufbuild/protobuf, @bufbuild/re2) bundled by esbuild into one file,
 * check/build/grpc-lb-check.js, the package's `bin`, so installing the checker adds no dependency; beside it
 * data/, the schemas it validates against, which it finds from its own location; and the licences of what it bundles.
 *
 * The data is upstream/ trimmed to what validation reads: CRDs and Kubernetes definitions as JSON, without their
 * `description` texts (most of their bytes, never read by validation) and without the CRD versions not served (an
 * object of such a version is refused by name, which needs only the versions served). test/validation/packed-data.test.ts
 * proves that validation against it gives the same results as against upstream/.
 *
 *   node -r ./scripts/register.js scripts/bundle-check.ts [OUT_DIR]    (default check/build)
 */
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CORE_SCHEMA, loadAll } from 'js-yaml';
import { sourceEntries } from './workspaces';

const ROOT = path.resolve(__dirname, '..');
export const UPSTREAM_DIR = path.join(ROOT, 'upstream');
const DEFAULT_OUT_DIR = path.join(ROOT, 'check', 'build');
const ENTRY = path.join(ROOT, 'check', 'bin.ts');
/** The bundle's file name; check/package.json's `bin` points at it. */
export const BUNDLE_FILE = 'grpc-lb-check.js';
/** The data directory's name, beside the bundle. */
export const DATA_DIR = 'data';
const LICENSES_FILE = 'THIRD-PARTY-LICENSES.txt';
/** The Node.js the checker supports (check/package.json engines). */
const NODE_TARGET = 'node20';

interface SourceRecord {
  readonly path: string;
  readonly project: string;
  readonly version: string;
  readonly url: string;
  readonly sha256: string;
}

/** A JSON value without its `description` texts (string-valued `description` keys; a property so named is a schema). */
export function withoutDescriptions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDescriptions);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key, v]) => !(key === 'description' && typeof v === 'string'))
      .map(([key, v]) => [key, withoutDescriptions(v)]),
  );
}

interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    names: Record<string, unknown>;
    scope: string;
    versions: Array<{ name: string; served: boolean; schema?: unknown }>;
  };
}

/** A CRD file's CRDs as validation reads them: names, group, kind and each served version's schema. */
function trimmedCrds(file: string): Crd[] {
  const documents = loadAll(readFileSync(file, 'utf8'), undefined, {
    schema: CORE_SCHEMA,
    filename: file,
  }) as Array<Crd | null>;
  return documents
    .filter((doc): doc is Crd => doc?.kind === 'CustomResourceDefinition')
    .map(({ apiVersion, kind, metadata, spec }) => ({
      apiVersion,
      kind,
      metadata: { name: metadata.name },
      spec: {
        group: spec.group,
        names: spec.names,
        scope: spec.scope,
        versions: spec.versions
          .filter((v) => v.served)
          .map((v) => ({ name: v.name, served: true, schema: withoutDescriptions(v.schema) })),
      },
    }));
}

/**
 * Writes the trimmed data directory `out` from `upstream`: crds/<name>.json (a List of the file's CRDs) for each CRD
 * file, schemas/k8s-v<version>-definitions.json for each Kubernetes version, and sources.json, which records where
 * each file came from (the upstream file, URL and sha256 it was derived from). Returns the paths written, relative.
 */
export function writeCheckData(upstream: string, out: string): string[] {
  const sources = JSON.parse(readFileSync(path.join(upstream, 'sources.json'), 'utf8')) as SourceRecord[];
  const recordOf = new Map(sources.map((record) => [record.path, record]));
  rmSync(out, { recursive: true, force: true });
  const written: Array<SourceRecord & { derivedFrom: string }> = [];
  const write = (relative: string, from: string, value: unknown) => {
    const record = recordOf.get(from);
    if (!record) throw new Error(`${path.join(upstream, from)} has no record in sources.json`);
    mkdirSync(path.dirname(path.join(out, relative)), { recursive: true });
    writeFileSync(path.join(out, relative), JSON.stringify(value));
    written.push({ ...record, path: relative, derivedFrom: from });
  };
  for (const file of readdirSync(path.join(upstream, 'crds'))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    write(`crds/${file.replace(/\.ya?ml$/, '.json')}`, `crds/${file}`, {
      apiVersion: 'v1',
      kind: 'List',
      items: trimmedCrds(path.join(upstream, 'crds', file)),
    });
  }
  for (const file of readdirSync(path.join(upstream, 'schemas'))
    .filter((f) => /^k8s-v.+-definitions\.json$/.test(f))
    .sort()) {
    const { definitions } = JSON.parse(readFileSync(path.join(upstream, 'schemas', file), 'utf8')) as {
      definitions: unknown;
    };
    write(`schemas/${file}`, `schemas/${file}`, { definitions: withoutDescriptions(definitions) });
  }
  writeFileSync(path.join(out, 'sources.json'), `${JSON.stringify(written, null, 2)}\n`);
  return [...written.map((record) => record.path), 'sources.json'];
}

/** The package a bundled file came from (`node_modules/@scope/name/...`), or undefined for this repository's own. */
function packageDirOf(input: string): string | undefined {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  return match?.[1];
}

/**
 * The licences of the packages bundled, each under its name, version and SPDX licence: its own licence file, or, for
 * a package that ships none (@bufbuild's), where its source and licence are. The Apache License 2.0 text is the
 * package's own LICENSE.
 */
function licenses(packageDirs: readonly string[]): string {
  return packageDirs
    .map((dir) => {
      const manifest = JSON.parse(readFileSync(path.join(ROOT, dir, 'package.json'), 'utf8')) as {
        name: string;
        version: string;
        license: string;
        repository?: string | { url: string };
      };
      const file = readdirSync(path.join(ROOT, dir)).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
      const repository = typeof manifest.repository === 'string' ? manifest.repository : manifest.repository?.url;
      if (!file && !repository)
        throw new Error(`${manifest.name} has neither a licence file nor a repository to name in ${LICENSES_FILE}`);
      const text = file
        ? readFileSync(path.join(ROOT, dir, file), 'utf8').trim()
        : `The package ships no licence file; its source and licence: ${repository}`;
      return `${manifest.name}@${manifest.version} (${manifest.license})\n\n${text}\n`;
    })
    .join(`\n${'-'.repeat(80)}\n\n`);
}

/** Bundles the command and writes its data and licences into `outDir`. */
export async function bundleCheck(
  outDir: string = DEFAULT_OUT_DIR,
): Promise<{ bundle: string; packages: string[]; data: string[] }> {
  mkdirSync(outDir, { recursive: true });
  const bundle = path.join(outDir, BUNDLE_FILE);
  const result = await build({
    entryPoints: [ENTRY],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: NODE_TARGET,
    format: 'cjs',
    minify: true,
    legalComments: 'none', // the licences are in LICENSES_FILE, whole
    define: { PACKED_DATA_DIR: JSON.stringify(DATA_DIR) },
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: ROOT,
    // The workspace packages it imports (grpc-k8s-lb-common) from their source, as everywhere in this repository.
    alias: sourceEntries(),
  });
  if (result.warnings.length > 0)
    throw new Error(
      `esbuild warned:\n${result.warnings.map((w) => `${w.location?.file ?? ''}:${w.location?.line ?? ''} ${w.text}`).join('\n')}`,
    );
  const packages = [
    ...new Set(Object.keys(result.metafile.inputs).flatMap((input) => packageDirOf(input) ?? [])),
  ].sort();
  writeFileSync(path.join(outDir, LICENSES_FILE), licenses(packages));
  const data = writeCheckData(UPSTREAM_DIR, path.join(outDir, DATA_DIR));
  return {
    bundle,
    packages: packages.map((dir) => dir.slice(dir.lastIndexOf('node_modules/') + 'node_modules/'.length)),
    data,
  };
}

if (require.main === module) {
  bundleCheck(process.argv[2] ? path.resolve(process.argv[2]) : undefined).then(
    ({ bundle, packages, data }) => {
      // On stderr: `npm pack --json` prints its JSON on stdout, after what prepack prints there.
      process.stderr.write(
        `${path.relative(ROOT, bundle)} (${(readFileSync(bundle).length / 1024).toFixed(0)} KiB; bundles ${packages.join(', ')}), ${DATA_DIR}/: ${data.length} files\n`,
      );
    },
    (error: Error) => {
      process.stderr.write(`bundle-check: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
