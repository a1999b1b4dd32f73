import type { Duration } from 'cdk8s';

/**
 * Retries of failed calls, in the terms of one data plane: `Condition` is what that data plane can retry on
 * (`IstioRetryCondition`, `EnvoyGatewayRetryCondition`, `LinkerdRetryCondition`).
 *
 * A retry sends the call again, to another pod where there is one. Only a failure where the call never reached the
 * application is safe to retry for any method: `connect-failure` (no connection), `refused-stream` (HTTP/2
 * REFUSED_STREAM: the server did not process the stream, RFC 9113 section 8.7), `reset-before-request` (reset before
 * the request was sent) and `envoy-ratelimited` (a proxy's rate limiter answered). Every other condition
 * (`unavailable`, `cancelled`, `reset`, `5xx`, `gateway-error`, `deadline-exceeded`, `internal`,
 * `resource-exhausted`, `retriable-status-codes`, `retriable-4xx`, `retriable-headers`, `http3-post-connect-failure`)
 * can follow a call that reached the application, which then runs it a second time: retry them only for methods
 * that may run twice (idempotent ones). `unavailable` and `cancelled` are in Istio's and Envoy Gateway's own
 * defaults, since a server that is going away answers UNAVAILABLE.
 */
export interface GrpcRetryPolicy<Condition extends string> {
  /**
   * Tries after the first; 0 turns retries off.
   * @default - the data plane's own: see the construct's `retries` prop
   */
  readonly attempts?: number;
  /**
   * Deadline of each try; the call's own gRPC deadline (and the route's timeout, if any) still bounds them all.
   * @default - none: each try may take the whole call's time
   */
  readonly perTryTimeout?: Duration;
  /**
   * When to retry (see above for which conditions can run a call twice).
   * @default - the data plane's own: see the construct's `retries` prop
   */
  readonly retryOn?: readonly Condition[];
}

/**
 * What Istio can retry on: the `retryOn` values its validation accepts, which are Envoy's `x-envoy-retry-on` and
 * `x-envoy-retry-grpc-on` conditions (istio 1.30.3 pkg/config/validation/validation.go supportedRetryOnPolicies).
 */
export const ISTIO_RETRY_CONDITIONS = [
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'envoy-ratelimited',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const;

/**
 * A condition Istio can retry on.
 * @useDeclaredType
 */
export type IstioRetryCondition = (typeof ISTIO_RETRY_CONDITIONS)[number];

/**
 * What Envoy Gateway can retry on: Istio's conditions but three, as the BackendTrafficPolicy CRD's
 * `retry.retryOn.triggers` enum lists them (envoyproxy/gateway v1.9.0 api/v1alpha1/retry_types.go TriggerEnum, in
 * upstream/crds/envoy-gateway-v1.9.0-backendtrafficpolicies.yaml; test/lib/envoy-gateway.test.ts compares the two).
 */
const NOT_ENVOY_GATEWAY = ['retriable-headers', 'envoy-ratelimited', 'http3-post-connect-failure'] as const;
export const ENVOY_GATEWAY_RETRY_CONDITIONS = ISTIO_RETRY_CONDITIONS.filter(
  (condition): condition is Exclude<IstioRetryCondition, (typeof NOT_ENVOY_GATEWAY)[number]> =>
    !(NOT_ENVOY_GATEWAY as readonly string[]).includes(condition),
);

/**
 * A condition Envoy Gateway can retry on.
 * @useDeclaredType
 */
export type EnvoyGatewayRetryCondition = (typeof ENVOY_GATEWAY_RETRY_CONDITIONS)[number];

/**
 * What Linkerd can retry a gRPC call on: the statuses its `retry.linkerd.io/grpc` annotation accepts (linkerd2
 * version-2.16 to version-2.20 policy-controller/k8s/index/src/outbound/index/grpc.rs parse_grpc_retry; any other
 * value fails the route).
 */
export const LINKERD_RETRY_CONDITIONS = [
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const;

/**
 * A gRPC status Linkerd can retry on.
 * @useDeclaredType
 */
export type LinkerdRetryCondition = (typeof LINKERD_RETRY_CONDITIONS)[number];

/**
 * Istio's own retry policy for a route that sets none: 2 retries on these conditions, no per-try timeout (istio
 * 1.30.3 pilot/pkg/networking/core/route/retry/retry.go defaultNumRetries, defaultRetryOn; istio/api v1.30.3
 * networking/v1alpha3/virtual_service.proto HTTPRetry). Envoy Gateway's, once a BackendTrafficPolicy has a `retry`,
 * is the same (envoyproxy/gateway v1.9.0 internal/xds/translator/route.go retryDefaultNumRetries,
 * retryDefaultRetryOn), plus HTTP 503 as a retriable status code, which a gRPC call's own failures never carry.
 */
export const DATA_PLANE_DEFAULT_RETRIES = {
  attempts: 2,
  retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
} as const satisfies GrpcRetryPolicy<IstioRetryCondition & EnvoyGatewayRetryCondition>;

/** Retries at an Istio gateway (a VirtualService route's `retries`), on Istio's conditions. */
export interface IstioRetryPolicy extends GrpcRetryPolicy<IstioRetryCondition> {
  /**
   * Tries after the first; 0 turns retries off.
   * @default 2 (Istio's own)
   */
  readonly attempts?: number;
  /**
   * When to retry.
   * @default ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'] (Istio's own)
   */
  readonly retryOn?: readonly IstioRetryCondition[];
}

/** Retries at an Envoy Gateway gateway (a BackendTrafficPolicy's `retry`), on Envoy Gateway's triggers. */
export interface EnvoyGatewayRetryPolicy extends GrpcRetryPolicy<EnvoyGatewayRetryCondition> {
  /**
   * Tries after the first; 0 turns retries off (no `retry` at all).
   * @default 2 (Envoy Gateway's own, once a policy has `retry`)
   */
  readonly attempts?: number;
  /**
   * When to retry.
   * @default ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'] (Envoy
   *   Gateway's own triggers)
   */
  readonly retryOn?: readonly EnvoyGatewayRetryCondition[];
}

/** Retries by a meshed client's Linkerd proxy (`retry.linkerd.io/*` annotations), on gRPC statuses. */
export interface LinkerdRetryPolicy extends GrpcRetryPolicy<LinkerdRetryCondition> {
  /**
   * Tries after the first (`retry.linkerd.io/limit`), from 1.
   * @default 1 (Linkerd's own)
   */
  readonly attempts?: number;
  /** The gRPC statuses to retry (`retry.linkerd.io/grpc`): Linkerd retries only those listed. */
  readonly retryOn: readonly LinkerdRetryCondition[];
}
