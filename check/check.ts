/** Checking a set of manifests: the graph, the validation, every rule, and the findings in a stable order. */
import { linkerdDataPlane } from 'grpc-k8s-lb-common';
import {
  heldKubernetesVersions,
  validateObjects,
  type SkippedRule,
  type ValidationOptions,
  type ValidationReport,
} from './validation';
import type { Finding, RuleInfo } from './findings';
import { buildGraph } from './graph';
import type { ManifestObject } from './input';
import { RULES } from './rules';
import { applySuppressions, type IgnoreEntry, type SuppressedFinding } from './suppression';

/** The Linkerd minor whose behaviour is assumed unless told otherwise: the newest (2.18 through 2.20 behave alike). */
export const DEFAULT_LINKERD_VERSION = '2.18';

export interface CheckOptions {
  /** The input is not the whole cluster: what is "not in the input" is a warning. @default false */
  readonly partial?: boolean;
  /** The Linkerd version of the cluster (appProtocol handling changed in 2.18). @default DEFAULT_LINKERD_VERSION */
  readonly linkerdVersion?: string;
  /** The namespace objects without one are applied to. @default 'default' */
  readonly namespace?: string;
  /** Kubernetes versions to validate core objects against. @default the newest the data directory holds */
  readonly kubernetesVersions?: readonly string[];
  /** Suppressions for many objects at once (a config file's `ignore` list). @default none */
  readonly ignore?: readonly IgnoreEntry[];
  /** Where `ignore` was read, for the report. */
  readonly configFile?: string;
  /** The schemas to validate against (the validation's own default, the repository's `upstream/`, when unset). */
  readonly dataDir?: string;
  /** The schema and CEL validation. @default validateObjects of check/validation */
  readonly validate?: (objects: readonly object[], options?: ValidationOptions) => ValidationReport;
}

export interface CheckReport {
  /** Errors first within an object; objects in input order. */
  readonly findings: Finding[];
  readonly errors: number;
  readonly warnings: number;
  /** How many objects were checked. */
  readonly objects: number;
  /** The rules that ran (all of them), for SARIF's rule list. */
  readonly rules: readonly RuleInfo[];
  readonly celRulesEvaluated: number;
  readonly celRulesSkipped: readonly SkippedRule[];
  /** Findings a suppression with a reason covers: not counted, listed apart. */
  readonly suppressed: readonly SuppressedFinding[];
}

const RULE_ORDER = new Map(RULES.map((rule, i) => [rule.id, i]));

/** Runs every rule over `input`. */
export function checkManifests(input: readonly ManifestObject[], options: CheckOptions = {}): CheckReport {
  const graph = buildGraph(input, { namespace: options.namespace });
  const validate = options.validate ?? validateObjects;
  // The newest Kubernetes the data holds: what a cluster being set up today runs (native sidecars and the rest).
  const kubernetesVersions = options.kubernetesVersions ?? heldKubernetesVersions(options.dataDir).slice(-1);
  const validation = validate(
    input.map((m) => m.object),
    { kubernetesVersions, dataDir: options.dataDir },
  );
  const context = {
    graph,
    partial: options.partial ?? false,
    linkerd: linkerdDataPlane(options.linkerdVersion ?? DEFAULT_LINKERD_VERSION),
    validation,
  };
  const all = RULES.flatMap((rule) => rule.check(context)).sort(
    (a, b) =>
      a.object.index - b.object.index ||
      (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1) ||
      (RULE_ORDER.get(a.rule) ?? 0) - (RULE_ORDER.get(b.rule) ?? 0) ||
      (a.path ?? '').localeCompare(b.path ?? ''),
  );
  const { findings, suppressed } = applySuppressions(all, graph, options.ignore ?? [], options.configFile);
  return {
    findings,
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    objects: input.length,
    rules: RULES.map(({ id, title, why, source, severity }) => ({ id, title, why, source, severity })),
    celRulesEvaluated: validation.celRulesEvaluated,
    celRulesSkipped: validation.celRulesSkipped,
    suppressed,
  };
}
