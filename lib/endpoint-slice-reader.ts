import { ApiObject } from 'cdk8s';
import * as k8s from './imports/k8s';
import { Construct } from 'constructs';
import type { IGrpcBackend } from './grpc-backend';
import { endpointClientPolicy, type GrpcClientPolicy } from './grpc-client-policy';
import type { IGrpcEndpoint } from './grpc-endpoint';
import { dnsSubdomain, subjectOf } from './internal/validate';
import type { INamespace } from './namespace';

/**
 * What the client's Kubernetes name resolver (the package grpc-js-kubernetes-resolver, resolver/) asks the API server for, and nothing more:
 * list and watch the EndpointSlices of its namespace. The Role the construct renders is exactly these rules, and
 * the resolver's test checks every request it makes against them.
 */
export const ENDPOINT_SLICE_READER_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
];

export interface EndpointSliceReaderProps {
  /** The backend whose EndpointSlices the client watches. */
  readonly backend: IGrpcBackend;
  /**
   * Name of the ServiceAccount, Role and RoleBinding the client runs with.
   * @default `${backend.serviceName}-endpoint-reader`
   */
  readonly name?: string;
  /**
   * Attempts per call a client should make (see `GrpcClientPolicy.maxAttempts`), from 1 to 5 (gRFC A6 caps it at 5):
   * a call that a pod's GOAWAY refuses while the watch has not yet taken the pod out is sent to another.
   * @default DEFAULT_GRPC_CLIENT_POLICY.maxAttempts
   */
  readonly maxAttempts?: number;
}

/**
 * The application-managed pool: the client watches the backend's EndpointSlices through the Kubernetes API (the
 * `kubernetes:///` resolver of the package grpc-js-kubernetes-resolver, resolver/) and balances each call with `round_robin` over the ready pods,
 * with no DNS caching and no proxy. This renders what that client needs to read the API: a ServiceAccount, a Role
 * that may only list and watch EndpointSlices in the app's namespace, and the RoleBinding between them.
 */
export class EndpointSliceReader extends Construct implements IGrpcEndpoint {
  readonly name: string;
  readonly clientNamespace: INamespace;
  /** The client balances over the pool itself. */
  readonly loadBalancingPolicy = 'round_robin';
  /** Retries and waitForReady; no DNS is involved (a `kubernetes:` target is resolved by watching the API). */
  readonly clientPolicy: GrpcClientPolicy;
  readonly serviceAccount: ApiObject;
  readonly role: ApiObject;
  private readonly backend: IGrpcBackend;

  constructor(scope: Construct, id: string, props: EndpointSliceReaderProps) {
    super(scope, id);
    const subject = subjectOf(this);
    const { backend } = props;
    this.backend = backend;
    this.name = dnsSubdomain(subject, 'name', props.name ?? `${backend.serviceName}-endpoint-reader`);
    this.clientNamespace = backend.namespace;
    this.clientPolicy = endpointClientPolicy(subject, props.maxAttempts);
    const metadata = { name: this.name, namespace: backend.namespace.name };
    this.serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata });
    this.role = new k8s.KubeRole(this, 'Role', {
      metadata,
      rules: ENDPOINT_SLICE_READER_RULES.map((rule) => ({ ...rule })),
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.role.name },
      subjects: [{ kind: 'ServiceAccount', name: this.serviceAccount.name, namespace: backend.namespace.name }],
    });
  }

  /** The resolver's target: service, namespace and port name, as kuberesolver spells it. */
  get grpcTarget(): string {
    return `kubernetes:///${this.backend.serviceName}.${this.backend.namespace.name}:${this.backend.portName}`;
  }

  get clientServiceAccountName(): string {
    return this.serviceAccount.name;
  }
}
