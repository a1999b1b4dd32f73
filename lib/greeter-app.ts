import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { IGrpcEndpoint } from './grpc-endpoint';
import { dnsLabel, integerIn, istioDuration, milliseconds, port as validPort, type ValidationSubject } from './validate';
import {
  containerImage,
  containerResources,
  DISTROLESS_NONROOT_UID,
  oneAtATimeDisruptionBudget,
  spreadOverNodes,
  workloadLabels,
  zeroDowntimeRollout,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  type ContainerImage,
  type ContainerResources,
  type INamespace,
  type MeshIdentity,
} from './workload';

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
   * @default 'v1'
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
   * The server's `MAX_CONNECTION_AGE_MS`: clients that reach the pods through an L4 path (a plain ClusterIP
   * Service without a mesh) reconnect and spread over new pods. Behind Istio the sidecar balances each call,
   * so it is off by default.
   * @default - connections are not aged out
   */
  readonly maxConnectionAge?: Duration;
  /**
   * Serve gRPC server reflection (the server's `REFLECTION`), which lists and describes every service to whoever
   * can reach the pods. Routes from outside the cluster never expose it (`grpcServices`).
   * @default false
   */
  readonly reflection?: boolean;
}

/** Multiples of a Kubernetes quantity's suffixes, in bytes (`m` is a thousandth). */
const QUANTITY_SUFFIXES: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

/**
 * Node's V8 heap for a container memory limit: half of it, so that V8 collects garbage long before the limit (it
 * sizes its heap from the cgroup limit itself, about all of it) and the other half holds what is not heap: HTTP/2
 * sessions, sockets, buffers, code. The server's caps keep its live heap far below (docs/hardening.md).
 */
function heapMiBFor(memoryLimit: string): number {
  const [, amount, suffix] = /^([\d.]+)([A-Za-z]*)$/.exec(memoryLimit)!;
  return Math.max(16, Math.floor((Number(amount) * QUANTITY_SUFFIXES[suffix]) / 2 ** 20 / 2));
}

/**
 * Where a mesh's sidecar is not a native sidecar (Kubernetes < 1.29), it gets SIGTERM with the server and would stop
 * proxying before the server has drained (Istio after its default 5 s): keep it up as long as the server may drain.
 */
function sidecarDrainAnnotations(mesh: INamespace['mesh'], shutdownGraceMs: number): Record<string, string> | undefined {
  switch (mesh) {
    case 'istio':
      return { 'proxy.istio.io/config': JSON.stringify({ terminationDrainDuration: istioDuration(shutdownGraceMs) }) };
    case 'linkerd':
      return { 'config.alpha.linkerd.io/proxy-wait-before-exit-seconds': String(Math.ceil(shutdownGraceMs / 1000)) };
    default:
      return undefined;
  }
}

/**
 * The greeter gRPC server: a Deployment with gRPC health probes, a ClusterIP Service with a port named `grpc`
 * (`appProtocol: grpc`, so Istio treats it as HTTP/2 and balances each call), its own ServiceAccount (its mesh
 * identity) and a PodDisruptionBudget. Pods run under the "restricted" Pod Security Standard.
 */
export class GreeterApp extends Construct implements IGrpcEndpoint {
  readonly name: string;
  readonly namespace: INamespace;
  readonly port: number;
  /** Name of the Service port; Istio also reads the protocol from it. */
  readonly portName = 'grpc';
  /** Labels every pod carries; the Service, PDB and mesh policies select on them. */
  readonly podLabels: Record<string, string>;
  /** The subset of `podLabels` that selectors use (stable across versions). */
  readonly selectorLabels: Record<string, string>;
  readonly identity: MeshIdentity;
  /** The server's `SHUTDOWN_GRACE_MS`: how long it drains after SIGTERM. Sidecars stay up at least this long. */
  readonly shutdownGraceMs: number;
  /** The server's `MAX_CONNECTION_AGE_MS`, if connections are aged out. */
  readonly maxConnectionAgeMs?: number;
  /**
   * The gRPC services the greeter serves its clients: what routes from outside the cluster expose. Health (probes,
   * mesh health checks) and reflection stay in-cluster.
   */
  readonly grpcServices: readonly string[] = ['helloworld.Greeter'];
  readonly deployment: k8s.KubeDeployment;
  readonly service: k8s.KubeService;

