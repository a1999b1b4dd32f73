import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import * as eg from './imports/gateway.envoyproxy.io';
import { GATEWAY_API_GROUP } from './grpc-gateway';
import type { GrpcRoute } from './grpc-route';
import type { GrpcRetryPolicy } from './grpc-virtual-service';
import { grpcRetries, outlierEjection } from './internal/call-policy';
import {
  dnsSubdomain,
  gatewayApiDuration,
  integerIn,
  invalidProp,
  milliseconds,
  oneOf,
  type ValidationSubject,
} from './internal/validate';

const LOAD_BALANCER_TYPES = ['RoundRobin', 'LeastRequest', 'Random'] as const;

/** The retry triggers Envoy Gateway v1.9.0 accepts (BackendTrafficPolicy `retry.retryOn.triggers`). */
const RETRY_TRIGGERS = Object.values(eg.BackendTrafficPolicySpecRetryRetryOnTriggers);

export interface EnvoyGatewayGrpcPolicyProps {
  /** The route whose calls the policy governs: the BackendTrafficPolicy targets it, in its namespace. */
  readonly route: GrpcRoute;
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
   * Retries of failed calls. Envoy Gateway's triggers are Istio's less `envoy-ratelimited` and `retriable-headers`,
   * plus `reset-before-request`.
   * @default - see `GrpcRetryPolicy`
   */
  readonly retries?: GrpcRetryPolicy;
  /**
   * Time a whole call may take, retries included (`timeout.http.requestTimeout`).
   * @default Duration.seconds(10)
   */
  readonly requestTimeout?: Duration;
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
  readonly policy: eg.BackendTrafficPolicy;

  constructor(scope: Construct, id: string, props: EnvoyGatewayGrpcPolicyProps) {
    super(scope, id);
    const subject: ValidationSubject = { construct: 'EnvoyGatewayGrpcPolicy', id };
    const { route } = props;
    const name = dnsSubdomain(subject, 'name', props.name ?? route.name);
    const loadBalancing = oneOf(subject, 'loadBalancing', props.loadBalancing ?? 'RoundRobin', LOAD_BALANCER_TYPES);
    const {
      attempts,
      perTryTimeoutMs: perTryMs,
      retryOn: triggers,
    } = grpcRetries(subject, props.retries, RETRY_TRIGGERS);
    const requestMs = milliseconds(subject, 'requestTimeout', props.requestTimeout ?? Duration.seconds(10), 1);
    if (attempts > 0 && requestMs < perTryMs)
      throw invalidProp(
        subject,
        'requestTimeout',
        `${requestMs} ms`,
        `at least retries.perTryTimeout (${perTryMs} ms)`,
      );
    const consecutiveErrorsToEject = integerIn(
      subject,
      'consecutiveErrorsToEject',
      props.consecutiveErrorsToEject ?? 5,
      1,
    );
    const perRetryTimeout = gatewayApiDuration(subject, 'retries.perTryTimeout', perTryMs);
    const requestTimeout = gatewayApiDuration(subject, 'requestTimeout', requestMs);

    this.policy = new eg.BackendTrafficPolicy(this, 'Resource', {
      metadata: { name, namespace: route.namespace.name },
      spec: {
        // A policy attaches to a route in its own namespace, by name.
        targetRefs: [{ group: GATEWAY_API_GROUP, kind: route.route.kind, name: route.name }],
        loadBalancer: { type: loadBalancing as eg.BackendTrafficPolicySpecLoadBalancerType },
        retry:
          attempts === 0
            ? undefined
            : {
                numRetries: attempts,
                perRetry: { timeout: perRetryTimeout },
                retryOn: { triggers },
              },
        timeout: { http: { requestTimeout } },
        healthCheck: { passive: outlierEjection(consecutiveErrorsToEject) },
      },
    });
  }
}
