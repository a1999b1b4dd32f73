/**
 * What the per-call policies of the Envoy-based front doors share (Istio's `GrpcVirtualService`, Envoy Gateway's
 * `EnvoyGatewayGrpcPolicy`): the retry defaults and their checks, and the ejection of a failing pod.
 */
import { Duration } from 'cdk8s';
import type { GrpcRetryPolicy } from '../grpc-virtual-service';
import { integerIn, invalidProp, milliseconds, oneOf, type ValidationSubject } from './validate';

/**
 * The failures where the call never reached the application or the server said it is going away (a draining pod
 * answers UNAVAILABLE), so retrying SayHello cannot run it twice to harm.
 */
const DEFAULT_RETRY_ON = ['connect-failure', 'refused-stream', 'reset', 'unavailable', 'cancelled'] as const;

/** A retry policy, checked, with its defaults: 3 tries after the first, 2 s each, on `DEFAULT_RETRY_ON`. */
export function grpcRetries<Condition extends string>(
  subject: ValidationSubject,
  retries: GrpcRetryPolicy | undefined,
  conditions: readonly Condition[],
) {
  const attempts = integerIn(subject, 'retries.attempts', retries?.attempts ?? 3, 0, 10);
  const perTryTimeoutMs = milliseconds(
    subject,
    'retries.perTryTimeout',
    retries?.perTryTimeout ?? Duration.seconds(2),
    1,
  );
  const retryOn: readonly string[] = retries?.retryOn ?? DEFAULT_RETRY_ON;
  if (!Array.isArray(retryOn) || retryOn.length === 0)
    throw invalidProp(subject, 'retries.retryOn', retryOn, `a non-empty list of ${conditions.join(', ')}`);
  return {
    attempts,
    perTryTimeoutMs,
    retryOn: retryOn.map((condition, i) => oneOf(subject, `retries.retryOn[${i}]`, condition as Condition, conditions)),
  };
}

/**
 * Outlier detection: eject a pod after `consecutiveGatewayErrors` gateway errors (UNAVAILABLE, connection failures),
 * for 30 s at first, but never more than half of them: with few replicas a burst of errors must not empty the pool.
 * Istio's DestinationRule and Envoy Gateway's passive health check name the fields alike.
 */
export function outlierEjection(consecutiveGatewayErrors: number) {
  return { consecutiveGatewayErrors, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 };
}
