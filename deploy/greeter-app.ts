import { Duration } from 'cdk8s';
import type { Construct } from 'constructs';
import { GREETER_DEFAULT_PORT, SERVER_ENV } from '../app/settings';
import { GrpcApp, PropValidator, type ContainerImage, type ContainerResources, type INamespace } from '../lib';
import { parseQuantity } from 'grpc-k8s-lb-common';

export interface GreeterAppProps {
  /** Namespace of every object the app renders. */
  readonly namespace: INamespace;
  /** The greeter server image (`app/server.ts`, Dockerfile target `server`). */
  readonly image: ContainerImage;
  /**
   * Name of the Deployment, Service, ServiceAccount and PodDisruptionBudget, and the `app` label of the pods.
   * @default 'greeter'
   */
  readonly name?: string;
  /**
   * The `version` label of the pods, which Istio reports in its telemetry and DestinationRule subsets select on.
   * @default - the image tag (see `GrpcAppProps.version`)
   */
  readonly version?: string;
  /**
   * Pods. Three make the replying pod visibly rotate.
   * @default 3
   */
  readonly replicas?: number;
  /**
   * gRPC port of the container and the Service (both named `grpc`).
   * @default 50051
   */
  readonly port?: number;
  /**
   * Requests and limits of the server container. Node's heap is capped at half the memory limit
   * (`NODE_OPTIONS=--max-old-space-size`).
   * @default requests 50m CPU and 96Mi memory, limits 500m CPU and 192Mi memory (measured: the compiled server
   *   idles at 62 MiB RSS and peaks at 121 MiB with 100 calls in flight; under attack, see docs/hardening.md)
   */
  readonly resources?: ContainerResources;
  /**
   * How long calls in flight may finish after SIGTERM (the server's `SHUTDOWN_GRACE_MS`). The pod's
   * `terminationGracePeriodSeconds` is this plus `terminationMargin`, so Kubernetes never kills a draining server.
   * @default Duration.seconds(20)
   */
  readonly shutdownGrace?: Duration;
  /**
   * Time between the end of the server's drain and SIGKILL: process exit and the sidecar's own shutdown.
   * @default Duration.seconds(10)
   */
  readonly terminationMargin?: Duration;
  /**
   * How long a terminating pod keeps serving before the server gets SIGTERM (see `GrpcAppProps.drainDelay`).
   * @default - GrpcApp's
   */
  readonly drainDelay?: Duration;
  /**
   * The server's `MAX_CONNECTION_AGE_MS`: clients that reach the pods through an L4 path (a plain ClusterIP
   * Service without a mesh) reconnect and spread over new pods. Behind Istio the sidecar balances each call,
   * so it is off by default.
   * @default - connections are not aged out
   */
  readonly maxConnectionAge?: Duration;
  /**
   * Istio's proxyless gRPC instead of its sidecar (see `GrpcAppProps.istioProxyless`).
   * @default false
   */
  readonly istioProxyless?: boolean;
  /**
   * Serve gRPC server reflection (the server's `REFLECTION`), which lists and describes every service to whoever
   * can reach the pods. Routes from outside the cluster never expose it.
   * @default false
   */
  readonly reflection?: boolean;
  /**
   * The Service port's appProtocol (see `GrpcAppProps.appProtocol`).
   * @default - from the namespace's mesh
   */
  readonly appProtocol?: string;
  /**
   * Serve TLS on the gRPC port with the certificate and key of a `kubernetes.io/tls` Secret (the server's
   * `TLS_CERT_FILE` and `TLS_KEY_FILE`), for a load balancer that speaks HTTP/2 to the pods only over TLS (GKE's
   * Gateway, appProtocol `HTTP2`); and without TLS on `plaintextPort`, where the kubelet's gRPC probes and the load
   * balancer's gRPC health check call, since neither speaks TLS.
   * @default - no TLS
   */
  readonly tls?: {
    /** The Secret, in the greeter's namespace. */
    readonly secretName: string;
    /**
     * The port served without TLS (the server's `PLAINTEXT_PORT`).
     * @default - the gRPC port + 1
     */
    readonly plaintextPort?: number;
  };
}

/** Where the greeter's pods mount the TLS Secret of `GreeterAppProps.tls`, and the volume's name. */
const TLS_DIRECTORY = '/etc/greeter-tls';
const TLS_VOLUME = 'tls';
/** The container port of `GreeterAppProps.tls.plaintextPort`. */
const PLAINTEXT_PORT_NAME = 'grpc-plaintext';

