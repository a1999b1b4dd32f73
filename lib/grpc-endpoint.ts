import type { GrpcClientPolicy } from './grpc-client-policy';
import type { INamespace } from './namespace';

/**
 * Something a gRPC client can call: a gateway, an ingress, a Service. Each load-balancing strategy's front door
 * implements it, so a client workload dials any of them without repeating a host, port or Secret name.
 */
export interface IGrpcEndpoint {
  /** The grpc-js target the client dials, such as `grpc-gateway.istio-system.svc.cluster.local:443`. */
  readonly grpcTarget: string;
  /** What the client must balance itself: `round_robin` where the target resolves to every pod. */
  readonly loadBalancingPolicy: 'pick_first' | 'round_robin';
  /**
   * TLS the endpoint terminates; absent where the client speaks plaintext (a mesh adds mTLS underneath).
   * @default - plaintext
   */
  readonly tls?: {
    /** Name the client verifies in the certificate and sends as `:authority`, such as `grpc.example.com`. */
    readonly serverName: string;
    /** The `kubernetes.io/tls` Secret whose `tls.crt` the client trusts (self-signed: the certificate is its own CA). */
    readonly secretName: string;
  };
  /** Where a client of this endpoint runs by default: where the TLS Secret (if any) is readable. */
  readonly clientNamespace: INamespace;
  /**
   * The ServiceAccount a client must run as, with its API token mounted, when the client itself reads the
   * Kubernetes API (the application-managed pool).
   * @default - the namespace's default ServiceAccount, with no API token mounted
   */
  readonly clientServiceAccountName?: string;
  /**
   * Annotations a client's pod needs to reach the endpoint, such as Istio's proxyless gRPC agent.
   * @default - none
   */
  readonly clientPodAnnotations?: Readonly<Record<string, string>>;
  /**
   * What a client of the endpoint should set so that its calls outlive pods coming and going: retries, waitForReady
   * and, for a `dns:` target, how often it may resolve the name again.
   * @default - DEFAULT_GRPC_CLIENT_POLICY
   */
  readonly clientPolicy?: GrpcClientPolicy;
}
