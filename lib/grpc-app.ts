import { ApiObject, Duration } from 'cdk8s';
import * as k8s from './imports/k8s';
import { Construct } from 'constructs';
import type { ContainerImage, ContainerPort, ContainerResources, WorkloadAutoscaling } from './container';
import type { IGrpcBackend, MeshIdentity } from './grpc-backend';
import { DEFAULT_GRPC_CLIENT_POLICY, type GrpcClientPolicy } from './grpc-client-policy';
import type { IGrpcEndpoint } from './grpc-endpoint';
import { serviceGrpcAppProtocol } from 'grpc-k8s-lb-common';
import { serviceDnsName } from './internal/names';
import {
  appProtocolName,
  dnsLabel,
  envName,
  integerIn,
  invalidProp,
  istioDuration,
  labelValue,
  metadataMap,
  milliseconds,
  port as validPort,
  subjectOf,
  type ValidationSubject,
} from './internal/validate';
import {
  autoscaling as checkedAutoscaling,
  cpuAutoscaler,
  extraPorts,
  imagePullSecrets,
  nodeSelector,
  probe,
  stringList,
  tolerations,
  volumesAndMounts,
} from './internal/pod-options';
import { labelValue as labelValueErrors } from 'grpc-k8s-lb-common';
import {
  containerImage,
  containerResources,
  DISTROLESS_NONROOT_UID,
  drainDelayHook,
  drainDelayMs,
  oneAtATimeDisruptionBudget,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  spreadOverNodes,
  terminationGraceSeconds,
  workloadLabels,
  zeroDowntimeRollout,
} from './internal/workload';
import type { INamespace } from './namespace';

