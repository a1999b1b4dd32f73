import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import type { GreeterApp } from '../greeter-app';
import { clientChart, greeterCharts, type Strategy } from '../strategy';
import { integerIn, invalidProp, milliseconds, type ValidationSubject } from '../validate';

/** The gRPC status codes Linkerd's `retry.linkerd.io/grpc` annotation accepts. */
export type LinkerdGrpcRetryCondition = 'cancelled' | 'deadline-exceeded' | 'internal' | 'resource-exhausted' | 'unavailable';
export const LINKERD_GRPC_RETRY_CONDITIONS: readonly LinkerdGrpcRetryCondition[] = ['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'];

export interface LinkerdGrpcPolicyProps {
  /** The greeter whose Service the policy annotates; Linkerd clients' proxies apply it to every call to it. */
  readonly app: GreeterApp;
  /**
   * gRPC statuses a client's proxy retries. SayHello has no side effects, so retrying is safe; the default retries
   * what a pod that is going away answers.
   * @default ['cancelled', 'unavailable']
   */
  readonly retryOn?: readonly LinkerdGrpcRetryCondition[];
  /**
   * Retries per call (Linkerd's `retry.linkerd.io/limit`).
   * @default 2
   */
  readonly retryLimit?: number;
  /**
   * Time each attempt may take before the proxy retries it (`retry.linkerd.io/timeout`).
   * @default Duration.seconds(2)
   */
  readonly perTryTimeout?: Duration;
  /**
   * Time a whole call may take, retries included (`timeout.linkerd.io/request`).
   * @default Duration.seconds(10)
   */
  readonly requestTimeout?: Duration;
}

/**
 * Linkerd's per-call policy for the greeter, as Linkerd 2.16+ documents it for gRPC: annotations on the Service
 * (`retry.linkerd.io/grpc`, `retry.linkerd.io/limit`, `retry.linkerd.io/timeout`, `timeout.linkerd.io/request`). The
 * balancing itself needs no resource: a meshed client's proxy resolves the ClusterIP Service to its endpoints and
 * balances each HTTP/2 request over them (EWMA). Annotations are used rather than a ServiceProfile, which would
 * override them.
 */
export class LinkerdGrpcPolicy extends Construct {
  /** The annotations set on the app's Service. */
  readonly annotations: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: LinkerdGrpcPolicyProps) {
    super(scope, id);
    const subject: ValidationSubject = { construct: 'LinkerdGrpcPolicy', id };
    const retryOn = props.retryOn ?? ['cancelled', 'unavailable'];
    if (!Array.isArray(retryOn) || retryOn.length === 0) {
      throw invalidProp(subject, 'retryOn', retryOn, `a non-empty list of ${LINKERD_GRPC_RETRY_CONDITIONS.join(', ')}`);
    }
    retryOn.forEach((condition, index) => {
      if (!LINKERD_GRPC_RETRY_CONDITIONS.includes(condition)) {
        throw invalidProp(subject, `retryOn[${index}]`, condition, `one of ${LINKERD_GRPC_RETRY_CONDITIONS.map((c) => JSON.stringify(c)).join(', ')}`);
      }
    });
    const retryLimit = integerIn(subject, 'retryLimit', props.retryLimit ?? 2, 1, 10);
    const perTryMs = milliseconds(subject, 'perTryTimeout', props.perTryTimeout ?? Duration.seconds(2), 1);
    const requestMs = milliseconds(subject, 'requestTimeout', props.requestTimeout ?? Duration.seconds(10), 1);
    if (requestMs < perTryMs) throw invalidProp(subject, 'requestTimeout', `${requestMs} ms`, `at least perTryTimeout (${perTryMs} ms)`);

    this.annotations = {
      'retry.linkerd.io/grpc': retryOn.join(','),
      'retry.linkerd.io/limit': String(retryLimit),
      'retry.linkerd.io/timeout': `${perTryMs}ms`,
      'timeout.linkerd.io/request': `${requestMs}ms`,
    };
    for (const [key, value] of Object.entries(this.annotations)) props.app.service.metadata.addAnnotation(key, value);
  }
}

/** Linkerd's proxies in the app's namespace (client and server) balance each call; retries by Service annotations. */
export const linkerdStrategy: Strategy = {
  name: 'linkerd',
  summary: "Linkerd's sidecar proxy in the client balances each call over the ClusterIP Service's endpoints",
  render(app, env) {
    const { namespaceChart, greeterChart, greeter } = greeterCharts(app, env, { mesh: 'linkerd' });
    // The policy annotates the greeter's Service, so it lives in the greeter's chart and file.
    new LinkerdGrpcPolicy(greeterChart, 'linkerd-policy', { app: greeter });
    clientChart(app, env, greeter, [namespaceChart, greeterChart]);
    return {};
  },
};

