import { Duration, ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { tlsToPods } from 'grpc-k8s-lb-common';
import * as gke from './imports/networking.gke.io';
import type { IGrpcBackend } from './grpc-backend';
import { invalidProp, milliseconds, port as validPort, protoServiceNames, subjectOf } from './internal/validate';

export interface GkeGrpcBackendPolicyProps {
  /** The backend a GKE Gateway routes to: both policies target its Service, in its namespace. */
  readonly backend: IGrpcBackend;
  /**
   * The pod port GKE's health check calls `grpc.health.v1.Health/Check` on. Google Cloud's gRPC health check speaks
   * no TLS, so where the pods serve TLS on the serving port (appProtocol `HTTP2`), it is a port they also serve
   * without TLS.
   * @default - the serving port (`USE_SERVING_PORT`), which must then serve without TLS
   */
  readonly healthCheckPort?: number;
  /**
   * The service name the health check asks about.
   * @default - the server as a whole (the empty name)
   */
  readonly grpcServiceName?: string;
  /**
   * How long the load balancer lets requests to a pod leaving the NEG finish (`connectionDraining`): the server's own
   * drain. GKE's default, 0, cuts them.
   * @default Duration.seconds(30)
   */
  readonly drainTimeout?: Duration;
  /**
   * How long the load balancer waits for a call's response (the backend service's `timeoutSec`).
   * @default - GKE's: 30 s
   */
  readonly timeout?: Duration;
}

/**
 * The policies a gRPC backend of a GKE Gateway needs (https://cloud.google.com/kubernetes-engine/docs/how-to/
 * configure-gateway-resources; schemas: GoogleCloudPlatform/gke-gateway-api v1.4.0):
 * - a `HealthCheckPolicy` of type `GRPC`: without one, GKE's default health check is an HTTP request to the serving
 *   port (the policy's own default type is HTTP too), which a gRPC server answers with 415, not the 200 the check
 *   needs (a request without `content-type: application/grpc`: grpc-js 1.14 src/server.ts `_verifyContentType`),
 *   so every endpoint is unhealthy and the load balancer sends nothing;
 * - a `GCPBackendPolicy` with connection draining, so the calls in flight to a pod that is going away finish.
 * Both target the Service, in its namespace, as GKE requires of single-cluster Gateways.
 */
export class GkeGrpcBackendPolicy extends Construct {
  readonly healthCheckPolicy: ApiObject;
  readonly backendPolicy: ApiObject;

  constructor(scope: Construct, id: string, props: GkeGrpcBackendPolicyProps) {
    super(scope, id);
    const subject = subjectOf(this);
    const { backend } = props;
    const healthCheckPort =
      props.healthCheckPort === undefined ? undefined : validPort(subject, 'healthCheckPort', props.healthCheckPort);
    if (tlsToPods('gke-gateway', backend) && (healthCheckPort ?? backend.port) === backend.port) {
      throw invalidProp(
        subject,
        'healthCheckPort',
        props.healthCheckPort,
        `a port the pods serve without TLS: they serve TLS on ${backend.port} (appProtocol ${JSON.stringify(backend.appProtocol)}), and Google Cloud's gRPC health check speaks none`,
      );
    }
    // The backend service takes whole seconds (CRD: drainingTimeoutSec 0 to 3600, timeoutSec at least 1).
    const seconds = (prop: string, duration: Duration, min: number, max: number) => {
      const ms = milliseconds(subject, prop, duration, min * 1000);
      if (ms % 1000 !== 0 || ms > max * 1000)
        throw invalidProp(subject, prop, `${ms} ms`, `whole seconds from ${min} to ${max}`);
      return ms / 1000;
    };
    const drainingTimeoutSec = seconds('drainTimeout', props.drainTimeout ?? Duration.seconds(30), 0, 3600);
    const timeoutSec = props.timeout === undefined ? undefined : seconds('timeout', props.timeout, 1, 2 ** 31 - 1);
    const grpcServiceName =
      props.grpcServiceName === undefined
        ? undefined
        : protoServiceNames(subject, 'grpcServiceName', [props.grpcServiceName], 1)[0];
    const metadata = { name: backend.serviceName, namespace: backend.namespace.name };
    const targetRef = { group: '', kind: 'Service', name: backend.serviceName };
    const Port = gke.HealthCheckPolicySpecDefaultConfigGrpcHealthCheckPortSpecification;

    this.healthCheckPolicy = new gke.HealthCheckPolicy(this, 'HealthCheckPolicy', {
      metadata,
      spec: {
        targetRef,
        default: {
          config: {
            type: gke.HealthCheckPolicySpecDefaultConfigType.GRPC,
            grpcHealthCheck:
              healthCheckPort === undefined
                ? { portSpecification: Port.USE_UNDERSCORE_SERVING_UNDERSCORE_PORT, grpcServiceName }
                : {
                    portSpecification: Port.USE_UNDERSCORE_FIXED_UNDERSCORE_PORT,
                    port: healthCheckPort,
                    grpcServiceName,
                  },
          },
        },
      },
    });
    this.backendPolicy = new gke.GcpBackendPolicy(this, 'GcpBackendPolicy', {
      metadata,
      spec: {
        targetRef,
        default: { timeoutSec, connectionDraining: { drainingTimeoutSec } },
      },
    });
  }
}
