/** What `grpc-lb-check` reports, and what a rule is. */
import type { DataPlane } from 'grpc-k8s-lb-common';
import type { Graph, ObjectRef, Scale } from './graph';
import type { ValidationReport } from './validation';

export type Severity = 'error' | 'warning';

/** One fault, on one object. */
export interface Finding {
  /** The rule's id (`grpc-clusterip-single-pod`, `schema`, …). */
  readonly rule: string;
  readonly severity: Severity;
  /** The object the finding is about; output groups findings by it. */
  readonly object: ObjectRef;
  /** The field the finding is about, as a path in the object (`spec.ports[0].appProtocol`), when there is one. */
  readonly path?: string;
  /** What is wrong, naming the fields and values. */
  readonly message: string;
  /** What to change. */
  readonly fix: string;
  /** The other objects involved (the client that dials a Service, the route that names it, …). */
  readonly related: readonly ObjectRef[];
}

/** What every rule states about itself: shown with its findings, and as the rule's entry in SARIF. */
export interface RuleInfo {
  readonly id: string;
  /** One line: what the rule finds. */
  readonly title: string;
  /** Why it matters for gRPC load balancing. */
  readonly why: string;
  /** The documentation or source at a release tag that the rule's claims rest on. */
  readonly source: string;
  /** The severity of its findings when nothing downgrades them. */
  readonly severity: Severity;
}

/** What the rules check the graph with. */
export interface CheckContext {
  readonly graph: Graph;
  /** The input is not the whole cluster: "not in the input" is a warning, not an error. */
  readonly partial: boolean;
  /** The Linkerd data plane the checked cluster runs (`linkerd-2.16` for 2.16–2.17, `linkerd-2.18` for later). */
  readonly linkerd: DataPlane;
  /** The schema and CEL validation of the same objects. */
  readonly validation: ValidationReport;
}

export interface Rule extends RuleInfo {
  check(context: CheckContext): Finding[];
}

/** `Kind namespace/name` (or `Kind name` when cluster-scoped), the way findings name objects. */
export function describe(ref: Pick<ObjectRef, 'kind' | 'name' | 'namespace'>): string {
  return `${ref.kind} ${ref.namespace === undefined ? '' : `${ref.namespace}/`}${ref.name}`;
}

/** A label selector as messages write it: `app=greeter, tier=api`. */
export function describeSelector(selector: Readonly<Record<string, string>>): string {
  return Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** The severity of a "not in the input" finding: an error, unless the input is partial. */
export function absentSeverity(context: CheckContext): Severity {
  return context.partial ? 'warning' : 'error';
}

/** A fault once more than one pod can serve: an error then, a warning (latent) while one pod serves. */
export function scaleSeverity(scale: Scale): Severity {
  return scale.maxPods > 1 ? 'error' : 'warning';
}

/** The words a latent finding ends with: why it is not a fault yet. Empty when more than one pod can serve. */
export function latent(scale: Scale): string {
  return scale.maxPods > 1 ? '' : ` (latent: ${scale.because}, so one pod serves; becomes a fault when scaled)`;
}

/** Unique by object index, in input order. */
export function uniqueRefs(refs: readonly ObjectRef[]): ObjectRef[] {
  return [...new Map(refs.map((ref) => [ref.index, ref])).values()].sort((a, b) => a.index - b.index);
}
