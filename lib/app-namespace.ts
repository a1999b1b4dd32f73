import { Construct } from 'constructs';
import * as kplus from 'cdk8s-plus-27';
import { dnsLabel } from './validate';

export interface AppNamespaceProps {
  /** Name of the Namespace, a DNS-1123 label. */
  readonly name: string;
  /**
   * Label the Namespace `istio-injection=enabled`, so Istio injects its sidecar into every pod created in it.
   * @default true
   */
  readonly istioInjection?: boolean;
}

/** The Namespace the greeter runs in; other constructs take it by reference instead of repeating its name. */
export class AppNamespace extends Construct {
  readonly name: string;
  readonly namespace: kplus.Namespace;

  constructor(scope: Construct, id: string, props: AppNamespaceProps) {
    super(scope, id);
    this.name = dnsLabel({ construct: 'AppNamespace', id }, 'name', props.name);
    const labels = (props.istioInjection ?? true) ? { 'istio-injection': 'enabled' } : undefined;
    this.namespace = new kplus.Namespace(this, 'Resource', { metadata: { name: this.name, labels } });
  }
}
