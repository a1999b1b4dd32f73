import { ApiObject, type Duration } from 'cdk8s';
import { Construct } from 'constructs';
import * as istio from './imports/networking.istio.io';
import type { IGrpcBackend } from './grpc-backend';
import { DATA_PLANE_DEFAULT_RETRIES, ISTIO_RETRY_CONDITIONS, type IstioRetryPolicy } from './grpc-retry-policy';
import { callTimeout, grpcRetries, outlierEjection } from './internal/call-policy';
import { hasIstioSidecar } from './internal/backend';
import { serviceDnsName } from './internal/names';
import {
  dnsLabel,
  hostName,
  integerIn,
  invalidProp,
  istioDuration,
  listOf,
  oneOf,
  protoServiceNames,
  subjectOf,
} from './internal/validate';
import type { IIstioGateway } from './istio-ilb-gateway';

const ALGORITHMS = ['ROUND_ROBIN', 'LEAST_REQUEST', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH'] as const;

export interface GrpcVirtualServiceProps {
  /** Where the calls go: its Service is the destination and the DestinationRule's host. */
  readonly backend: IGrpcBackend;
  /** The gateway the route binds to: an `IstioIlbGateway`, or one the platform runs (`IstioIlbGateway.fromGatewayAttributes`). */
  readonly gateway: IIstioGateway;
  /**
   * Hosts the route serves, each one the gateway accepts. A gateway's wildcard (`*`, `*.example.com`) is shared by
   * every team that routes through it, so it is never claimed by default.
   * @default - the gateway's hosts, when each is a single name; required when the gateway accepts a wildcard
   */
  readonly hosts?: readonly string[];
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
   * Retries of failed calls (`http[].retries`). `unavailable` and `cancelled`, in the default, can run a call that
   * reached the application twice: see `GrpcRetryPolicy` for which conditions can.
   * @default - Istio's own: 2 retries on `connect-failure`, `refused-stream`, `unavailable`, `cancelled`,
   *   `retriable-status-codes`, with no per-try timeout
   */
  readonly retries?: IstioRetryPolicy;
  /**
   * Time a whole call may take at the gateway, retries included (`http[].timeout`).
   * @default - none (Istio's default): the call's own gRPC deadline bounds it
   */
  readonly timeout?: Duration;
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
 * Routes hosts of an Istio gateway to a gRPC backend: a VirtualService bound to the Gateway, with Istio's retries
 * unless told otherwise, and a DestinationRule that balances each call (not each connection) over the pods, with a
 * connection pool, outlier detection and, to pods with an Istio sidecar, Istio mutual TLS.
 */
export class GrpcVirtualService extends Construct {
  readonly virtualService: ApiObject;
  readonly destinationRule: ApiObject;
  /** The hosts the route serves. */
  readonly hosts: readonly string[];

  constructor(scope: Construct, id: string, props: GrpcVirtualServiceProps) {
    super(scope, id);
    const subject = subjectOf(this);
    const { backend, gateway } = props;
    this.hosts = routeHosts(subject, props.hosts, gateway);
    const grpcServices = protoServiceNames(subject, 'grpcServices', props.grpcServices ?? [], 0);
    const name = dnsLabel(subject, 'name', props.name ?? backend.serviceName);
    const algorithm = oneOf(
      subject,
      'loadBalancingAlgorithm',
      props.loadBalancingAlgorithm ?? 'ROUND_ROBIN',
      ALGORITHMS,
    );
    const retries = grpcRetries(subject, 'retries', props.retries, DATA_PLANE_DEFAULT_RETRIES, ISTIO_RETRY_CONDITIONS);
    const timeoutMs = callTimeout(subject, 'timeout', props.timeout, retries.perTryTimeoutMs, 'retries.perTryTimeout');
    const maxConcurrentRequests = integerIn(subject, 'maxConcurrentRequests', props.maxConcurrentRequests ?? 1000, 1);
    const consecutiveErrorsToEject = integerIn(
      subject,
      'consecutiveErrorsToEject',
      props.consecutiveErrorsToEject ?? 5,
      1,
    );
    const metadata = { name, namespace: backend.namespace.name };
    const host = serviceDnsName(backend.serviceName, backend.namespace);

    this.virtualService = new istio.VirtualService(this, 'VirtualService', {
      metadata,
      spec: {
        hosts: [...this.hosts],
        gateways: [gateway.gatewayRef],
        http: [
          {
            name: name,
            match:
              grpcServices.length === 0
                ? undefined
                : grpcServices.map((service) => ({ uri: { prefix: `/${service}/` } })),
            route: [{ destination: { host, port: { number: backend.port } } }],
            timeout: timeoutMs === undefined ? undefined : istioDuration(timeoutMs),
            retries:
              retries.attempts === 0
                ? { attempts: 0 }
                : {
                    attempts: retries.attempts,
                    perTryTimeout:
                      retries.perTryTimeoutMs === undefined ? undefined : istioDuration(retries.perTryTimeoutMs),
                    retryOn: retries.retryOn.join(','),
                  },
          },
        ],
      },
    });

    this.destinationRule = new istio.DestinationRule(this, 'DestinationRule', {
      metadata,
      spec: {
        host,
        trafficPolicy: {
          loadBalancer: { simple: algorithm as istio.DestinationRuleSpecTrafficPolicyLoadBalancerSimple },
          connectionPool: {
            tcp: { connectTimeout: '1s' },
            http: { http2MaxRequests: maxConcurrentRequests },
          },
          outlierDetection: outlierEjection(consecutiveErrorsToEject),
          // ISTIO_MUTUAL "uses certificates generated automatically by Istio" (istio/api v1.30.3
          // networking/v1alpha3/destination_rule.proto ClientTLSSettings): only an Istio sidecar terminates it. Pods
          // without one (mesh `none`, Linkerd, proxyless gRPC) get DISABLE, "do not setup a TLS connection".
          tls: {
            mode: hasIstioSidecar(backend)
              ? istio.DestinationRuleSpecTrafficPolicyTlsMode.ISTIO_UNDERSCORE_MUTUAL
              : istio.DestinationRuleSpecTrafficPolicyTlsMode.DISABLE,
          },
        },
      },
    });
  }
}

/** Whether an Istio Gateway's host (`*`, `*.example.com` or a name) accepts a route's host. */
function accepts(gatewayHost: string, host: string): boolean {
  if (gatewayHost === '*' || gatewayHost === host) return true;
  return gatewayHost.startsWith('*.') && host.endsWith(gatewayHost.slice(1));
}

/** The route's hosts: given ones, each accepted by the gateway, or the gateway's own when none is a wildcard. */
function routeHosts(
  subject: ReturnType<typeof subjectOf>,
  hosts: readonly string[] | undefined,
  gateway: IIstioGateway,
): string[] {
  if (hosts === undefined) {
    if (gateway.hosts.some((host) => host.includes('*'))) {
      throw invalidProp(
        subject,
        'hosts',
        hosts,
        `the hosts this route serves: gateway ${gateway.gatewayRef} accepts ${gateway.hosts.join(', ')}, a wildcard other routes share`,
      );
    }
    return [...gateway.hosts];
  }
  if (!Array.isArray(hosts) || hosts.length === 0) throw invalidProp(subject, 'hosts', hosts, 'a non-empty list');
  return listOf(subject, 'hosts', hosts, (host, prop) => {
    hostName(subject, prop, host);
    if (!gateway.hosts.some((gatewayHost) => accepts(gatewayHost, host)))
      throw invalidProp(
        subject,
        prop,
        host,
        `a host gateway ${gateway.gatewayRef} accepts (${gateway.hosts.join(', ')})`,
      );
    return host;
  });
}
