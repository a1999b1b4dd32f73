import { ApiObject, JsonPatch, type Duration } from 'cdk8s';
import * as k8s from './imports/k8s';
import { Construct } from 'constructs';
import type { ContainerImage, ContainerResources } from './container';
import type { GrpcApp } from './grpc-app';
import type { IGrpcBackend, MeshIdentity } from './grpc-backend';
import type { IGrpcEndpoint } from './grpc-endpoint';
import { serviceGrpcAppProtocol } from 'grpc-k8s-lb-common';
import { serviceDnsName } from './internal/names';
import {
  dnsLabel,
  hostName,
  invalidProp,
  milliseconds,
  port as validPort,
  protoServiceNames,
  subjectOf,
} from './internal/validate';
import {
  containerImage,
  containerResources,
  DISTROLESS_NONROOT_UID,
  restrictedContainerSecurityContext,
} from './internal/workload';
import type { INamespace } from './namespace';

const ESP_CONTAINER = 'esp';
const ESP_PORT_NAME = 'esp';
const HEALTHZ = 'healthz';

export interface CloudEndpointsProxyProps {
  /** The app whose pods get the ESPv2 sidecar; ESPv2 forwards each call to the server on loopback. */
  readonly app: GrpcApp;
  /**
   * The Endpoints service name, `<api>.endpoints.<project>.cloud.goog` (or a domain you own): ESPv2's `--service`
   * and the `name` of `api_config.yaml`.
   */
  readonly endpointsServiceName: string;
  /**
   * The gRPC services of the API (`apis` in `api_config.yaml`); each must be defined in the descriptor set.
   */
  readonly apis: readonly string[];
  /**
   * The API's title in the Google Cloud console.
   * @default - the Endpoints service name
   */
  readonly title?: string;
  /**
   * Whether callers without an API key are served. ESPv2 then still reports every call to Service Control (metrics,
   * logs, quotas by caller IP); with false, a caller sends a key of a project that has enabled the API (`x-api-key`).
   * @default true
   */
  readonly allowUnregisteredCalls?: boolean;
  /**
   * ESPv2's gRPC port (`--listener_port`), the container port and the port of its Service.
   * @default 9000
   */
  readonly port?: number;
  /**
   * Name of the Service in front of the ESPv2 sidecars.
   * @default `${app.name}-esp`
   */
  readonly name?: string;
  /**
   * The ESPv2 image. Tag `2` is Google's recommended floating tag: the latest 2.x release.
   * @default { repository: 'gcr.io/endpoints-release/endpoints-runtime', tag: '2' }
   */
  readonly image?: ContainerImage;
  /**
   * Requests and limits of the ESPv2 container.
   * @default requests 100m CPU and 128Mi memory, limits 1 CPU and 256Mi memory
   */
  readonly resources?: ContainerResources;
  /**
   * How long ESPv2 keeps proxying after the pod is told to stop, so that it serves through the app's drain delay
   * and the calls the server is still draining finish (Envoy would exit on SIGTERM at once): a preStop sleep.
   * @default - the app's drain delay plus its drain time
   */
  readonly drainTime?: Duration;
}

/**
 * Google Cloud Endpoints for a gRPC app: the ESPv2 proxy as a sidecar in each of its pods (added to the app's
 * Deployment through the cdk8s escape hatch), which checks each call against the Endpoints service configuration
 * (API keys, quotas), reports it to Service Control and forwards it to the server on `127.0.0.1`, plus a ClusterIP
 * Service on ESPv2's port, and the `api_config.yaml` content for `gcloud endpoints services deploy`.
 *
 * ESPv2 balances nothing: each sidecar sends every call to its own pod. Per-call balancing over the pods is the job
 * of an L7 proxy in front of this Service (a Gateway API gateway, see `cloudEndpoints`).
 */
