import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as security from './imports/security.istio.io';
import type { IGrpcBackend, MeshIdentity } from './grpc-backend';
import type { IIstioWaypoint } from './istio-waypoint';
import { requireSelector } from './internal/backend';
import { hostName, invalidProp, protoServiceNames, subjectOf } from './internal/validate';
import { meshPrincipal } from './internal/workload';

export interface AmbientAccessPolicyProps {
  /** The backend to protect, in an Istio ambient namespace. */
  readonly backend: IGrpcBackend;
  /** The waypoint the backend's Service is bound to: the only caller ztunnel lets through to the pods. */
  readonly waypoint: IIstioWaypoint;
  /** Who may call the backend through the waypoint, by mesh identity: the gateway, and any in-mesh client. */
  readonly allowedCallers: readonly MeshIdentity[];
  /**
   * The gRPC services those callers may call (as request paths `/<service>/*`); calls to any other service get
   * `PERMISSION_DENIED` from the waypoint.
   * @default [] (every service)
   */
  readonly grpcServices?: readonly string[];
  /**
   * The mesh's trust domain, the first part of every SPIFFE principal.
   * @default 'cluster.local'
   */
  readonly trustDomain?: string;
}

/**
 * Zero trust for a gRPC backend in Istio ambient, where a policy is enforced in one of two places
 * (https://istio.io/latest/docs/ambient/usage/l4-policy/):
 * - L4, by the ztunnel in front of the pods: a PeerAuthentication `STRICT` for the namespace (no plaintext: every
 *   connection is HBONE with a verified identity), and an AuthorizationPolicy on the pods (`selector`) that admits
 *   only the waypoint's identity on the gRPC port, so nothing bypasses the waypoint. ztunnel reads only L4
 *   attributes: principals, namespaces, IP blocks and ports.
 * - L7, by the waypoint: an AuthorizationPolicy attached to the Service (`targetRefs`, the only kind of policy a
 *   waypoint applies: istio/api 1.30.3 security/v1beta1/authorization_policy.proto targetRefs, "Waypoint proxies are
 *   required to use this field") that admits the named callers, for the listed gRPC services only.
 */
export class AmbientAccessPolicy extends Construct {
  readonly peerAuthentication: ApiObject;
  /** The L4 policy ztunnel enforces on the pods. */
  readonly podPolicy: ApiObject;
  /** The L7 policy the waypoint enforces on calls to the Service. */
  readonly servicePolicy: ApiObject;

  constructor(scope: Construct, id: string, props: AmbientAccessPolicyProps) {
    super(scope, id);
    const subject = subjectOf(this);
    const { backend, waypoint } = props;
    if (backend.namespace.mesh !== 'istio-ambient') {
      throw invalidProp(
        subject,
        'backend.namespace.mesh',
        backend.namespace.mesh ?? 'none',
        `"istio-ambient": ztunnel and waypoints enforce these policies only for ambient pods (namespace ${JSON.stringify(backend.namespace.name)})`,
      );
    }
    if (waypoint.namespace.name !== backend.namespace.name) {
      throw invalidProp(
        subject,
        'waypoint.namespace',
        waypoint.namespace.name,
        `the backend's namespace (${JSON.stringify(backend.namespace.name)}), where its waypoint runs`,
      );
    }
    const selector = requireSelector(subject, 'backend', backend, 'the pod policy selects the pods');
    if (!Array.isArray(props.allowedCallers) || props.allowedCallers.length === 0) {
      throw invalidProp(
        subject,
        'allowedCallers',
        props.allowedCallers,
        'at least one mesh identity: with none, nothing could call the backend',
      );
    }
    const grpcServices = protoServiceNames(subject, 'grpcServices', props.grpcServices ?? [], 0);
    const trustDomain = hostName(subject, 'trustDomain', props.trustDomain ?? 'cluster.local');
    const namespace = backend.namespace.name;

    // Named `default` and without a selector: the namespace-wide policy.
    this.peerAuthentication = new security.PeerAuthentication(this, 'PeerAuthentication', {
      metadata: { name: 'default', namespace },
      spec: { mtls: { mode: security.PeerAuthenticationSpecMtlsMode.STRICT } },
    });
    this.podPolicy = new security.AuthorizationPolicy(this, 'PodPolicy', {
      metadata: { name: `${backend.serviceName}-pods`, namespace },
      spec: {
        selector: { matchLabels: { ...selector } },
        action: security.AuthorizationPolicySpecAction.ALLOW,
        rules: [
          {
            from: [{ source: { principals: [meshPrincipal(waypoint.identity, trustDomain)] } }],
            to: [{ operation: { ports: [String(backend.port)] } }],
          },
        ],
      },
    });
    this.servicePolicy = new security.AuthorizationPolicy(this, 'ServicePolicy', {
      metadata: { name: backend.serviceName, namespace },
      spec: {
        targetRefs: [{ group: '', kind: 'Service', name: backend.serviceName }],
        action: security.AuthorizationPolicySpecAction.ALLOW,
        rules: [
          {
            from: [
              { source: { principals: props.allowedCallers.map((caller) => meshPrincipal(caller, trustDomain)) } },
            ],
            to: grpcServices.length === 0 ? undefined : [{ operation: { paths: grpcServices.map((s) => `/${s}/*`) } }],
          },
        ],
      },
    });
  }
}
