import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import * as gw from '../imports/gateway.networking.k8s.io';
import type { IGrpcBackend } from './grpc-backend';
import { dnsSubdomain, integerIn, invalidProp, milliseconds, type ValidationSubject } from './internal/validate';

/** The gRPC status codes Linkerd's `retry.linkerd.io/grpc` annotation accepts. */
const LINKERD_GRPC_RETRY_CONDITIONS = ['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'] as const;

export interface LinkerdGrpcPolicyProps {
  /** The backend whose calls the policy governs; meshed clients' proxies apply it to every call to its Service. */
  readonly backend: IGrpcBackend;
  /**
   * Name of the GRPCRoute.
   * @default backend.serviceName
   */
  readonly name?: string;
  /**
   * gRPC statuses a client's proxy retries. SayHello has no side effects, so retrying is safe; the default retries
   * what a pod that is going away answers.
   * @default ['cancelled', 'unavailable']
   */
  readonly retryOn?: ReadonlyArray<(typeof LINKERD_GRPC_RETRY_CONDITIONS)[number]>;
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
 * Linkerd's per-call policy for a gRPC backend: a Gateway API `GRPCRoute` whose parent is the backend's Service (an
 * outbound route, which meshed clients' proxies apply to every call to that Service), carrying Linkerd's retry and
 * timeout annotations (`retry.linkerd.io/grpc`, `retry.linkerd.io/limit`, `retry.linkerd.io/timeout`,
 * `timeout.linkerd.io/request`). Linkerd documents these annotations on a Service or on a GRPCRoute whose parent is a
 * Service, the route's overriding the Service's (https://linkerd.io/2/reference/retries,
 * https://linkerd.io/2/reference/timeouts). The balancing itself needs no resource: a meshed client's proxy resolves
 * the ClusterIP Service to its endpoints and balances each HTTP/2 request over them (EWMA).
 */
export class LinkerdGrpcPolicy extends Construct {
  /** Linkerd's annotations on the route. */
  readonly annotations: Readonly<Record<string, string>>;
  readonly route: gw.GrpcRoute;

  constructor(scope: Construct, id: string, props: LinkerdGrpcPolicyProps) {
    super(scope, id);
    const subject: ValidationSubject = { construct: 'LinkerdGrpcPolicy', id };
    const { backend } = props;
    const name = dnsSubdomain(subject, 'name', props.name ?? backend.serviceName);
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
    const service = { group: '', kind: 'Service', name: backend.serviceName, port: backend.port };
    this.route = new gw.GrpcRoute(this, 'Resource', {
      metadata: { name, namespace: backend.namespace.name, annotations: { ...this.annotations } },
      spec: {
        // A Service parent makes this an outbound (GAMMA) route: it applies to calls to the Service, from any client.
        parentRefs: [service],
        rules: [{ backendRefs: [service] }],
      },
    });
  }
}