export interface GrpcAppProps {
  /** Namespace of every object the app renders. */
  readonly namespace: INamespace;
  /** Name of the Deployment, Service, ServiceAccount and PodDisruptionBudget, and the `app` label of the pods. */
  readonly name: string;
  /** The server's image. */
  readonly image: ContainerImage;
  /** The port the server listens on: the container port and the Service port, both named `grpc`. */
  readonly port: number;
  /**
   * The Service port's `appProtocol`, which meshes and gateways read to carry each call as HTTP/2.
   * @default - from the namespace's mesh: `grpc` under Istio, `kubernetes.io/h2c` (the Kubernetes standard value,
   *   the only one Linkerd >= 2.18 balances per call) otherwise
   */
  readonly appProtocol?: string;
  /**
   * Pods (without `autoscaling`).
   * @default 2, or the autoscaler's count with `autoscaling`
   */
  readonly replicas?: number;
  /**
   * Environment of the server container.
   * @default - none
   */
  readonly env?: readonly k8s.EnvVar[];
  /**
   * Requests and limits of the server container; limits are optional, and each at least its request.
   * @default requests 100m CPU and 128Mi memory, limits 1 CPU and 256Mi memory
   */
  readonly resources?: ContainerResources;
  /**
   * The numeric, non-root user the container runs as (the Pod Security "restricted" profile requires non-root; a
   * number lets the kubelet verify it).
   * @default 65532 (distroless `nonroot`)
   */
  readonly runAsUser?: number;
  /**
   * Name of the server container.
   * @default - the app's name
   */
  readonly containerName?: string;
  /**
   * Readiness and liveness probes that call `grpc.health.v1.Health/Check` on the port (native gRPC probes,
   * Kubernetes >= 1.24), which Istio rewrites to its agent under STRICT mTLS. Off for servers without the health
   * service: then give your own probes.
   * @default true
   */
  readonly grpcHealthProbes?: boolean;
  /**
   * The port the gRPC health probes call, where the server serves `grpc.health.v1` without TLS: the kubelet's gRPC
   * probe speaks no TLS (kubernetes/enhancements keps/sig-node/4939-tls-in-grpc-probe), so a server that serves TLS
   * on `port` needs a plaintext port for them.
   * @default - `port`
   */
  readonly healthPort?: number;
  /**
   * The readiness probe, in place of the gRPC health one.
   * @default - gRPC health Check every 5 s, one failure marks the pod unready (or none without `grpcHealthProbes`)
   */
  readonly readinessProbe?: k8s.Probe;
  /**
   * The liveness probe, in place of the gRPC health one.
   * @default - gRPC health Check every 10 s, three failures restart the container (or none without `grpcHealthProbes`)
   */
  readonly livenessProbe?: k8s.Probe;
  /**
   * How long the server drains calls in flight after SIGTERM. A mesh's sidecar (Istio, Linkerd) is kept up through
   * `drainDelay` and this, and the pod's termination grace period covers both plus `terminationMargin`.
   * @default Duration.seconds(0): the server stops at once
   */
  readonly drainTime?: Duration;
  /**
   * Time between the end of the drain and SIGKILL: process exit and the sidecar's own shutdown.
   * @default Duration.seconds(30) (the Kubernetes default grace period, with no drain)
   */
  readonly terminationMargin?: Duration;
  /**
   * How long a terminating pod keeps serving before its server gets SIGTERM and drains (whole seconds): a native
   * preStop `sleep`, so it works for any image, distroless included. Kubernetes removes the pod from the Service's
   * endpoints and signals it at the same moment, and the data planes in front learn of the removal later (kube-proxy
   * within its 1 s minSyncPeriod, ingress-nginx within ~4.3 s, istiod after its 100 ms push debounce; cluster DNS
   * answers a headless name from its cache for up to 30 s, so pods behind a headless Service need more:
   * docs/strategies.md); meanwhile they still send calls and connections here. Needs Kubernetes >= 1.30 (the sleep
   * action on by default). The termination grace period and a mesh sidecar's drain cover it too. Zero renders no hook.
   * @default Duration.seconds(5)
   */
  readonly drainDelay?: Duration;
  /**
   * The `version` label of the pods (a label value), which Istio reports in its telemetry and DestinationRule subsets
   * select on.
   * @default - the image tag, when it is a label value (`1.4.2`); otherwise 'v1'
   */
  readonly version?: string;
  /**
   * The max connection age the server enforces (gRPC's `MAX_CONNECTION_AGE`), if it ages connections out. This
   * construct does not configure the server; `HeadlessGrpcService` requires it so clients re-resolve DNS.
   * @default - unknown, or connections are never aged out
   */
  readonly maxConnectionAge?: Duration;
  /**
   * Istio's proxyless gRPC instead of its Envoy sidecar (only in a namespace with `mesh: 'istio'`): the pods get the
   * `grpc-agent` injection template, whose pilot-agent writes the xDS bootstrap (`GRPC_XDS_BOOTSTRAP`) and proxies
   * the xDS stream to istiod, and the application starts only once the agent is ready. Clients then dial
   * `xds:///<service>.<namespace>.svc.cluster.local:<port>` and balance each call themselves, as istiod programs them
   * (https://istio.io/latest/blog/2021/proxyless-grpc/). The server needs an xDS-aware gRPC library only for mTLS.
   * @default false
   */
  readonly istioProxyless?: boolean;
  /**
   * More labels for the pods (selectors use only `app`).
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;

  // Workload options: what a service needs beyond a server on a port.

  /**
   * Annotations of the pods, such as `prometheus.io/scrape`. Those the construct sets for the mesh are refused.
   * @default - none beyond the mesh's
   */
  readonly podAnnotations?: Readonly<Record<string, string>>;
  /**
   * Annotations of the ServiceAccount, such as GKE Workload Identity's `iam.gke.io/gcp-service-account`.
   * @default - none
   */
  readonly serviceAccountAnnotations?: Readonly<Record<string, string>>;
  /**
   * Names of `kubernetes.io/dockerconfigjson` Secrets in the namespace that the kubelet pulls the image with.
   * @default - none: the node's own credentials
   */
  readonly imagePullSecrets?: readonly string[];
  /**
   * Container ports besides the gRPC one, such as `{ name: 'metrics', port: 9464 }`. They are not added to the
   * Service: scrape them from the pods.
   * @default - none
   */
  readonly ports?: readonly ContainerPort[];
  /**
   * Volumes of the pods, which `volumeMounts` mount into the container.
   * @default - an `emptyDir` named `tmp` (64Mi) only, for the default /tmp mount
   */
  readonly volumes?: readonly k8s.Volume[];
  /**
   * Mounts of `volumes` in the container. The root file system is read-only, so /tmp is an `emptyDir` unless one of
   * these mounts something there.
   * @default - /tmp only
   */
  readonly volumeMounts?: readonly k8s.VolumeMount[];
  /**
   * The container's entrypoint, in place of the image's.
   * @default - the image's ENTRYPOINT
   */
  readonly command?: readonly string[];
  /**
   * Arguments to the entrypoint, in place of the image's CMD.
   * @default - the image's CMD
   */
  readonly args?: readonly string[];
  /**
   * A startup probe: liveness and readiness probes wait until it succeeds, for a server that starts slowly.
   * @default - none
   */
  readonly startupProbe?: k8s.Probe;
  /**
   * A HorizontalPodAutoscaler (autoscaling/v2) that scales the Deployment on the pods' CPU use relative to their CPU
   * request; the Deployment then leaves `replicas` to it. The PodDisruptionBudget lets one pod go at a time at any
   * count.
   * @default - none: `replicas` pods
   */
  readonly autoscaling?: WorkloadAutoscaling;
  /**
   * Node labels the pods must run on, such as `{ 'cloud.google.com/gke-nodepool': 'grpc' }`.
   * @default - any node
   */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /**
   * Taints the pods tolerate.
   * @default - none
   */
  readonly tolerations?: readonly k8s.Toleration[];
  /**
   * Node and pod affinity of the pods. The pods are spread over nodes anyway (a topology spread constraint).
   * @default - none
   */
  readonly affinity?: k8s.Affinity;
}

