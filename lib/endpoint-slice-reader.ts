import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { GreeterApp } from '../greeter-app';
import type { IGrpcEndpoint } from '../grpc-endpoint';
import { clientChart, greeterCharts, type Strategy } from '../strategy';
import { dnsSubdomain, type ValidationSubject } from '../validate';
import type { INamespace } from '../workload';

/**
 * What the client's Kubernetes name resolver (app/k8s-resolver.ts) asks the API server for, and nothing more:
 * list and watch the EndpointSlices of its namespace. The Role the construct renders is exactly these rules, and
 * the resolver's test checks every request it makes against them.
 */
export const ENDPOINT_SLICE_READER_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
];

export interface EndpointSliceReaderProps {
  /** The greeter whose EndpointSlices the client watches. */
  readonly app: GreeterApp;
  /**
   * Name of the ServiceAccount, Role and RoleBinding the client runs with.
   * @default `${app.name}-endpoint-reader`
   */
  readonly name?: string;
}

/**
 * The application-managed pool: the client watches the greeter's EndpointSlices through the Kubernetes API (the
 * `kubernetes:///` resolver in app/k8s-resolver.ts) and balances each call with `round_robin` over the ready pods,
 * with no DNS caching and no proxy. This renders what that client needs to read the API: a ServiceAccount, a Role
 * that may only list and watch EndpointSlices in the app's namespace, and the RoleBinding between them.
 */
export class EndpointSliceReader extends Construct implements IGrpcEndpoint {
  readonly name: string;
  readonly clientNamespace: INamespace;
  /** The client balances over the pool itself. */
  readonly loadBalancingPolicy = 'round_robin';
  readonly serviceAccount: k8s.KubeServiceAccount;
  readonly role: k8s.KubeRole;
  private readonly app: GreeterApp;

  constructor(scope: Construct, id: string, props: EndpointSliceReaderProps) {
    super(scope, id);
    const subject: ValidationSubject = { construct: 'EndpointSliceReader', id };
    const { app } = props;
    this.app = app;
    this.name = dnsSubdomain(subject, 'name', props.name ?? `${app.name}-endpoint-reader`);
    this.clientNamespace = app.namespace;
    const metadata = { name: this.name, namespace: app.namespace.name };
    this.serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata });
    this.role = new k8s.KubeRole(this, 'Role', { metadata, rules: ENDPOINT_SLICE_READER_RULES.map((rule) => ({ ...rule })) });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.role.name },
      subjects: [{ kind: 'ServiceAccount', name: this.serviceAccount.name, namespace: app.namespace.name }],
    });
  }

  /** The resolver's target: service, namespace and port name, as kuberesolver spells it. */
  get grpcTarget(): string {
    return `kubernetes:///${this.app.name}.${this.app.namespace.name}:${this.app.portName}`;
  }

  get clientServiceAccountName(): string {
    return this.serviceAccount.name;
  }
}

/** The client watches EndpointSlices and balances each call over the ready pods itself; no proxy, no mesh. */
export const k8sResolverStrategy: Strategy = {
  name: 'k8s-resolver',
  summary: 'the client watches EndpointSlices through the Kubernetes API and balances each call with round_robin',
  render(app, env) {
    const { namespaceChart, greeterChart, greeter } = greeterCharts(app, env, { mesh: 'none' });
    const rbacChart = new Chart(app, 'rbac');
    const reader = new EndpointSliceReader(rbacChart, 'endpoint-reader', { app: greeter });
    rbacChart.addDependency(namespaceChart, greeterChart);
    clientChart(app, env, reader, [rbacChart]);
    return {};
  },
};