  constructor(scope: Construct, id: string, props: GreeterAppProps) {
    super(scope, id);
    const subject: ValidationSubject = { construct: 'GreeterApp', id };
    this.name = dnsLabel(subject, 'name', props.name ?? 'greeter');
    this.namespace = props.namespace;
    this.port = validPort(subject, 'port', props.port ?? 50051);
    const version = dnsLabel(subject, 'version', props.version ?? 'v1');
    const replicas = integerIn(subject, 'replicas', props.replicas ?? 3, 1);
    const { image, imagePullPolicy } = containerImage(subject, 'image', props.image);
    const resources = containerResources(subject, 'resources', props.resources ?? {
      requests: { cpu: '50m', memory: '96Mi' },
      limits: { cpu: '500m', memory: '192Mi' },
    });
    const shutdownGraceMs = milliseconds(subject, 'shutdownGrace', props.shutdownGrace ?? Duration.seconds(20), 0);
    const terminationMarginMs = milliseconds(subject, 'terminationMargin', props.terminationMargin ?? Duration.seconds(10), 1000);
    const maxConnectionAgeMs = props.maxConnectionAge === undefined ? undefined : milliseconds(subject, 'maxConnectionAge', props.maxConnectionAge, 1000);
    this.maxConnectionAgeMs = maxConnectionAgeMs;
    this.shutdownGraceMs = shutdownGraceMs;

    this.selectorLabels = { app: this.name };
    this.podLabels = workloadLabels(this.name, { version });
    this.identity = { namespace: this.namespace, serviceAccountName: this.name };
    const metadata = { name: this.name, namespace: this.namespace.name, labels: this.podLabels };

    const serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata,
      // The server never calls the Kubernetes API; Istio mounts its own token for the sidecar.
      automountServiceAccountToken: false,
    });

    const env: k8s.EnvVar[] = [
      { name: 'PORT', value: String(this.port) },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'SHUTDOWN_GRACE_MS', value: String(shutdownGraceMs) },
      // The server's own default is on, for grpcurl on a laptop; a pod serves only what it means to.
      { name: 'REFLECTION', value: String(props.reflection ?? false) },
      { name: 'NODE_OPTIONS', value: `--max-old-space-size=${heapMiBFor(resources.limits!.memory!.value as string)}` },
      ...(maxConnectionAgeMs === undefined ? [] : [{ name: 'MAX_CONNECTION_AGE_MS', value: String(maxConnectionAgeMs) }]),
    ];
    // Native gRPC probes (Kubernetes >= 1.24) call grpc.health.v1.Health/Check on the server's overall status,
    // which turns NOT_SERVING as the drain starts. Istio rewrites them to its agent, so they pass under STRICT mTLS.
    const grpcProbe = (periodSeconds: number, failureThreshold: number): k8s.Probe => ({
      grpc: { port: this.port },
      periodSeconds,
      failureThreshold,
      timeoutSeconds: 1,
    });

    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata,
      spec: {
        replicas,
        selector: { matchLabels: this.selectorLabels },
        strategy: zeroDowntimeRollout(),
        template: {
          metadata: { labels: this.podLabels, annotations: sidecarDrainAnnotations(this.namespace.mesh, shutdownGraceMs) },
          spec: {
            serviceAccountName: serviceAccount.name,
            automountServiceAccountToken: false,
            securityContext: restrictedPodSecurityContext(DISTROLESS_NONROOT_UID),
            terminationGracePeriodSeconds: Math.ceil((shutdownGraceMs + terminationMarginMs) / 1000),
            topologySpreadConstraints: spreadOverNodes(this.selectorLabels),
            containers: [{
              name: 'server',
              image,
              imagePullPolicy,
              ports: [{ name: this.portName, containerPort: this.port, protocol: 'TCP' }],
              env,
              resources,
              securityContext: restrictedContainerSecurityContext(DISTROLESS_NONROOT_UID),
              readinessProbe: grpcProbe(5, 1),
              livenessProbe: grpcProbe(10, 3),
            }],
          },
        },
      },
    });

    this.service = new k8s.KubeService(this, 'Service', {
      metadata,
      spec: {
        type: 'ClusterIP',
        selector: this.selectorLabels,
        ports: [{ name: this.portName, appProtocol: 'grpc', port: this.port, targetPort: k8s.IntOrString.fromString(this.portName), protocol: 'TCP' }],
      },
    });

    oneAtATimeDisruptionBudget(this, metadata, this.selectorLabels);
    this.deployment.addDependency(serviceAccount);
  }

  /** The Service's cluster DNS name, as Istio routes and DestinationRules name their host. */
  get serviceHost(): string {
    return `${this.name}.${this.namespace.name}.svc.cluster.local`;
  }

  /** The ClusterIP Service as a client dials it: one virtual IP, so only a mesh's sidecar can balance each call. */
  get grpcTarget(): string {
    return `${this.serviceHost}:${this.port}`;
  }

  /** One address behind the virtual IP: nothing for the client to balance. */
  readonly loadBalancingPolicy = 'pick_first';

  /** Clients of the Service run beside it. */
  get clientNamespace(): INamespace {
    return this.namespace;
  }
}

