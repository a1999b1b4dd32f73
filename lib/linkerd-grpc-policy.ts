import { ApiObject, type Duration } from 'cdk8s';
import { Construct } from 'constructs';
import * as gw from './imports/gateway.networking.k8s.io';
import type { IGrpcBackend } from './grpc-backend';
import { serviceReference } from './internal/gateway-api';
import { LINKERD_RETRY_CONDITIONS, type LinkerdRetryPolicy } from './grpc-retry-policy';
import { portHandling } from 'grpc-k8s-lb-common';
import { callTimeout, grpcRetries } from './internal/call-policy';
import { dnsSubdomain, invalidProp, subjectOf } from './internal/validate';

/**
 * Linkerd's retry limit when a route's annotations set retries without one (linkerd2 version-2.20
 * policy-controller/k8s/index/src/outbound/index/grpc.rs parse_grpc_retry: `limit.unwrap_or(1)`).
 */
const LINKERD_DEFAULT_RETRY_LIMIT = 1;

export interface LinkerdGrpcPolicyProps {
  /** The backend whose calls the policy governs; meshed clients' proxies apply it to every call to its Service. */
  readonly backend: IGrpcBackend;
  /**
   * Name of the GRPCRoute.
   * @default backend.serviceName
   */
  readonly name?: string;
  /**
   * Retries of failed calls by the client's proxy (`retry.linkerd.io/grpc`, `retry.linkerd.io/limit`,
   * `retry.linkerd.io/timeout`): `retryOn` is required, since Linkerd retries a gRPC call only on the statuses listed.
   * Each of Linkerd's conditions can follow a call that reached the application: see `GrpcRetryPolicy`.
   * @default - none, as Linkerd's own default (without the annotations its proxies retry nothing); given, `attempts`
   *   defaults to Linkerd's 1 and no per-try timeout
   */
  readonly retries?: LinkerdRetryPolicy;
  /**
   * Time a whole call may take, retries included (`timeout.linkerd.io/request`).
   * @default - none, as Linkerd's own default: the call's own gRPC deadline bounds it
   */
  readonly timeout?: Duration;
}

/**
 * Linkerd's per-call policy for a gRPC backend: a Gateway API `GRPCRoute` whose parent is the backend's Service (an
 * outbound route, which meshed clients' proxies apply to every call to that Service), carrying Linkerd's retry and
 * timeout annotations (`retry.linkerd.io/grpc`, `retry.linkerd.io/limit`, `retry.linkerd.io/timeout`,
 * `timeout.linkerd.io/request`), which Linkerd 2.18 to 2.20 read on the route itself and which override the
 * Service's (https://linkerd.io/2/reference/retries, https://linkerd.io/2/reference/timeouts). A Service's own
 * `retry.linkerd.io/grpc` applies only when such a route is attached. The balancing itself needs no resource: a
 * meshed client's proxy resolves the ClusterIP Service to its endpoints and balances each HTTP/2 request over them
 * (EWMA), provided the Service port's appProtocol is `kubernetes.io/h2c` or unset (Linkerd >= 2.18 carries any other
 * value, `grpc` included, as opaque TCP and ignores the route). For Linkerd 2.18 and later: 2.16 and 2.17 watch only
 * `v1alpha2` routes, and their policy controller exits where the Gateway API CRDs serve no `v1alpha2`, as v1.6.1's
 * standard channel does (linkerd2 version-2.17 policy-controller/src/main.rs; see docs/control-planes.md).
 */
export class LinkerdGrpcPolicy extends Construct {
  /** Linkerd's annotations on the route. */
  readonly annotations: Readonly<Record<string, string>>;
  /** The GRPCRoute (`gateway.networking.k8s.io/v1`). */
  readonly route: ApiObject;

  constructor(scope: Construct, id: string, props: LinkerdGrpcPolicyProps) {
    super(scope, id);
    const subject = subjectOf(this);
    const { backend } = props;
    const name = dnsSubdomain(subject, 'name', props.name ?? backend.serviceName);
    const retries =
      props.retries === undefined
        ? undefined
        : grpcRetries(
            subject,
            'retries',
            props.retries,
            { attempts: LINKERD_DEFAULT_RETRY_LIMIT },
            LINKERD_RETRY_CONDITIONS,
          );
    if (retries?.attempts === 0)
      throw invalidProp(subject, 'retries.attempts', 0, 'from 1 to 10, or `retries` unset for no retries');
    const timeoutMs = callTimeout(subject, 'timeout', props.timeout, retries?.perTryTimeoutMs, 'retries.perTryTimeout');
    // Linkerd >= 2.18 applies GRPCRoutes only to ports it reads as HTTP/2 (policy-controller/grpc/src/outbound.rs: the
    // AppProtocol::Http2 branch, or detection when unset); anything else makes the port opaque or HTTP/1.
    if (backend.appProtocol !== undefined) {
      const handling = portHandling('linkerd-2.18', { appProtocol: backend.appProtocol, port: backend.port });
      if (handling !== 'http2') {
        throw invalidProp(
          subject,
          'backend.appProtocol',
          backend.appProtocol,
          `"kubernetes.io/h2c" or unset: Linkerd >= 2.18 reads it as ${handling} and applies no GRPCRoute`,
        );
      }
    }

    // Durations as `<n>ms`, which Linkerd parses (policy-controller/k8s/index/src/outbound/index.rs parse_duration).
    this.annotations = {
      ...(retries === undefined
        ? {}
        : {
            'retry.linkerd.io/grpc': retries.retryOn.join(','),
            'retry.linkerd.io/limit': String(retries.attempts),
            ...(retries.perTryTimeoutMs === undefined
              ? {}
              : { 'retry.linkerd.io/timeout': `${retries.perTryTimeoutMs}ms` }),
          }),
      ...(timeoutMs === undefined ? {} : { 'timeout.linkerd.io/request': `${timeoutMs}ms` }),
    };
    // Linkerd reads a parent or backend group of "" or "core" alike as the core group, and needs the kind
    // (policy-controller/k8s/api/src/policy.rs targets_kind, version-2.18 to version-2.20).
    const service = serviceReference(backend);
    // A Service parent makes this an outbound (GAMMA) route: it applies to calls to the Service, from any client.
    this.route = new gw.GrpcRoute(this, 'Resource', {
      metadata: {
        name,
        namespace: backend.namespace.name,
        annotations: Object.keys(this.annotations).length === 0 ? undefined : { ...this.annotations },
      },
      spec: { parentRefs: [service], rules: [{ backendRefs: [service] }] },
    });
  }
}
