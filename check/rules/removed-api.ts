/** Objects written in an API version the API server no longer serves, named with what replaced it. */
import { describe, type Finding, type Rule } from '../findings';
import type { ObjectRef } from '../graph';

interface Removal {
  readonly apiVersion: string;
  /** The kinds it held that moved; undefined for every kind of the group version. */
  readonly kinds?: readonly string[];
  readonly removedIn: string;
  readonly replacement: string;
}

/**
 * Kubernetes API versions removed since 1.16 that manifests still carry, from
 * https://kubernetes.io/docs/reference/using-api/deprecation-guide/, and the Gateway API group that was renamed
 * before v1 (kubernetes-sigs/gateway-api v1.6.1 CHANGELOG/0.x-CHANGELOG.md, v0.4.0: "The Gateway API APIGroup has
 * moved from networking.x-k8s.io to gateway.networking.k8s.io").
 */
const REMOVALS: readonly Removal[] = [
  {
    apiVersion: 'extensions/v1beta1',
    kinds: ['Ingress'],
    removedIn: 'Kubernetes 1.22',
    replacement: 'networking.k8s.io/v1',
  },
  {
    apiVersion: 'extensions/v1beta1',
    kinds: ['Deployment', 'DaemonSet', 'ReplicaSet'],
    removedIn: 'Kubernetes 1.16',
    replacement: 'apps/v1',
  },
  {
    apiVersion: 'extensions/v1beta1',
    kinds: ['NetworkPolicy'],
    removedIn: 'Kubernetes 1.16',
    replacement: 'networking.k8s.io/v1',
  },
  { apiVersion: 'apps/v1beta1', removedIn: 'Kubernetes 1.16', replacement: 'apps/v1' },
  { apiVersion: 'apps/v1beta2', removedIn: 'Kubernetes 1.16', replacement: 'apps/v1' },
  {
    apiVersion: 'networking.k8s.io/v1beta1',
    kinds: ['Ingress', 'IngressClass'],
    removedIn: 'Kubernetes 1.22',
    replacement: 'networking.k8s.io/v1',
  },
  { apiVersion: 'autoscaling/v2beta1', removedIn: 'Kubernetes 1.25', replacement: 'autoscaling/v2' },
  { apiVersion: 'autoscaling/v2beta2', removedIn: 'Kubernetes 1.26', replacement: 'autoscaling/v2' },
  { apiVersion: 'batch/v1beta1', kinds: ['CronJob'], removedIn: 'Kubernetes 1.25', replacement: 'batch/v1' },
  {
    apiVersion: 'policy/v1beta1',
    kinds: ['PodDisruptionBudget'],
    removedIn: 'Kubernetes 1.25',
    replacement: 'policy/v1',
  },
  { apiVersion: 'discovery.k8s.io/v1beta1', removedIn: 'Kubernetes 1.25', replacement: 'discovery.k8s.io/v1' },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1beta1',
    removedIn: 'Kubernetes 1.22',
    replacement: 'rbac.authorization.k8s.io/v1',
  },
  { apiVersion: 'apiextensions.k8s.io/v1beta1', removedIn: 'Kubernetes 1.22', replacement: 'apiextensions.k8s.io/v1' },
  {
    apiVersion: 'admissionregistration.k8s.io/v1beta1',
    removedIn: 'Kubernetes 1.22',
    replacement: 'admissionregistration.k8s.io/v1',
  },
  {
    apiVersion: 'networking.x-k8s.io/v1alpha1',
    removedIn: 'Gateway API v0.4.0',
    replacement: 'gateway.networking.k8s.io/v1',
  },
];

/** The removal that makes `ref`'s apiVersion and kind unserved, if one does. */
export function removalOf(ref: Pick<ObjectRef, 'apiVersion' | 'kind'>): Removal | undefined {
  return REMOVALS.find((r) => r.apiVersion === ref.apiVersion && (r.kinds === undefined || r.kinds.includes(ref.kind)));
}

export const rule: Rule = {
  id: 'removed-api',
  title: 'Object in an API version that is no longer served',
  why: 'The API server refuses an object whose apiVersion it no longer serves ("no matches for kind"): the Ingress, route or workload that carries the gRPC service is never created.',
  source:
    'https://kubernetes.io/docs/reference/using-api/deprecation-guide/; kubernetes-sigs/gateway-api v1.6.1 CHANGELOG/0.x-CHANGELOG.md (v0.4.0)',
  severity: 'error',
  check({ graph }) {
    return graph.objects.flatMap((ref): Finding[] => {
      const removal = removalOf(ref);
      if (removal === undefined) return [];
      return [
        {
          rule: rule.id,
          severity: 'error',
          object: ref,
          path: 'apiVersion',
          message: `${describe(ref)} is ${ref.apiVersion} ${ref.kind}, removed in ${removal.removedIn}: ${removal.replacement} replaces it`,
          fix: `rewrite it as ${removal.replacement} ${ref.kind}${ref.kind === 'Ingress' ? ' (backend.serviceName/servicePort become backend.service.name/port.number or port.name, and pathType is required)' : ''}`,
          related: [],
        },
      ];
    });
  },
};
