import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { CLIENT_ENV } from '../app/settings';
import {
  DEFAULT_GRPC_CLIENT_POLICY,
  PropValidator,
  restrictedSecurityContext,
  workloadLabels,
  type ContainerImage,
  type ContainerResources,
  type IGrpcEndpoint,
  type INamespace,
  type MeshIdentity,
} from '../lib';

/** The ServiceAccount Kubernetes creates in every namespace, which pods that name none run as. */
const DEFAULT_SERVICE_ACCOUNT = 'default';

/**
 * The mesh identity of the client of `endpoint` (its namespace's `default` ServiceAccount unless the endpoint names
 * one), for policies that admit it before it is rendered.
 */
export function greeterClientIdentity(endpoint: IGrpcEndpoint): MeshIdentity {
  return {
    namespace: endpoint.clientNamespace,
    serviceAccountName: endpoint.clientServiceAccountName ?? DEFAULT_SERVICE_ACCOUNT,
  };
}

export interface GreeterClientProps {
  /**
   * What to call: a gateway, an ingress, a Service. The client dials its target with its load-balancing policy and,
   * where it terminates TLS, verifies its certificate and sends its host as server name.
   */
  readonly endpoint: IGrpcEndpoint;
  /** The greeter client image (`app/client.ts`, Dockerfile target `client`). */
  readonly image: ContainerImage;
  /**
   * Namespace the client runs in. Where the endpoint terminates TLS, its Secret must be readable there.
   * @default endpoint.clientNamespace
   */
  readonly namespace?: INamespace;
  /**
   * Name of the Deployment and the `app` label of its pod.
   * @default 'greeter-client'
   */
  readonly name?: string;
  /**
   * Pause between calls.
   * @default Duration.seconds(1)
   */
  readonly interval?: Duration;
  /**
   * Print the per-pod summary every this many calls.
   * @default 30
   */
  readonly summaryEvery?: number;
  /**
   * Requests and limits of the client container.
   * @default requests 20m CPU and 64Mi memory, limits 200m CPU and 128Mi memory
   */
  readonly resources?: ContainerResources;
  /**
   * Attempts per call (the client's `MAX_ATTEMPTS`; see `GrpcClientPolicy.maxAttempts`), from 1 to 5.
   * @default - the endpoint's `clientPolicy`, else DEFAULT_GRPC_CLIENT_POLICY's
   */
  readonly maxAttempts?: number;
  /**
   * Whether calls wait for a connection while no pod is reachable (the client's `WAIT_FOR_READY`).
   * @default - the endpoint's `clientPolicy`, else DEFAULT_GRPC_CLIENT_POLICY's
   */
  readonly waitForReady?: boolean;
  /**
   * For a `dns:` target, the shortest time between two resolutions (the client's `DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS`).
   * @default - the endpoint's `clientPolicy` (HeadlessGrpcService: 2 s), else grpc-js's own (30 s)
   */
  readonly minTimeBetweenResolutions?: Duration;
}

/**
 * The greeter's client (app/client.ts) as a check that calls spread: one pod that calls SayHello through an endpoint
 * forever over one channel and logs
 * `Hello grpc.example.com:443 from greeter-<pod>`, so `kubectl logs` shows whether the pods rotate.
 *
 * A client of a TLS endpoint (a gateway or ingress) trusts the certificate in its Secret (self-signed: it is its own
 * CA), mounts only that, never the key, and stays out of the mesh, as an outside caller would. A client of a
 * plaintext endpoint joins its namespace's mesh, if any: that sidecar is what balances each call.
 */
export class GreeterClient extends Construct {
  readonly name: string;
  readonly namespace: INamespace;
  readonly deployment: k8s.KubeDeployment;

  constructor(scope: Construct, id: string, props: GreeterClientProps) {
    super(scope, id);
    const check = PropValidator.of(this);
    const { endpoint } = props;
    this.name = check.dnsLabel('name', props.name ?? 'greeter-client');
    this.namespace = props.namespace ?? endpoint.clientNamespace;
    const { image, imagePullPolicy } = check.image('image', props.image);
    const intervalMs = check.milliseconds('interval', props.interval ?? Duration.seconds(1), 0);
    const summaryEvery = check.integer('summaryEvery', props.summaryEvery ?? 30, 0);
    const securityContext = restrictedSecurityContext();
    const resources = check.resources(
      'resources',
      props.resources ?? {
        requests: { cpu: '20m', memory: '64Mi' },
        limits: { cpu: '200m', memory: '128Mi' },
      },
    );
    const policy = endpoint.clientPolicy ?? DEFAULT_GRPC_CLIENT_POLICY;
    const maxAttempts = check.integer('maxAttempts', props.maxAttempts ?? policy.maxAttempts, 1, 5);
    const waitForReady = props.waitForReady ?? policy.waitForReady;
    const minTimeBetweenResolutionsMs =
      props.minTimeBetweenResolutions === undefined
        ? policy.minTimeBetweenResolutionsMs
        : check.milliseconds('minTimeBetweenResolutions', props.minTimeBetweenResolutions, 0);
    const labels = workloadLabels(this.name);
    const caDirectory = '/etc/greeter-ca';
    const caFile = 'ca.crt';
    const { tls } = endpoint;

    const env: k8s.EnvVar[] = [
      { name: CLIENT_ENV.target, value: endpoint.grpcTarget },
      { name: CLIENT_ENV.lbPolicy, value: endpoint.loadBalancingPolicy },
      ...(tls === undefined
        ? []
        : [
            { name: CLIENT_ENV.serverName, value: tls.serverName },
            { name: CLIENT_ENV.caFile, value: `${caDirectory}/${caFile}` },
          ]),
      { name: CLIENT_ENV.intervalMs, value: String(intervalMs) },
      { name: CLIENT_ENV.summaryEvery, value: String(summaryEvery) },
      { name: CLIENT_ENV.maxAttempts, value: String(maxAttempts) },
      { name: CLIENT_ENV.waitForReady, value: String(waitForReady) },
      ...(minTimeBetweenResolutionsMs === undefined
        ? []
        : [{ name: CLIENT_ENV.dnsMinTimeBetweenResolutionsMs, value: String(minTimeBetweenResolutionsMs) }]),
    ];
    const apiAccess = endpoint.clientServiceAccountName !== undefined;

    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name: this.name, namespace: this.namespace.name, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: labels.app } },
        template: {
          metadata: {
            labels: tls === undefined ? labels : { ...labels, 'sidecar.istio.io/inject': 'false' },
            annotations: endpoint.clientPodAnnotations === undefined ? undefined : { ...endpoint.clientPodAnnotations },
          },
          spec: {
            serviceAccountName: endpoint.clientServiceAccountName,
            // Only a client that reads the Kubernetes API itself gets a token.
            automountServiceAccountToken: apiAccess,
            securityContext: securityContext.pod,
            volumes:
              tls === undefined
                ? undefined
                : [
                    {
                      name: 'endpoint-ca',
                      secret: { secretName: tls.secretName, items: [{ key: 'tls.crt', path: caFile }] },
                    },
                  ],
            containers: [
              {
                name: 'client',
                image,
                imagePullPolicy,
                env,
                volumeMounts:
                  tls === undefined ? undefined : [{ name: 'endpoint-ca', mountPath: caDirectory, readOnly: true }],
                resources,
                securityContext: securityContext.container,
              },
            ],
          },
        },
      },
    });
  }
}