/**
 * Node's V8 heap for a container memory limit: half of it, so that V8 collects garbage long before the limit (it
 * sizes its heap from the cgroup limit itself, about all of it) and the other half holds what is not heap: HTTP/2
 * sessions, sockets, buffers, code. The server's caps keep its live heap far below (docs/hardening.md).
 */
function heapMiBFor(memoryLimit: string): number {
  // The caller has checked the quantity, so it parses.
  const { num, den } = parseQuantity(memoryLimit)!;
  return Math.max(16, Math.floor(Number(num) / Number(den) / 2 ** 20 / 2));
}

/**
 * The greeter gRPC server (app/server.ts) as a `GrpcApp`: its image, port and probes, and the settings it reads
 * from the environment (port, pod name for its replies, drain time, max connection age).
 */
export class GreeterApp extends GrpcApp {
  /** The port the pods serve without TLS beside the TLS one, with `tls`. */
  readonly plaintextPort?: number;

  constructor(scope: Construct, id: string, props: GreeterAppProps) {
    const port = props.port ?? GREETER_DEFAULT_PORT;
    const shutdownGrace = props.shutdownGrace ?? Duration.seconds(20);
    const check = PropValidator.forChild('GreeterApp', scope, id);
    const resources = props.resources ?? {
      requests: { cpu: '50m', memory: '96Mi' },
      limits: { cpu: '500m', memory: '192Mi' },
    };
    // Checked here, before the heap cap is derived from it (GrpcApp checks the rest of the resources).
    const memoryLimit = check.quantity('resources.limits.memory', resources.limits?.memory as string);
    const shutdownGraceMs = check.milliseconds('shutdownGrace', shutdownGrace, 0);
    const maxConnectionAgeMs =
      props.maxConnectionAge === undefined
        ? undefined
        : check.milliseconds('maxConnectionAge', props.maxConnectionAge, 1000);
    const tls =
      props.tls === undefined
        ? undefined
        : {
            secretName: check.dnsSubdomain('tls.secretName', props.tls.secretName),
            plaintextPort: check.integer('tls.plaintextPort', props.tls.plaintextPort ?? port + 1, 1, 65535),
          };
    if (tls !== undefined && tls.plaintextPort === port)
      throw check.error('tls.plaintextPort', tls.plaintextPort, `a port other than the gRPC port ${port}`);
    super(scope, id, {
      namespace: props.namespace,
      name: props.name ?? 'greeter',
      image: props.image,
      port,
      replicas: props.replicas ?? 3,
      version: props.version,
      containerName: 'server',
      istioProxyless: props.istioProxyless,
      maxConnectionAge: props.maxConnectionAge,
      resources,
      drainTime: shutdownGrace,
      drainDelay: props.drainDelay,
      terminationMargin: props.terminationMargin ?? Duration.seconds(10),
      appProtocol: props.appProtocol,
      healthPort: tls?.plaintextPort,
      ...(tls === undefined
        ? {}
        : {
            ports: [{ name: PLAINTEXT_PORT_NAME, port: tls.plaintextPort }],
            volumes: [{ name: TLS_VOLUME, secret: { secretName: tls.secretName } }],
            volumeMounts: [{ name: TLS_VOLUME, mountPath: TLS_DIRECTORY, readOnly: true }],
          }),
      env: [
        { name: SERVER_ENV.port, value: String(port) },
        { name: SERVER_ENV.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: SERVER_ENV.shutdownGraceMs, value: String(shutdownGraceMs) },
        ...(maxConnectionAgeMs === undefined
          ? []
          : [{ name: SERVER_ENV.maxConnectionAgeMs, value: String(maxConnectionAgeMs) }]),
        { name: SERVER_ENV.reflection, value: String(props.reflection ?? false) },
        { name: 'NODE_OPTIONS', value: `--max-old-space-size=${heapMiBFor(memoryLimit)}` },
        ...(tls === undefined
          ? []
          : [
              { name: SERVER_ENV.tlsCertFile, value: `${TLS_DIRECTORY}/tls.crt` },
              { name: SERVER_ENV.tlsKeyFile, value: `${TLS_DIRECTORY}/tls.key` },
              { name: SERVER_ENV.plaintextPort, value: String(tls.plaintextPort) },
            ]),
      ],
    });
    this.plaintextPort = tls?.plaintextPort;
  }
}