/**
 * A gRPC server of any image: a Deployment, a ClusterIP Service whose port is named `grpc` with the appProtocol its
 * namespace's mesh and gateways read as HTTP/2 (so they balance each call), its own ServiceAccount (its mesh identity) and a
 * PodDisruptionBudget. Pods run under the Pod Security "restricted" profile, spread over nodes, and roll out with
 * no loss of capacity.
 */
export class GrpcApp extends Construct implements IGrpcBackend, IGrpcEndpoint {
  readonly name: string;
  readonly namespace: INamespace;
  readonly port: number;
  /** Name of the Service port and the container port; Istio also reads the protocol from it. */
  readonly portName = 'grpc';
  readonly appProtocol: string;
  /** Labels every pod carries. */
  readonly podLabels: Record<string, string>;
  /** The subset of `podLabels` that selectors use (stable across versions). */
  readonly selectorLabels: Record<string, string>;
  readonly identity: MeshIdentity;
  /** How long the server drains after SIGTERM, in milliseconds. */
  readonly drainTimeMs: number;
  /** How long a terminating pod keeps serving before SIGTERM (its preStop sleep), in milliseconds. */
  readonly drainDelayMs: number;
  readonly maxConnectionAgeMs?: number;
  readonly deployment: ApiObject;
  readonly service: ApiObject;
  readonly serviceAccount: ApiObject;
  /** Whether the pods run Istio's proxyless gRPC agent instead of a sidecar. */
  readonly istioProxyless: boolean;
  /** Whether the pods run their namespace's mesh sidecar (not with Istio's proxyless gRPC). */
  readonly sidecar: boolean;
  /** The HorizontalPodAutoscaler, with `autoscaling`. */
  readonly autoscaler?: ApiObject;

