import { ApiObject, type Duration } from 'cdk8s';
import { Construct } from 'constructs';
import * as eg from './imports/gateway.envoyproxy.io';
import * as gw from './imports/gateway.networking.k8s.io';
import { GATEWAY_API_GROUP } from './grpc-gateway';
import {
  DATA_PLANE_DEFAULT_RETRIES,
  ENVOY_GATEWAY_RETRY_CONDITIONS,
  type EnvoyGatewayRetryPolicy,
} from './grpc-retry-policy';
import type { IGrpcRoute } from './grpc-route';
import { callTimeout, grpcRetries, outlierEjection } from './internal/call-policy';
import { dnsSubdomain, gatewayApiDuration, integerIn, oneOf, subjectOf } from './internal/validate';

const LOAD_BALANCER_TYPES = ['RoundRobin', 'LeastRequest', 'Random'] as const;

export interface EnvoyGatewayGrpcPolicyProps {
  /**
   * The route whose calls the policy governs (a `GrpcRoute`, or one rendered elsewhere, by name and namespace): the
   * BackendTrafficPolicy targets it, in its namespace.
   */
  readonly route: IGrpcRoute;
  /**
   * Name of the BackendTrafficPolicy.
   * @default route.name
   */
  readonly name?: string;
  /**
   * How Envoy picks a pod for each call (`loadBalancer.type`). Every type balances per call (per HTTP/2 stream), not
   * per connection.
   * @default 'RoundRobin'
   */
  readonly loadBalancing?: 'RoundRobin' | 'LeastRequest' | 'Random';
  /**
   * Retries of failed calls (`retry`), on Envoy Gateway's own triggers. `unavailable` and `cancelled`, in the default,
   * can run a call that reached the application twice: see `GrpcRetryPolicy` for which conditions can.
   * @default - Envoy Gateway's own retry defaults: 2 retries on `connect-failure`, `refused-stream`, `unavailable`,
   *   `cancelled`, `retriable-status-codes` (no HTTP status code listed), with no per-try timeout
   */
  readonly retries?: EnvoyGatewayRetryPolicy;
  /**
   * Time a whole call may take, retries included (`timeout.http.requestTimeout`).
   * @default - none: the call's own gRPC deadline bounds it
   */
  readonly timeout?: Duration;
  /**
   * Consecutive gateway errors (UNAVAILABLE, connection failures) after which a pod is ejected for a while.
   * @default 5
   */
  readonly consecutiveErrorsToEject?: number;
}

/**
 * Envoy Gateway's per-call policy for a GRPCRoute: a `BackendTrafficPolicy` (gateway.envoyproxy.io/v1alpha1) that
 * targets the route and sets how its Envoy balances each call over the route's pods, which failures it retries, the
 * call's timeout and the ejection of a failing pod, as `GrpcVirtualService` does for Istio. Envoy Gateway forwards a
 * GRPCRoute's calls over HTTP/2 whatever the Service's appProtocol (v1.9.0 internal/gatewayapi/route.go
 * inspectAppProtocolByRouteKind), to the pods' addresses, not the ClusterIP.
 */
export class EnvoyGatewayGrpcPolicy extends Construct {
  readonly policy: ApiObject;

  constructor(scope: Construct, id: string, props: EnvoyGatewayGrpcPolicyProps) {
    super(scope, id);
    const subject = subjectOf(this);
    const { route } = props;
    const name = dnsSubdomain(subject, 'name', props.name ?? route.name);
    const loadBalancing = oneOf(subject, 'loadBalancing', props.loadBalancing ?? 'RoundRobin', LOAD_BALANCER_TYPES);
    // Envoy Gateway builds a retry policy only for a route whose policy has `retry` (v1.9.0
    // internal/xds/translator/route.go): the defaults are rendered, so the policy says what runs.
    const retries = grpcRetries(
      subject,
      'retries',
      props.retries,
      DATA_PLANE_DEFAULT_RETRIES,
      ENVOY_GATEWAY_RETRY_CONDITIONS,
    );
    const timeoutMs = callTimeout(subject, 'timeout', props.timeout, retries.perTryTimeoutMs, 'retries.perTryTimeout');
    const consecutiveErrorsToEject = integerIn(
      subject,
      'consecutiveErrorsToEject',
      props.consecutiveErrorsToEject ?? 5,
      1,
    );
    const perRetryTimeout =
      retries.perTryTimeoutMs === undefined
        ? undefined
        : gatewayApiDuration(subject, 'retries.perTryTimeout', retries.perTryTimeoutMs);
    const requestTimeout = timeoutMs === undefined ? undefined : gatewayApiDuration(subject, 'timeout', timeoutMs);

    this.policy = new eg.BackendTrafficPolicy(this, 'Resource', {
      metadata: { name, namespace: route.namespace.name },
      spec: {
        // A policy attaches to a route in its own namespace, by name.
        targetRefs: [{ group: GATEWAY_API_GROUP, kind: gw.GrpcRoute.GVK.kind, name: route.name }],
        loadBalancer: { type: loadBalancing as eg.BackendTrafficPolicySpecLoadBalancerType },
        retry:
          retries.attempts === 0
            ? undefined
            : {
                numRetries: retries.attempts,
                perRetry: perRetryTimeout === undefined ? undefined : { timeout: perRetryTimeout },
                retryOn: { triggers: retries.retryOn as eg.BackendTrafficPolicySpecRetryRetryOnTriggers[] },
              },
        timeout: requestTimeout === undefined ? undefined : { http: { requestTimeout } },
        healthCheck: { passive: outlierEjection(consecutiveErrorsToEject) },
      },
    });
  }
}
