import type { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import * as istio from './imports/networking.istio.io';
import type { IGrpcBackend } from './grpc-backend';
import { serviceDnsName } from './internal/names';
import type { IstioIlbGateway } from './istio-ilb-gateway';
import { grpcRetries, outlierEjection } from './internal/call-policy';
import {
  dnsLabel,
  integerIn,
  istioDuration,
  oneOf,
  protoServiceNames,
  type ValidationSubject,
} from './internal/validate';

const ALGORITHMS = ['ROUND_ROBIN', 'LEAST_REQUEST', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH'] as const;

/** Conditions Istio (Envoy) can retry on: its HTTP ones and the gRPC status names. */
const RETRY_CONDITIONS = [
  '5xx',
  'gateway-error',
  'reset',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const;

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
  readonly retryOn?: ReadonlyArray<(typeof RETRY_CONDITIONS)[number]>;
}

export interface GrpcVirtualServiceProps {
  /** Where the calls go: its Service is the destination and the DestinationRule's host. */
  readonly backend: IGrpcBackend;
  /** The gateway whose host and Gateway resource the route binds to. */
  readonly gateway: IstioIlbGateway;
  /**
   * Name of the VirtualService and DestinationRule.
   * @default - the backend's Service name
   */
  readonly name?: string;
  /**
   * How the gateway's Envoy picks a pod for each call (`DestinationRule.trafficPolicy.loadBalancer.simple`).
   * @default 'ROUND_ROBIN'
   */
  readonly loadBalancingAlgorithm?: 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'LEAST_CONN' | 'RANDOM' | 'PASSTHROUGH';
  /**
   * Fully qualified gRPC services the route matches (`helloworld.Greeter`), by path prefix; a call to any other path
   * (health, reflection) matches no route and the gateway answers it 404, which gRPC clients see as UNIMPLEMENTED.
   * An empty list matches every path.
   * @default [] (every service)
   */
  readonly grpcServices?: readonly string[];
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
 * Routes the gateway's host to a gRPC backend: a VirtualService bound to the Gateway, with retries, and a
 * DestinationRule that balances each call (not each connection) over the pods, with a connection pool,
 * outlier detection and Istio mutual TLS to the sidecars.
 */
export class GrpcVirtualService extends Construct {
  readonly virtualService: istio.VirtualService;
  readonly destinationRule: istio.DestinationRule;

  constructor(scope: Construct, id: string, props: GrpcVirtualServiceProps) {
    super(scope, id);
    const subject: ValidationSubject = { construct: 'GrpcVirtualService', id };
    const { backend, gateway } = props;
    const grpcServices = protoServiceNames(subject, 'grpcServices', props.grpcServices ?? [], 0);
    const name = dnsLabel(subject, 'name', props.name ?? backend.serviceName);
    const algorithm = oneOf(
      subject,
      'loadBalancingAlgorithm',
      props.loadBalancingAlgorithm ?? 'ROUND_ROBIN',
      ALGORITHMS,
    );
    const { attempts, perTryTimeoutMs, retryOn } = grpcRetries(subject, props.retries, RETRY_CONDITIONS);
    const maxConcurrentRequests = integerIn(subject, 'maxConcurrentRequests', props.maxConcurrentRequests ?? 1000, 1);
    const consecutiveErrorsToEject = integerIn(
      subject,
      'consecutiveErrorsToEject',
      props.consecutiveErrorsToEject ?? 5,
      1,
    );
    const metadata = { name, namespace: backend.namespace.name };

    this.virtualService = new istio.VirtualService(this, 'VirtualService', {
      metadata,
      spec: {
        hosts: [gateway.host],
        gateways: [gateway.gatewayRef],
        http: [
          {
            name: name,
            match:
              grpcServices.length === 0
                ? undefined
                : grpcServices.map((service) => ({ uri: { prefix: `/${service}/` } })),
            route: [
              {
                destination: {
                  host: serviceDnsName(backend.serviceName, backend.namespace),
                  port: { number: backend.port },
                },
              },
            ],
            retries:
              attempts === 0
                ? { attempts: 0 }
                : { attempts, perTryTimeout: istioDuration(perTryTimeoutMs), retryOn: retryOn.join(',') },
          },
        ],
      },
    });

    this.destinationRule = new istio.DestinationRule(this, 'DestinationRule', {
      metadata,
      spec: {
        host: serviceDnsName(backend.serviceName, backend.namespace),
        trafficPolicy: {
          loadBalancer: { simple: algorithm as istio.DestinationRuleSpecTrafficPolicyLoadBalancerSimple },
          connectionPool: {
            tcp: { connectTimeout: '1s' },
            http: { http2MaxRequests: maxConcurrentRequests },
          },
          outlierDetection: outlierEjection(consecutiveErrorsToEject),
          tls: { mode: istio.DestinationRuleSpecTrafficPolicyTlsMode.ISTIO_UNDERSCORE_MUTUAL },
        },
      },
    });
  }
}
