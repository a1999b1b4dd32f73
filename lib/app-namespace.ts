import { Construct } from 'constructs';
import * as kplus from 'cdk8s-plus-27';
import { dnsLabel, oneOf, type ValidationSubject } from './validate';

/** A Pod Security Standards level, as Pod Security Admission's namespace labels take it. */
export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';
const LEVELS: readonly PodSecurityLevel[] = ['privileged', 'baseline', 'restricted'];

/** What Pod Security Admission does with pods in the namespace, per mode. */
export interface PodSecurityAdmission {
  /** Pods that violate this level are rejected. */
  readonly enforce?: PodSecurityLevel;
  /** Violations of this level are reported to the user who applies (kubectl prints a warning). */
  readonly warn?: PodSecurityLevel;
  /** Violations of this level are recorded in the audit log. */
  readonly audit?: PodSecurityLevel;
}

export interface AppNamespaceProps {
  /** Name of the Namespace, a DNS-1123 label. */
  readonly name: string;
  /**
   * Label the Namespace `istio-injection=enabled`, so Istio injects its sidecar into every pod created in it.
   * @default true
   */
  readonly istioInjection?: boolean;
  /**
   * Pod Security Admission labels. The default enforces `baseline`, the level Istio documents for meshed namespaces
   * when it is installed with its CNI plugin (without it, the injected `istio-init` container needs NET_ADMIN and
   * NET_RAW, which only `privileged` allows), and warns and audits against `restricted`, which this project's own
   * containers meet.
   * @default { enforce: 'baseline', warn: 'restricted', audit: 'restricted' }
   */
  readonly podSecurity?: PodSecurityAdmission;
}

/** The Namespace the greeter runs in; other constructs take it by reference instead of repeating its name. */
export class AppNamespace extends Construct {
  readonly name: string;
  readonly namespace: kplus.Namespace;

  constructor(scope: Construct, id: string, props: AppNamespaceProps) {
    super(scope, id);
    const subject: ValidationSubject = { construct: 'AppNamespace', id };
    this.name = dnsLabel(subject, 'name', props.name);
    const podSecurity = props.podSecurity ?? { enforce: 'baseline', warn: 'restricted', audit: 'restricted' };
    const labels: Record<string, string> = {};
    for (const mode of ['enforce', 'warn', 'audit'] as const) {
      const level = podSecurity[mode];
      if (level !== undefined) labels[`pod-security.kubernetes.io/${mode}`] = oneOf(subject, `podSecurity.${mode}`, level, LEVELS);
    }
    if (props.istioInjection ?? true) labels['istio-injection'] = 'enabled';
    this.namespace = new kplus.Namespace(this, 'Resource', { metadata: { name: this.name, labels: Object.keys(labels).length > 0 ? labels : undefined } });
  }
}