  constructor(scope: Construct, id: string, props: GrpcAppProps) {
    super(scope, id);
    // Errors name the class the user constructed (a subclass, or this one) and its path.
    const subject = subjectOf(this);
    this.name = dnsLabel(subject, 'name', props.name);
    this.namespace = props.namespace;
    this.port = validPort(subject, 'port', props.port);
    this.appProtocol = appProtocolName(
      subject,
      'appProtocol',
      props.appProtocol ?? serviceGrpcAppProtocol(this.namespace.mesh),
    );
    const version = labelValue(subject, 'version', props.version ?? defaultVersion(props.image?.tag));
    if (version === '') throw invalidProp(subject, 'version', version, 'a non-empty label value');
    if (props.autoscaling !== undefined && props.replicas !== undefined)
      throw invalidProp(subject, 'replicas', props.replicas, 'unset with autoscaling: the autoscaler sets the count');
    const replicas =
      props.autoscaling === undefined ? integerIn(subject, 'replicas', props.replicas ?? 2, 1) : undefined;
    const { image, imagePullPolicy } = containerImage(subject, 'image', props.image);
    const resources = containerResources(
      subject,
      'resources',
      props.resources ?? {
        requests: { cpu: '100m', memory: '128Mi' },
        limits: { cpu: '1', memory: '256Mi' },
      },
    );
    const uid = integerIn(subject, 'runAsUser', props.runAsUser ?? DISTROLESS_NONROOT_UID, 1);
    const containerName = dnsLabel(subject, 'containerName', props.containerName ?? this.name);
    this.drainTimeMs = milliseconds(subject, 'drainTime', props.drainTime ?? Duration.seconds(0), 0);
    const terminationMarginMs = milliseconds(
      subject,
      'terminationMargin',
      props.terminationMargin ?? Duration.seconds(30),
      1000,
    );
    this.drainDelayMs = drainDelayMs(subject, 'drainDelay', props.drainDelay ?? Duration.seconds(5));
    this.istioProxyless = props.istioProxyless ?? false;
    this.sidecar = (this.namespace.mesh === 'istio' || this.namespace.mesh === 'linkerd') && !this.istioProxyless;
    if (this.istioProxyless && this.namespace.mesh !== 'istio') {
      throw invalidProp(
        subject,
        'istioProxyless',
        true,
        `false: namespace ${JSON.stringify(this.namespace.name)} has no Istio injection (mesh ${JSON.stringify(this.namespace.mesh ?? 'none')})`,
      );
    }
    this.maxConnectionAgeMs =
      props.maxConnectionAge === undefined
        ? undefined
        : milliseconds(subject, 'maxConnectionAge', props.maxConnectionAge, 1000);
    const extraLabels = metadataMap(subject, 'labels', props.labels ?? {}, 'labels');
    (props.env ?? []).forEach((variable, index) => envName(subject, `env[${index}].name`, variable?.name));
    for (const key of ['app', 'app.kubernetes.io/name', 'version']) {
      if (Object.hasOwn(extraLabels, key))
        throw invalidProp(subject, `labels.${key}`, extraLabels[key], 'unset: the construct sets it');
    }

    const options = workloadOptions(subject, props, { name: this.portName, port: this.port });

    this.selectorLabels = { app: this.name };
    this.podLabels = { ...extraLabels, ...workloadLabels(this.name, { version }) };
    this.identity = { namespace: this.namespace, serviceAccountName: this.name };
    const metadata = { name: this.name, namespace: this.namespace.name, labels: this.podLabels };

    this.serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { ...metadata, annotations: options.serviceAccountAnnotations },
      // The server does not call the Kubernetes API; a mesh mounts its own token for the sidecar.
      automountServiceAccountToken: false,
    });

    const healthProbes = props.grpcHealthProbes ?? true;
    const healthPort = props.healthPort === undefined ? this.port : validPort(subject, 'healthPort', props.healthPort);
    const grpcProbe = (periodSeconds: number, failureThreshold: number): k8s.Probe | undefined =>
      healthProbes ? { grpc: { port: healthPort }, periodSeconds, failureThreshold, timeoutSeconds: 1 } : undefined;

    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata,
      spec: {
        replicas,
        selector: { matchLabels: this.selectorLabels },
        strategy: zeroDowntimeRollout(),
        template: {
          metadata: {
            labels: this.podLabels,
            annotations: podAnnotations(
              subject,
              options.podAnnotations,
              meshAnnotations(this.namespace.mesh, this.drainDelayMs + this.drainTimeMs, this.istioProxyless),
            ),
          },
          spec: {
            serviceAccountName: this.serviceAccount.name,
            automountServiceAccountToken: false,
            securityContext: restrictedPodSecurityContext(uid),
            terminationGracePeriodSeconds: terminationGraceSeconds(
              this.drainDelayMs,
              this.drainTimeMs,
              terminationMarginMs,
            ),
            topologySpreadConstraints: spreadOverNodes(this.selectorLabels),
            imagePullSecrets: options.imagePullSecrets,
            nodeSelector: options.nodeSelector,
            tolerations: options.tolerations,
            affinity: options.affinity,
            volumes: options.volumes,
            containers: [
              {
                name: containerName,
                image,
                imagePullPolicy,
                command: options.command,
                args: options.args,
                ports: [{ name: this.portName, containerPort: this.port, protocol: 'TCP' }, ...options.ports],
                env: props.env === undefined || props.env.length === 0 ? undefined : [...props.env],
                resources,
                securityContext: restrictedContainerSecurityContext(uid),
                readinessProbe: probe(subject, 'readinessProbe', props.readinessProbe, 'readiness') ?? grpcProbe(5, 1),
                livenessProbe: probe(subject, 'livenessProbe', props.livenessProbe, 'liveness') ?? grpcProbe(10, 3),
                startupProbe: options.startupProbe,
                volumeMounts: options.volumeMounts,
                lifecycle: drainDelayHook(this.drainDelayMs / 1000),
              },
            ],
          },
        },
      },
    });

    this.service = new k8s.KubeService(this, 'Service', {
      metadata,
      spec: {
        type: 'ClusterIP',
        selector: this.selectorLabels,
        ports: [
          {
            name: this.portName,
            appProtocol: this.appProtocol,
            port: this.port,
            targetPort: k8s.IntOrString.fromString(this.portName),
            protocol: 'TCP',
          },
        ],
      },
    });

    oneAtATimeDisruptionBudget(this, metadata, this.selectorLabels);
    this.deployment.addDependency(this.serviceAccount);
    if (options.autoscaling !== undefined) {
      this.autoscaler = cpuAutoscaler(this, metadata, this.deployment, options.autoscaling);
      this.autoscaler.addDependency(this.deployment);
    }
  }

  /** The Service's name. */
  get serviceName(): string {
    return this.name;
  }

  /**
   * The Service as a client dials it: its cluster DNS name, one virtual IP, so only a mesh's sidecar can balance each
   * call; or, with Istio proxyless, the `xds:///` name whose endpoints istiod sends the client.
   */
  get grpcTarget(): string {
    const target = `${serviceDnsName(this.name, this.namespace)}:${this.port}`;
    return this.istioProxyless ? `xds:///${target}` : target;
  }

  /** One address behind the virtual IP, nothing for the client to balance; with xDS, each call over the endpoints. */
  get loadBalancingPolicy(): 'pick_first' | 'round_robin' {
    return this.istioProxyless ? 'round_robin' : 'pick_first';
  }

  /**
   * With Istio proxyless, the client's retries are the route's that istiod sends (by default 2 retries of
   * `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes`, of which gRPC applies the status
   * codes: istio 1.30.3 pilot/pkg/networking/core/route/route.go BuildDefaultHTTPOutboundRoute, route/retry/retry.go;
   * gRFC A44), which replace the client's own service config: one attempt of its own.
   */
  get clientPolicy(): GrpcClientPolicy | undefined {
    return this.istioProxyless ? { ...DEFAULT_GRPC_CLIENT_POLICY, maxAttempts: 1 } : undefined;
  }

  /** A proxyless client needs Istio's grpc-agent too, for its xDS bootstrap. */
  get clientPodAnnotations(): Readonly<Record<string, string>> | undefined {
    return this.istioProxyless ? proxylessAnnotations() : undefined;
  }

  /** Clients of the Service run beside it. */
  get clientNamespace(): INamespace {
    return this.namespace;
  }
}

