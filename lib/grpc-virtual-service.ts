import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import * as istio from '../imports/networking.istio.io';
import type { GreeterApp } from './greeter-app';
import type { IstioIlbGateway } from './istio-ilb-gateway';
import { dnsLabel, integerIn, invalidProp, istioDuration, milliseconds, oneOf, type ValidationSubject } from './validate';

/** How the gateway's Envoy picks a pod for each call (`DestinationRule.trafficPolicy.loadBalancer.simple`). */
export type GrpcLoadBalancer = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'LEAST_CONN' | 'RANDOM' | 'PASSTHROUGH';
const LOAD_BALANCERS: readonly GrpcLoadBalancer[] = ['ROUND_ROBIN', 'LEAST_REQUEST', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH'];

/** Conditions Istio (Envoy) can retry on: its HTTP ones and the gRPC status names. */
export const RETRY_CONDITIONS = [
  '5xx', 'gateway-error', 'reset', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx', 'refused-stream',
  'retriable-status-codes', 'retriable-headers',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
] as const;
export type RetryCondition = (typeof RETRY_CONDITIONS)[number];

export interface GrpcRetryPolicy {
  /**
   * Tries after the first.
   * @default 3
   */
  readonly attempts?: number;
  /**
   * Deadline of each try; the call's own gRPC deadline still bounds them all.
   * @default Duration.seconds(2)
   */
  readonly perTryTimeout?: Duration;
  /**
   * When to retry. The defaults are the failures where the call never reached the application or the server said
   * it is going away (a draining pod answers UNAVAILABLE), so retrying SayHello cannot run it twice to harm.
   * @default ['connect-failure', 'refused-stream', 'reset', 'unavailable', 'cancelled']
   */
  readonly retryOn?: RetryCondition[];
}

export interface GrpcVirtualServiceProps {
  /** The app to route to: its Service is the destination and the DestinationRule's host. */
  readonly app: GreeterApp;
  /** The gateway whose host and Gateway resource the route binds to. */
  readonly gateway: IstioIlbGateway;
  /**
   * Name of the VirtualService and DestinationRule.
   * @default - the app's name
   */
  readonly name?: string;
  /**
   * Load-balancing policy over the app's pods.
   * @default 'ROUND_ROBIN'
   */
  readonly loadBalancer?: GrpcLoadBalancer;
  /**
   * Retries of failed calls.
   * @default - see `GrpcRetryPolicy`
   */
  readonly retries?: GrpcRetryPolicy;
  /**
   * Concurrent requests the gateway sends to the app (`connectionPool.http.http2MaxRequests`); more queue or fail
   * fast with UNAVAILABLE instead of overloading the pods.
   * @default 1000
   */
  readonly maxConcurrentRequests?: number;
  /**
   * Consecutive gateway errors (UNAVAILABLE, connection failures) after which a pod is ejected for a while.
   * @default 5
   */
  readonly consecutiveErrorsToEject?: number;
}

/**
 * Routes the gateway's host to a GreeterApp: a VirtualService bound to the Gateway, with retries, and a
 * DestinationRule that balances each call (not each connection) over the pods, with a connection pool,
 * outlier detection and Istio mutual TLS to the sidecars.
 */
export class GrpcVirtualService extends Construct {
  readonly virtualService: istio.VirtualService;
  readonly destinationRule: istio.DestinationRule;

  constructor(scope: Construct, id: string, props: GrpcVirtualServiceProps) {
    super(scope, id);
    const subject: ValidationSubject = { construct: 'GrpcVirtualService', id };
    const { app, gateway } = props;
    const name = dnsLabel(subject, 'name', props.name ?? app.name);
    const loadBalancer = oneOf(subject, 'loadBalancer', props.loadBalancer ?? 'ROUND_ROBIN', LOAD_BALANCERS);
    const attempts = integerIn(subject, 'retries.attempts', props.retries?.attempts ?? 3, 0, 10);
    const perTryTimeoutMs = milliseconds(subject, 'retries.perTryTimeout', props.retries?.perTryTimeout ?? Duration.seconds(2), 1);
    const retryOn = props.retries?.retryOn ?? ['connect-failure', 'refused-stream', 'reset', 'unavailable', 'cancelled'];
    if (retryOn.length === 0) throw invalidProp(subject, 'retries.retryOn', retryOn, `a non-empty list of ${RETRY_CONDITIONS.join(', ')}`);
    retryOn.forEach((condition, i) => oneOf(subject, `retries.retryOn[${i}]`, condition, RETRY_CONDITIONS));
    const maxConcurrentRequests = integerIn(subject, 'maxConcurrentRequests', props.maxConcurrentRequests ?? 1000, 1);
    const consecutiveErrorsToEject = integerIn(subject, 'consecutiveErrorsToEject', props.consecutiveErrorsToEject ?? 5, 1);
    const metadata = { name, namespace: app.namespace.name };

    this.virtualService = new istio.VirtualService(this, 'VirtualService', {
      metadata,
      spec: {
        hosts: [gateway.host],
        gateways: [gateway.gatewayRef],
        http: [{
          name: name,
          // The app's own services only: a call to any other path (health, reflection) matches no route and the
          // gateway answers it 404, which gRPC clients see as UNIMPLEMENTED.
          match: app.grpcServices.map((service) => ({ uri: { prefix: `/${service}/` } })),
          route: [{ destination: { host: app.serviceHost, port: { number: app.port } } }],
          retries: attempts === 0 ? { attempts: 0 } : { attempts, perTryTimeout: istioDuration(perTryTimeoutMs), retryOn: retryOn.join(',') },
        }],
      },
    });

    this.destinationRule = new istio.DestinationRule(this, 'DestinationRule', {
      metadata,
      spec: {
        host: app.serviceHost,
        trafficPolicy: {
          loadBalancer: { simple: loadBalancer as istio.DestinationRuleSpecTrafficPolicyLoadBalancerSimple },
          connectionPool: {
            tcp: { connectTimeout: '1s' },
            http: { http2MaxRequests: maxConcurrentRequests },
          },
          // Eject a pod that keeps failing, for 30 s at first, but never more than half of them: with few replicas a
          // burst of errors must not empty the pool.
          outlierDetection: {
            consecutiveGatewayErrors: consecutiveErrorsToEject,
            interval: '10s',
            baseEjectionTime: '30s',
            maxEjectionPercent: 50,
          },
          tls: { mode: istio.DestinationRuleSpecTrafficPolicyTlsMode.ISTIO_UNDERSCORE_MUTUAL },
        },
      },
    });
  }
}
