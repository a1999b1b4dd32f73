import { integerIn, type ValidationSubject } from './internal/validate';

/**
 * What a client of an endpoint should set so that its calls outlive pods coming and going (a rollout, a scale-down),
 * in any language: the parts of its gRPC service config that matter
 * (https://github.com/grpc/grpc/blob/master/doc/service_config.md) and, for a `dns:` target, how often it may resolve
 * the name again. docs/strategies.md shows the service config JSON for grpc-go, grpc-java and grpc-js.
 */
export interface GrpcClientPolicy {
  /**
   * Attempts per call, the first included (the service config's `retryPolicy.maxAttempts`, gRFC A6). A call that
   * fails UNAVAILABLE before any response header came back (a connection refused, a pod's GOAWAY, a proxy that found
   * no pod) is sent again, to the next pod; a call the server has answered is never resent (A6: it is committed).
   */
  readonly maxAttempts: number;
  /**
   * Calls wait, within their deadline, for a connection instead of failing at once while no pod is reachable (the
   * service config's `waitForReady`; grpc-js reads it only per call, from the call's metadata options).
   */
  readonly waitForReady: boolean;
  /**
   * For a `dns:` target: the shortest time between two resolutions of the name, in milliseconds (grpc-js
   * `grpc.dns_min_time_between_resolutions_ms`). A client resolves again when a connection closes, so a pod's
   * GOAWAY (its drain, its max connection age) is when it learns of new pods, if this much time has passed.
   * @default - the gRPC library's own: 30 s in grpc-js and grpc-go
   */
  readonly minTimeBetweenResolutionsMs?: number;
}

/** What a client of an endpoint without a policy of its own should use. */
export const DEFAULT_GRPC_CLIENT_POLICY: GrpcClientPolicy = { maxAttempts: 3, waitForReady: true };

/** An endpoint's policy: the default with its `maxAttempts` prop, checked (1 to 5: gRFC A6 caps it at 5). */
export function endpointClientPolicy(
  subject: ValidationSubject,
  maxAttempts: number | undefined,
  minTimeBetweenResolutionsMs?: number,
): GrpcClientPolicy {
  return {
    ...DEFAULT_GRPC_CLIENT_POLICY,
    maxAttempts: integerIn(subject, 'maxAttempts', maxAttempts ?? DEFAULT_GRPC_CLIENT_POLICY.maxAttempts, 1, 5),
    ...(minTimeBetweenResolutionsMs !== undefined && { minTimeBetweenResolutionsMs }),
  };
}