/** The version label a tag makes: the tag itself where it is a label value, or `v1`. */
function defaultVersion(tag: string | undefined): string {
  return typeof tag === 'string' && tag !== '' && labelValueErrors(tag).length === 0 ? tag : 'v1';
}

/** The workload options of the props, checked (see internal/pod-options). */
function workloadOptions(
  subject: ValidationSubject,
  props: GrpcAppProps,
  main: { readonly name: string; readonly port: number },
) {
  return {
    podAnnotations:
      props.podAnnotations === undefined
        ? undefined
        : metadataMap(subject, 'podAnnotations', props.podAnnotations, 'annotations'),
    serviceAccountAnnotations:
      props.serviceAccountAnnotations === undefined
        ? undefined
        : metadataMap(subject, 'serviceAccountAnnotations', props.serviceAccountAnnotations, 'annotations'),
    imagePullSecrets: imagePullSecrets(subject, 'imagePullSecrets', props.imagePullSecrets),
    ports: extraPorts(subject, 'ports', props.ports, main),
    ...volumesAndMounts(subject, props),
    command: props.command === undefined ? undefined : stringList(subject, 'command', props.command, 1),
    args: props.args === undefined ? undefined : stringList(subject, 'args', props.args),
    startupProbe: probe(subject, 'startupProbe', props.startupProbe, 'startup'),
    autoscaling: props.autoscaling === undefined ? undefined : checkedAutoscaling(subject, props.autoscaling),
    nodeSelector: nodeSelector(subject, props.nodeSelector),
    tolerations: tolerations(subject, props.tolerations),
    affinity: props.affinity,
  };
}

