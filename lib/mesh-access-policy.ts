import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as security from './imports/security.istio.io';
import type { IGrpcBackend, MeshIdentity } from './grpc-backend';
import { requireSelector } from './internal/backend';
import { hostName, invalidProp, subjectOf } from './internal/validate';
import { meshPrincipal } from './internal/workload';

export interface MeshAccessPolicyProps {
  /** The backend to protect: its namespace gets STRICT mutual TLS and its pods an allow-list of callers. */
  readonly backend: IGrpcBackend;
  /** Who may call the app, by mesh identity: the gateway, and any in-mesh client. */
  readonly allowedCallers: MeshIdentity[];
  /**
   * The mesh's trust domain, the first part of every SPIFFE principal.
   * @default 'cluster.local'
   */
  readonly trustDomain?: string;
}

/**
 * Zero trust for the app's namespace: a PeerAuthentication that accepts only Istio mutual TLS (no plaintext,
 * so every caller has a verified identity), and an AuthorizationPolicy on the app's pods that allows only the
 * named callers on the app's port. Everyone else gets `PERMISSION_DENIED` from the sidecar.
 */
export class MeshAccessPolicy extends Construct {
  readonly peerAuthentication: ApiObject;
  readonly authorizationPolicy: ApiObject;

  constructor(scope: Construct, id: string, props: MeshAccessPolicyProps) {
    super(scope, id);
    const subject = subjectOf(this);
    const { backend } = props;
    // The sidecar enforces both policies; in a namespace without Istio's there is nothing to enforce them, and STRICT
    // mTLS would only make the namespace's pods unreachable from the mesh.
    if (backend.namespace.mesh !== 'istio') {
      throw invalidProp(
        subject,
        'backend.namespace.mesh',
        backend.namespace.mesh ?? 'none',
        `"istio": namespace ${JSON.stringify(backend.namespace.name)} has no Istio sidecars to enforce the policy (an existing one: existingNamespace(name, 'istio'))`,
      );
    }
    const selector = requireSelector(subject, 'backend', backend, 'the AuthorizationPolicy selects the pods');
    if (!Array.isArray(props.allowedCallers) || props.allowedCallers.length === 0) {
      throw invalidProp(
        subject,
        'allowedCallers',
        props.allowedCallers,
        'at least one mesh identity: with none, nothing could call the app',
      );
    }
    props.allowedCallers.forEach((caller, index) => {
      if (typeof caller?.namespace?.name !== 'string' || typeof caller.serviceAccountName !== 'string') {
        throw invalidProp(
          subject,
          `allowedCallers[${index}]`,
          caller,
          'a mesh identity ({ namespace, serviceAccountName }): an imported gateway needs its identity attribute',
        );
      }
    });
    // A trust domain is a DNS-like name; `cluster.local` is Istio's default.
    const trustDomain = hostName(subject, 'trustDomain', props.trustDomain ?? 'cluster.local');

    // Named `default` and without a selector: the namespace-wide policy.
    this.peerAuthentication = new security.PeerAuthentication(this, 'PeerAuthentication', {
      metadata: { name: 'default', namespace: backend.namespace.name },
      spec: { mtls: { mode: security.PeerAuthenticationSpecMtlsMode.STRICT } },
    });

    this.authorizationPolicy = new security.AuthorizationPolicy(this, 'AuthorizationPolicy', {
      metadata: { name: backend.serviceName, namespace: backend.namespace.name },
      spec: {
        selector: { matchLabels: { ...selector } },
        action: security.AuthorizationPolicySpecAction.ALLOW,
        rules: [
          {
            from: [
              { source: { principals: props.allowedCallers.map((caller) => meshPrincipal(caller, trustDomain)) } },
            ],
            to: [{ operation: { ports: [String(backend.port)] } }],
          },
        ],
      },
    });
  }
}