export class CloudEndpointsProxy extends Construct implements IGrpcBackend, IGrpcEndpoint {
  /** Name of the Service in front of the sidecars. */
  readonly name: string;
  readonly namespace: INamespace;
  readonly endpointsServiceName: string;
  readonly apis: readonly string[];
  /** ESPv2's gRPC port: the container's and the Service's. */
  readonly port: number;
  /** The Service port's name (and Istio's hint of the protocol). */
  readonly portName = 'grpc';
  /**
   * The Service port's appProtocol, as for the app's own Service: ESPv2's listener takes HTTP/1.1 and cleartext
   * HTTP/2 alike (its HTTP connection manager's codec is AUTO: GoogleCloudPlatform/esp-v2 v2.55.7
   * src/go/configgenerator/filtergen/http_connection_manager.go).
   */
  readonly appProtocol: string;
  /** The app's pods, which carry the sidecars. */
  readonly selectorLabels: Readonly<Record<string, string>>;
  readonly identity: MeshIdentity;
  readonly service: ApiObject;
  /** The content of `api_config.yaml`. */
  readonly apiConfig: {
    readonly type: 'google.api.Service';
    readonly config_version: 3;
    /** The Endpoints service name: what ESPv2's `--service` names. */
    readonly name: string;
    readonly title: string;
    /** The gRPC services of the API, by fully qualified name; the descriptor set must define each. */
    readonly apis: ReadonlyArray<{ readonly name: string }>;
    readonly usage: {
      readonly rules: ReadonlyArray<{ readonly selector: string; readonly allow_unregistered_calls: boolean }>;
    };
  };
  /** The ClusterIP Service: one virtual IP; an L7 proxy in front balances each call. */
  readonly loadBalancingPolicy = 'pick_first';