/** The user's pod annotations and the mesh's; the user may not set one the mesh needs. */
function podAnnotations(
  subject: ValidationSubject,
  user: Record<string, string> | undefined,
  mesh: Record<string, string> | undefined,
): Record<string, string> | undefined {
  for (const key of Object.keys(mesh ?? {})) {
    if (user !== undefined && Object.hasOwn(user, key))
      throw invalidProp(subject, `podAnnotations.${key}`, user[key], 'unset: the construct sets it for the mesh');
  }
  return user === undefined && mesh === undefined ? undefined : { ...user, ...mesh };
}

/**
 * The annotations a mesh reads on the pods. A sidecar that is not a native sidecar (Kubernetes < 1.29) gets SIGTERM
 * when the pod starts terminating, while the server still sleeps in its preStop hook, and would stop proxying before
 * the server has drained (Istio after its default 5 s): keep it up through the delay and the drain.
 */
function meshAnnotations(
  mesh: INamespace['mesh'],
  keepUpMs: number,
  istioProxyless: boolean,
): Record<string, string> | undefined {
  if (istioProxyless) return proxylessAnnotations(keepUpMs);
  if (keepUpMs === 0) return undefined;
  switch (mesh) {
    case 'istio':
      return { [ISTIO_PROXY_CONFIG]: JSON.stringify({ terminationDrainDuration: istioDuration(keepUpMs) }) };
    case 'linkerd':
      return { 'config.alpha.linkerd.io/proxy-wait-before-exit-seconds': String(Math.ceil(keepUpMs / 1000)) };
    default:
      return undefined;
  }
}

const ISTIO_PROXY_CONFIG = 'proxy.istio.io/config';

/**
 * Istio's `grpc-agent` injection template (manifests/charts/istio-control/istio-discovery/files/grpc-agent.yaml): no
 * Envoy, an agent that sets `GRPC_XDS_BOOTSTRAP` in the app's containers; with `holdApplicationUntilProxyStarts` its
 * postStart hook (`pilot-agent wait`) holds the app until the bootstrap and the xDS proxy are ready.
 */
function proxylessAnnotations(keepUpMs = 0): Record<string, string> {
  const proxyConfig =
    keepUpMs === 0
      ? { holdApplicationUntilProxyStarts: true }
      : { holdApplicationUntilProxyStarts: true, terminationDrainDuration: istioDuration(keepUpMs) };
  return { 'inject.istio.io/templates': 'grpc-agent', [ISTIO_PROXY_CONFIG]: JSON.stringify(proxyConfig) };
}
