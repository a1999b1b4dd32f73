/** The objects of the input as findings name them, and how references between them resolve to the nearest copy. */
import * as path from 'node:path';
import type { ManifestObject, SourceLocation } from '../input';
import { record, text, type Json } from './json';

/** An object of the input, as findings name it. */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  /** Unset for cluster-scoped kinds. */
  readonly namespace?: string;
  readonly location: SourceLocation;
  /** Position in the input (0-based), as the schema validation numbers objects. */
  readonly index: number;
}

/** An object of one kind, with its reference. */
export interface Found {
  readonly ref: ObjectRef;
  readonly object: Json;
}

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'IngressClass',
  'GatewayClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'ClusterIssuer',
  'APIService',
  'Node',
  'RuntimeClass',
]);

/** The API group of an apiVersion (`''` for the core group). */
export const apiGroup = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '');

/** The input's objects, indexed by kind and API group. */
export class ObjectIndex {
  readonly refs: readonly ObjectRef[];
  private readonly byKind = new Map<string, Found[]>();

  constructor(
    readonly input: readonly ManifestObject[],
    defaultNamespace: string,
  ) {
    this.refs = input.map(({ object, location }, index) => {
      const metadata = record(object.metadata);
      return {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: text(metadata.name) ?? '',
        namespace: CLUSTER_SCOPED.has(object.kind) ? undefined : (text(metadata.namespace) ?? defaultNamespace),
        location,
        index,
      };
    });
    this.refs.forEach((ref, i) => push(this.byKind, ref.kind, { ref, object: input[i].object as unknown as Json }));
  }

  /** The objects of `kind` (in `group`, when given). */
  of(kind: string, group?: string): Found[] {
    const found = this.byKind.get(kind) ?? [];
    return group === undefined ? found : found.filter((f) => apiGroup(f.ref.apiVersion) === group);
  }
}

/** Of several candidates, the one whose file is nearest `from` (same file, then deepest common directory). */
export function nearest<T extends { ref: ObjectRef }>(
  candidates: readonly T[] | undefined,
  from: SourceLocation,
): T | undefined {
  if (candidates === undefined || candidates.length <= 1) return candidates?.[0];
  const fromParts = from.file.split(path.sep);
  const closeness = (candidate: T) => {
    if (candidate.ref.location.file === from.file) return Number.MAX_SAFE_INTEGER;
    const parts = candidate.ref.location.file.split(path.sep);
    let shared = 0;
    while (shared < parts.length - 1 && parts[shared] === fromParts[shared]) shared++;
    return shared;
  };
  return candidates.reduce((best, candidate) => (closeness(candidate) > closeness(best) ? candidate : best));
}

export function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const values = map.get(key);
  if (values === undefined) map.set(key, [value]);
  else values.push(value);
}