  constructor(scope: Construct, id: string, props: CloudEndpointsProxyProps) {
    super(scope, id);
    const subject = subjectOf(this);
    const { app } = props;
    this.namespace = app.namespace;
    this.selectorLabels = app.selectorLabels;
    this.identity = app.identity;
    this.name = dnsLabel(subject, 'name', props.name ?? `${app.name}-esp`);
    this.appProtocol = serviceGrpcAppProtocol(app.namespace.mesh);
    this.endpointsServiceName = hostName(subject, 'endpointsServiceName', props.endpointsServiceName);
    this.apis = protoServiceNames(subject, 'apis', props.apis, 1);
    const title = props.title ?? this.endpointsServiceName;
    if (typeof title !== 'string' || title.trim() === '')
      throw invalidProp(subject, 'title', title, 'a non-empty title');
    this.port = validPort(subject, 'port', props.port ?? 9000);
    if (this.port === app.port)
      throw invalidProp(
        subject,
        'port',
        this.port,
        `a port other than the server's (${app.port}): both listen in one pod`,
      );
    const { image, imagePullPolicy } = containerImage(
      subject,
      'image',
      props.image ?? { repository: 'gcr.io/endpoints-release/endpoints-runtime', tag: '2' },
    );
    const resources = containerResources(
      subject,
      'resources',
      props.resources ?? {
        requests: { cpu: '100m', memory: '128Mi' },
        limits: { cpu: '1', memory: '256Mi' },
      },
    );

    // The pod as GrpcApp rendered it: the escape hatch below adds to it, so read what is there first.
    const pod = app.deployment.toJson().spec.template.spec as RenderedPodSpec;
    if (pod.containers.some((c) => c.name === ESP_CONTAINER)) {
      throw invalidProp(subject, 'app', app.name, 'an app without an ESPv2 sidecar: one proxy per pod');
    }
    const drainMs =
      props.drainTime === undefined
        ? app.drainDelayMs + app.drainTimeMs
        : milliseconds(subject, 'drainTime', props.drainTime, 0);
    const drainSeconds = Math.ceil(drainMs / 1000);
    if (pod.terminationGracePeriodSeconds !== undefined && drainSeconds >= pod.terminationGracePeriodSeconds) {
      throw invalidProp(
        subject,
        'drainTime',
        `${drainMs} ms`,
        `shorter than the pod's terminationGracePeriodSeconds (${pod.terminationGracePeriodSeconds} s)`,
      );
    }

    this.apiConfig = {
      type: 'google.api.Service',
      config_version: 3,
      name: this.endpointsServiceName,
      title,
      apis: this.apis.map((name) => ({ name })),
      usage: { rules: [{ selector: '*', allow_unregistered_calls: props.allowUnregisteredCalls ?? true }] },
    };

    const healthProbe = (periodSeconds: number, failureThreshold: number): k8s.Probe => ({
      httpGet: { path: `/${HEALTHZ}`, port: k8s.IntOrString.fromString(ESP_PORT_NAME) },
      periodSeconds,
      failureThreshold,
      timeoutSeconds: 1,
    });
    const tmp = 'esp-tmp';
    const esp: k8s.Container = {
      name: ESP_CONTAINER,
      image,
      imagePullPolicy,
      args: [
        `--listener_port=${this.port}`,
        // Loopback: each sidecar hands every call to the server in its own pod.
        `--backend=grpc://127.0.0.1:${app.port}`,
        `--service=${this.endpointsServiceName}`,
        // Follow the service configuration that `gcloud endpoints services deploy` rolls out last.
        '--rollout_strategy=managed',
        `--healthz=${HEALTHZ}`,
      ],
      ports: [{ name: ESP_PORT_NAME, containerPort: this.port, protocol: 'TCP' }],
      resources,
      // The pod's non-root user rather than the image's `envoy`: ESPv2 writes only to /tmp, an emptyDir of the pod's fsGroup.
      securityContext: restrictedContainerSecurityContext(DISTROLESS_NONROOT_UID),
      // ESPv2 fetches its service configuration from Service Management before it listens.
      startupProbe: healthProbe(2, 30),
      readinessProbe: healthProbe(5, 1),
      livenessProbe: healthProbe(10, 3),
      // Envoy exits at once on SIGTERM: keep proxying while the server drains the calls in flight. The image (Alpine)
      // has `sleep`; the lifecycle `sleep` action is missing from cdk8s-plus-27's types.
      lifecycle: drainSeconds === 0 ? undefined : { preStop: { exec: { command: ['sleep', String(drainSeconds)] } } },
      // The root file system is read-only; Envoy and ESPv2's config manager write only temporary files.
      volumeMounts: [{ name: tmp, mountPath: '/tmp' }],
    };
    const volume: k8s.Volume = { name: tmp, emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } };
    // The escape hatch. KubeDeployment maps its props to JSON after applying patches, so the values are in the typed
    // props' shape (k8s.Container), and fields newer than cdk8s-plus-27's types would be dropped.
    app.deployment.addJsonPatch(JsonPatch.add('/spec/template/spec/containers/-', esp));
    app.deployment.addJsonPatch(
      JsonPatch.add(
        pod.volumes === undefined ? '/spec/template/spec/volumes' : '/spec/template/spec/volumes/-',
        pod.volumes === undefined ? [volume] : volume,
      ),
    );

    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, namespace: this.namespace.name },
      spec: {
        type: 'ClusterIP',
        selector: app.selectorLabels,
        ports: [
          {
            name: this.portName,
            appProtocol: this.appProtocol,
            port: this.port,
            targetPort: k8s.IntOrString.fromString(ESP_PORT_NAME),
            protocol: 'TCP',
          },
        ],
      },
    });
  }

  /** The ESPv2 Service as a client dials it (plaintext: TLS ends at the gateway in front). */
  get grpcTarget(): string {
    return `${serviceDnsName(this.name, this.namespace)}:${this.port}`;
  }

  get serviceName(): string {
    return this.name;
  }

  get clientNamespace(): INamespace {
    return this.namespace;
  }
}

/** The parts of the rendered pod spec the proxy reads. */
interface RenderedPodSpec {
  readonly containers: ReadonlyArray<{
    readonly name: string;
    readonly env?: ReadonlyArray<{ readonly name: string; readonly value?: string }>;
  }>;
  readonly volumes?: readonly unknown[];
  readonly terminationGracePeriodSeconds?: number;
}
