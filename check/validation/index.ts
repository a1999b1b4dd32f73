/**
 * Validation as strict as an API server's, without one: built-in objects against the Kubernetes OpenAPI definitions
 * of each requested version (unknown fields are errors), custom objects against their CRD's structural schema after
 * defaulting, then the CRD's CEL rules (`x-kubernetes-validations`). Schemas are read lazily from the data directory
 * (`upstream/`), the CEL runtime is loaded only when a custom object is validated, and rules are compiled once.
 */
import { schemaData, splitApiVersion, type CoreSchemas } from './data';

export { heldKubernetesVersions } from './data';
import { metadataIssues } from './metadata';
import { applyDefaults, SchemaValidator, type SchemaIssue } from './schema';
import { isJsonObject, type Json, type JsonObject, type JsonSchema } from './schema-types';
import type * as Engine from './cel/engine';

export interface ValidationIssue {
  readonly objectIndex: number;
  readonly kind: 'schema' | 'cel';
  /** The field, as the API server names it: `spec.template.spec.containers[0].image`. */
  readonly path: string;
  readonly message: string;
  /** The CEL rule that failed (kind 'cel'). */
  readonly rule?: string;
  /** Set when the issue arises for this Kubernetes version only; absent when it arises for every version checked. */
  readonly kubernetesVersion?: string;
}

/** A CEL rule that was not evaluated, and why (one entry per CRD, field and rule). */
export interface SkippedRule {
  readonly crd: string;
  readonly path: string;
  readonly rule: string;
  readonly reason: string;
}

export interface ValidationReport {
  readonly issues: ValidationIssue[];
  /** CEL rule evaluations: each rule on each value it applies to, summed over the Kubernetes versions checked. */
  readonly celRulesEvaluated: number;
  readonly celRulesSkipped: SkippedRule[];
  /** Objects with no schema here: neither a built-in kind of any version checked nor a kind of a CRD in the data. */
  readonly unknownKinds: { objectIndex: number; apiVersion: string; kind: string }[];
}

export interface ValidationOptions {
  /**
   * Kubernetes versions to validate against, each with `schemas/k8s-v<version>-definitions.json` in the data directory.
   * @default DEFAULT_KUBERNETES_VERSIONS
   */
  readonly kubernetesVersions?: readonly string[];
  /**
   * The directory holding `schemas/` and `crds/`.
   * @default the repository's `upstream/` directory
   */
  readonly dataDir?: string;
}

/**
 * The versions validated by default: the oldest Kubernetes whose definitions are here and that this repository
 * supports (its strategies need 1.30, for the native preStop sleep, to 1.33; Istio 1.30 needs 1.32). The 1.27
 * definitions stay for `kubernetesVersions` (`--kubernetes-version 1.27.0`).
 */
export const DEFAULT_KUBERNETES_VERSIONS: readonly string[] = ['1.32.0'];

let engine: typeof Engine | undefined;
/** The CEL engine, loaded on first use: loading @bufbuild/cel costs more than validating most objects. */
const celEngine = (): typeof Engine => (engine ??= require('./cel/engine') as typeof Engine);

/** The minor version of `1.32.0`. */
function minorOf(version: string): number {
  const match = /^v?1\.(\d+)(\.\d+)?$/.exec(version);
  if (!match) throw new Error(`validation: kubernetesVersions must be like "1.32.0", got ${JSON.stringify(version)}`);
  return Number(match[1]);
}

interface VersionFinding {
  readonly kind: 'schema' | 'cel';
  readonly path: string;
  readonly message: string;
  readonly rule?: string;
}

