import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { Mesh } from 'grpc-k8s-lb-common';
import * as k8s from './imports/k8s';
import { dnsLabel, oneOf, subjectOf } from './internal/validate';
import type { INamespace } from './namespace';

/** The Pod Security Standards levels, as Pod Security Admission's namespace labels take them. */
const LEVELS = ['privileged', 'baseline', 'restricted'] as const;

const MESHES: readonly Mesh[] = ['istio', 'istio-ambient', 'linkerd', 'none'];

/**
 * Istio ambient enrols a namespace's pods with this label (istio/api 1.30.3 label/labels.yaml
 * `istio.io/dataplane-mode`, values `ambient` and `none`).
 */
const ISTIO_DATAPLANE_MODE = 'istio.io/dataplane-mode';

export interface AppNamespaceProps {
  /** Name of the Namespace, a DNS-1123 label. */
  readonly name: string;
  /**
   * The mesh of every pod created in the Namespace: `istio` labels it `istio-injection=enabled` (a sidecar in each
   * pod), `istio-ambient` labels it `istio.io/dataplane-mode=ambient` (ztunnel on each node carries the pods'
   * traffic; nothing is injected), `linkerd` annotates it `linkerd.io/inject: enabled`, `none` leaves pods alone.
   * @default 'istio'
   */
  readonly mesh?: Mesh;
  /**
   * Pod Security Admission labels. Where a sidecar is injected the default enforces `baseline`, the level Istio and
   * Linkerd document when installed with their CNI plugins (without CNI, their init containers need NET_ADMIN and
   * NET_RAW, which only `privileged` allows); without a mesh, and in ambient, where nothing is added to the pods
   * (Istio's node agent sets up the redirection to ztunnel inside the pod's network namespace: istio/istio 1.30.3
   * cni/pkg/nodeagent), it enforces `restricted`, which this project's own containers meet. All warn and audit
   * against `restricted`.
   * @default - sidecar meshes: { enforce: 'baseline', warn: 'restricted', audit: 'restricted' }; mesh 'none' or 'istio-ambient': restricted for all three
   */
  readonly podSecurity?: {
    /**
     * Pods that violate this level are rejected.
     * @default - no label: the cluster's default applies (`privileged` unless its admission configuration sets one)
     */
    readonly enforce?: 'privileged' | 'baseline' | 'restricted';
    /**
     * Violations of this level are reported to the user who applies (kubectl prints a warning).
     * @default - no label: the cluster's default applies (`privileged` unless its admission configuration sets one)
     */
    readonly warn?: 'privileged' | 'baseline' | 'restricted';
    /**
     * Violations of this level are recorded in the audit log.
     * @default - no label: the cluster's default applies (`privileged` unless its admission configuration sets one)
     */
    readonly audit?: 'privileged' | 'baseline' | 'restricted';
  };
}

/** A Namespace for gRPC apps, with its mesh injection and Pod Security Admission; other constructs take it by reference. */
export class AppNamespace extends Construct implements INamespace {
  readonly name: string;
  readonly mesh: Mesh;
  readonly namespace: ApiObject;

  constructor(scope: Construct, id: string, props: AppNamespaceProps) {
    super(scope, id);
    const subject = subjectOf(this);
    this.name = dnsLabel(subject, 'name', props.name);
    this.mesh = oneOf(subject, 'mesh', props.mesh ?? 'istio', MESHES);
    const podSecurity = props.podSecurity ?? {
      enforce: this.mesh === 'none' || this.mesh === 'istio-ambient' ? 'restricted' : 'baseline',
      warn: 'restricted',
      audit: 'restricted',
    };
    const labels: Record<string, string> = {};
    for (const mode of ['enforce', 'warn', 'audit'] as const) {
      const level = podSecurity[mode];
      if (level !== undefined)
        labels[`pod-security.kubernetes.io/${mode}`] = oneOf(subject, `podSecurity.${mode}`, level, LEVELS);
    }
    if (this.mesh === 'istio') labels['istio-injection'] = 'enabled';
    if (this.mesh === 'istio-ambient') labels[ISTIO_DATAPLANE_MODE] = 'ambient';
    const annotations = this.mesh === 'linkerd' ? { 'linkerd.io/inject': 'enabled' } : undefined;
    this.namespace = new k8s.KubeNamespace(this, 'Resource', {
      metadata: { name: this.name, labels: Object.keys(labels).length > 0 ? labels : undefined, annotations },
    });
  }
}
