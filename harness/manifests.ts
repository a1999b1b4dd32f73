/** Rendered manifests for tests: read back from a synth, and checked against the schemas an API server enforces. */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { formatIssue, validateObjects } from '../check/validation';

/** A rendered Kubernetes object, as kubectl reads it. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // Objects are walked generically here; the typed side is the constructs that render them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [field: string]: any;
}

/** The YAML files of one synthesized directory, in file-name order (the order `kubectl apply -f <dir>` uses). */
export function readManifestDir(dir: string): Array<{ file: string; text: string; objects: KubeObject[] }> {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.k8s.yaml'))
    .sort()
    .map((file) => {
      const text = readFileSync(path.join(dir, file), 'utf8');
      return { file, text, objects: parseAllDocuments(text).map((doc) => doc.toJS() as KubeObject) };
    });
}

/** Every file under `dir` (generated output: dist/, imports/), as paths relative to it, sorted. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** Every directory under `root` that holds synthesized manifests (`dist/<env>/<strategy>/`), sorted. */
export function manifestDirs(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.k8s.yaml'))
    .map((entry) => entry.parentPath)
    .filter((dir, index, dirs) => dirs.indexOf(dir) === index)
    .sort();
}

/**
 * Each object's validation errors (null when valid): check/validation (its default Kubernetes definitions, the CRDs'
 * schemas and CEL rules, Argo CD's Application among them) for every kind it has a schema for,
 * `validate-manifests.mjs` (@kubernetes-models/cert-manager) for the rest.
 */
export function validateAgainstSchemas(
  objects: readonly KubeObject[],
): Array<{ subject: string; error: string | null }> {
  const report = validateObjects(objects);
  const unknown = report.unknownKinds.map((u) => u.objectIndex);
  const modelResults: Array<{ subject: string; error: string | null }> =
    unknown.length === 0
      ? []
      : JSON.parse(
          execFileSync(process.execPath, [path.join(__dirname, 'validate-manifests.mjs')], {
            input: JSON.stringify(unknown.map((i) => objects[i])),
            encoding: 'utf8',
          }),
        );
  return objects.map((object, index) => {
    const fromModels = unknown.indexOf(index);
    if (fromModels >= 0) return modelResults[fromModels];
    const errors = report.issues.filter((issue) => issue.objectIndex === index).map(formatIssue);
    return {
      subject: `${object.apiVersion} ${object.kind} ${object.metadata?.namespace ?? ''}/${object.metadata?.name}`,
      error: errors.length ? errors.join('\n') : null,
    };
  });
}

/** The one object of that kind and name, or a failure that says what was there instead. */
export function findObject(objects: readonly KubeObject[], kind: string, name?: string): KubeObject {
  const matches = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (matches.length !== 1) {
    throw new Error(
      `expected one ${kind}${name ? ` named ${name}` : ''}, found ${matches.length} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
    );
  }
  return matches[0];
}

/** Whether a label selector selects an object with these labels (an empty selector selects nothing here). */
export function selects(selector: Record<string, string>, labels: Record<string, string> = {}): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** The DNS name a Service answers to in the cluster. */
export function serviceHost(service: KubeObject): string {
  return `${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`;
}

/** A route's parentRef to a Gateway (by its name and namespace), at one of its listeners, as the Gateway API reads it. */
export function gatewayParentRef(gateway: { name: string; namespace?: string }, sectionName: string) {
  return {
    group: 'gateway.networking.k8s.io',
    kind: 'Gateway',
    name: gateway.name,
    namespace: gateway.namespace,
    sectionName,
  };
}

/** A container's literal environment (`value`, not `valueFrom`), as the process in it will see it. */
export function containerEnv(container: KubeObject): Record<string, string> {
  const literal = (container.env ?? []).filter((e: { value?: string }) => e.value !== undefined) as Array<{
    name: string;
    value: string;
  }>;
  return Object.fromEntries(literal.map((e) => [e.name, e.value]));
}