/** Validates each object as an API server of each requested version would on create. Never throws for bad objects. */
export function validateObjects(objects: readonly object[], options: ValidationOptions = {}): ValidationReport {
  const versions = options.kubernetesVersions ?? DEFAULT_KUBERNETES_VERSIONS;
  if (versions.length === 0) throw new Error('validation: kubernetesVersions is empty');
  const minors = versions.map(minorOf);
  const data = schemaData(options.dataDir);
  const issues: ValidationIssue[] = [];
  const unknownKinds: ValidationReport['unknownKinds'] = [];
  const skipped = new Map<string, SkippedRule>();
  let celRulesEvaluated = 0;

  objects.forEach((input, objectIndex) => {
    const object = input as JsonObject;
    const { apiVersion, kind } = object;
    if (!isJsonObject(object) || typeof apiVersion !== 'string' || typeof kind !== 'string' || !apiVersion || !kind) {
      issues.push({
        objectIndex,
        kind: 'schema',
        path: isJsonObject(object) && typeof apiVersion === 'string' && apiVersion ? 'kind' : 'apiVersion',
        message: 'Required value: an object needs a string apiVersion and kind',
      });
      return;
    }
    const crd = data.crdVersion(apiVersion, kind);
    if (crd instanceof Error) {
      issues.push({
        objectIndex,
        kind: 'schema',
        path: 'apiVersion',
        message: `Invalid value: ${JSON.stringify(apiVersion)}: ${crd.message}`,
      });
      return;
    }
    const perVersion: VersionFinding[][] = [];
    if (crd) {
      // Defaulting, the schema and the CEL rules give the same on every version: they run once. What differs is the
      // metadata's ObjectMeta definition, and which rules run (the CEL libraries each version has).
      const defaulted = structuredClone(object);
      applyDefaults(defaulted, crd.schema);
      const body = new SchemaValidator('crd', data.coreSchemas(versions[0]));
      body.validateCustomBody(defaulted, crd.schema);
      const metadata = metadataIssues(defaulted.metadata as Json | undefined);
      const outcomes: Engine.RuleOutcome[] = versions.map(() => ({ evaluated: 0, violations: [], skipped: [] }));
      celEngine().evaluateRules(defaulted, crd.schema, '', minors, outcomes);
      versions.forEach((version, v) => {
        const objectMeta = new SchemaValidator('crd', data.coreSchemas(version));
        objectMeta.validateObjectMeta(defaulted.metadata);
        const outcome = outcomes[v];
        celRulesEvaluated += outcome.evaluated;
        for (const skip of outcome.skipped) {
          const path = skip.path.replace(/\[\d+\]/g, '[*]');
          skipped.set(`${crd.crd}\u0000${path}\u0000${skip.rule}\u0000${skip.reason}`, {
            crd: crd.crd,
            path,
            rule: skip.rule,
            reason: skip.reason,
          });
        }
        perVersion.push([
          ...schemaFindings([...objectMeta.issues, ...body.issues, ...metadata]),
          ...outcome.violations.map((x) => ({ kind: 'cel' as const, path: x.path, message: x.message, rule: x.rule })),
        ]);
      });
    } else {
      const definitions = versions.map((version) => {
        const core = data.coreSchemas(version);
        return { core, name: core.definitionFor(apiVersion, kind) };
      });
      if (definitions.every((d) => !d.name)) {
        unknownKinds.push({ objectIndex, apiVersion, kind });
        return;
      }
      for (const { core, name } of definitions) {
        perVersion.push(
          name
            ? coreFindings(core, object, core.definitions[name])
            : [
                {
                  kind: 'schema',
                  path: 'apiVersion',
                  message: `Invalid value: ${JSON.stringify(apiVersion)}: ${splitApiVersion(apiVersion).group || 'core'} ${kind} is not served by Kubernetes ${core.version}`,
                },
              ],
        );
      }
    }
    issues.push(...mergeVersions(objectIndex, versions, perVersion));
  });

  return { issues, celRulesEvaluated, celRulesSkipped: [...skipped.values()], unknownKinds };
}

function schemaFindings(issues: readonly SchemaIssue[]): VersionFinding[] {
  return issues.map((issue) => ({ kind: 'schema', path: issue.path, message: issue.message }));
}

function coreFindings(core: CoreSchemas, object: JsonObject, schema: JsonSchema): VersionFinding[] {
  const validator = new SchemaValidator('core', core);
  validator.validateRoot(object, schema);
  return schemaFindings([...validator.issues, ...metadataIssues(object.metadata as Json | undefined)]);
}

/** One issue for a finding every version shares; one per version, marked with it, for the rest. */
function mergeVersions(
  objectIndex: number,
  versions: readonly string[],
  perVersion: VersionFinding[][],
): ValidationIssue[] {
  const key = (f: VersionFinding) => `${f.kind}\u0000${f.path}\u0000${f.message}\u0000${f.rule ?? ''}`;
  const counts = new Map<string, number>();
  for (const findings of perVersion)
    for (const k of new Set(findings.map(key))) counts.set(k, (counts.get(k) ?? 0) + 1);
  const issues: ValidationIssue[] = [];
  const emitted = new Set<string>();
  perVersion.forEach((findings, v) => {
    for (const finding of findings) {
      const k = key(finding);
      const everywhere = counts.get(k) === versions.length;
      if (everywhere && emitted.has(k)) continue;
      emitted.add(k);
      issues.push({ objectIndex, ...finding, ...(everywhere ? {} : { kubernetesVersion: versions[v] }) });
    }
  });
  return issues;
}

/** One line per issue: `<objectIndex> <path>: <message>`, for test failures and command output. */
export function formatIssue(issue: ValidationIssue): string {
  const version = issue.kubernetesVersion ? ` (Kubernetes ${issue.kubernetesVersion})` : '';
  return `#${issue.objectIndex} ${issue.kind} ${issue.path || '<root>'}: ${issue.message}${version}`;
}
