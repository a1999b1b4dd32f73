/**
 * What the per-call policies share (Istio's `GrpcVirtualService`, Envoy Gateway's `EnvoyGatewayGrpcPolicy`,
 * `LinkerdGrpcPolicy`): the retry and timeout checks, and the ejection of a failing pod.
 */
import type { Duration } from 'cdk8s';
import type { GrpcRetryPolicy } from '../grpc-retry-policy';
import { integerIn, invalidProp, milliseconds, oneOf, type ValidationSubject } from './validate';

/** A retry policy, checked, with the data plane's defaults filled in; `perTryTimeoutMs` only where asked for. */
export interface CheckedRetries<Condition extends string> {
  readonly attempts: number;
  readonly perTryTimeoutMs?: number;
  readonly retryOn: Condition[];
}

/**
 * A retry policy checked against the data plane's conditions, each field defaulting to the data plane's own.
 * `maxAttempts` bounds the tries after the first.
 */
export function grpcRetries<Condition extends string>(
  subject: ValidationSubject,
  prop: string,
  retries: GrpcRetryPolicy<Condition> | undefined,
  defaults: { readonly attempts: number; readonly retryOn?: readonly Condition[] },
  conditions: readonly Condition[],
): CheckedRetries<Condition> {
  if (retries !== undefined && (typeof retries !== 'object' || retries === null))
    throw invalidProp(subject, prop, retries, 'a retry policy ({ attempts, perTryTimeout, retryOn })');
  const attempts = integerIn(subject, `${prop}.attempts`, retries?.attempts ?? defaults.attempts, 0, 10);
  const perTryTimeoutMs =
    retries?.perTryTimeout === undefined
      ? undefined
      : milliseconds(subject, `${prop}.perTryTimeout`, retries.perTryTimeout, 1);
  const retryOn: readonly Condition[] | undefined = retries?.retryOn ?? defaults.retryOn;
  if (!Array.isArray(retryOn) || retryOn.length === 0)
    throw invalidProp(subject, `${prop}.retryOn`, retryOn, `a non-empty list of ${conditions.join(', ')}`);
  return {
    attempts,
    perTryTimeoutMs,
    retryOn: retryOn.map((condition, i) => oneOf(subject, `${prop}.retryOn[${i}]`, condition, conditions)),
  };
}

/**
 * A whole call's timeout, checked: at least each try's, when both are set.
 * @returns undefined when none is asked for: the call's own gRPC deadline bounds it.
 */
export function callTimeout(
  subject: ValidationSubject,
  prop: string,
  timeout: Duration | undefined,
  perTryTimeoutMs: number | undefined,
  perTryProp: string,
): number | undefined {
  if (timeout === undefined) return undefined;
  const ms = milliseconds(subject, prop, timeout, 1);
  if (perTryTimeoutMs !== undefined && ms < perTryTimeoutMs)
    throw invalidProp(subject, prop, `${ms} ms`, `at least ${perTryProp} (${perTryTimeoutMs} ms)`);
  return ms;
}

/**
 * Outlier detection: eject a pod after `consecutiveGatewayErrors` gateway errors (UNAVAILABLE, connection failures),
 * for 30 s at first, but never more than half of them: with few replicas a burst of errors must not empty the pool.
 * Istio's DestinationRule and Envoy Gateway's passive health check name the fields alike.
 */
export function outlierEjection(consecutiveGatewayErrors: number) {
  return { consecutiveGatewayErrors, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 };
}
