/**
 * The environments `main.ts` synthesizes, each into `dist/<name>/`. They differ only in this small typed object;
 * everything else is the constructs' defaults.
 */
import { version } from '../app/package.json';
import { PropValidator, type ContainerImage } from '../lib';
import { apiServerUrl } from './argo-cd-application';
import type { StrategyName } from './strategy';

/**
 * The kind of LoadBalancer Service in front of the gateway pods:
 * - `gke-internal`: a GKE internal passthrough load balancer, reachable only from the VPC;
 * - `default`: the cluster's default LoadBalancer (Docker Desktop publishes it on localhost).
 */
export type GatewayLoadBalancer = 'gke-internal' | 'default';
const GATEWAY_LOAD_BALANCERS: readonly GatewayLoadBalancer[] = ['gke-internal', 'default'];

/** Where the gateway's certificate and key come from. */
export type TlsSource =
  /** `npm run certs` makes them with openssl and prints the `kubectl create secret tls` command (the walkthrough's path). */
  | 'kubectl-secret'
  /** cert-manager issues them from a self-signed Issuer into the same Secret (clusters that run cert-manager). */
  | 'cert-manager';

const TLS_SOURCES: readonly TlsSource[] = ['kubectl-secret', 'cert-manager'];

/** Who creates the GatewayClass of Envoy Gateway's Gateways: this repository's dist/, or the platform. */
export type EnvoyGatewayClassSource = 'rendered' | 'platform';
const ENVOY_GATEWAY_CLASS_SOURCES: readonly EnvoyGatewayClassSource[] = ['rendered', 'platform'];

/**
 * A cluster that runs one strategy of an environment, with its own Argo CD: its root and Applications go to
 * `dist/argocd/<name>/`.
 */
export interface ArgoCdCluster {
  /** Directory under `dist/argocd/` and suffix of its Application's name, unique across environments. */
  readonly name: string;
  /** One of the environment's `strategies`. */
  readonly strategy: StrategyName;
  /**
   * The cluster, by API server URL as its Argo CD knows it: `https://kubernetes.default.svc` when Argo CD runs in
   * that cluster (one Argo CD per cluster).
   */
  readonly destinationServer: string;
}

export interface EnvironmentConfig {
  /** Directory under `dist/`, and what `npm run synth -- <name>` and `npm run certs -- <name>` take. */
  readonly name: string;
  /** Images of the Dockerfile's `server` and `client` targets. */
  readonly images: {
    /** Registry path the images are pushed to; empty for images built into the node's engine. */
    readonly registry: string;
    readonly tag: string;
    readonly pullPolicy: NonNullable<ContainerImage['pullPolicy']>;
  };
  /** The app's namespace (labelled for sidecar injection) and the gateway's, which the Istio install creates. */
  readonly namespaces: { readonly app: string; readonly gateway: string };
  readonly replicas: { readonly greeter: number; readonly gateway: number };
  readonly gatewayLoadBalancer: GatewayLoadBalancer;
  /** Host the gateway serves TLS for. */
  readonly host: string;
  readonly tls: { readonly secretName: string; readonly source: TlsSource };
  /**
   * The load-balancing strategies to render, each into `dist/<name>/<strategy>/`: pick one (or several) by name.
   * Apply one strategy's directory to a cluster: they share the greeter's namespace and names.
   */
  readonly strategies: readonly StrategyName[];
  /**
   * Google Cloud Endpoints, for the `endpoints` strategy: the service name that ESPv2 (`--service`) and
   * `api_config.yaml` (`npm run endpoints`) share, `<api>.endpoints.<project>.cloud.goog`.
   * @default - none: the environment cannot render the `endpoints` strategy
   */
  readonly endpoints?: { readonly serviceName: string };
  /**
   * Where the `envoy-gateway` strategy's GatewayClass `eg` comes from: `rendered` with the Namespace, or the
   * `platform`'s own (a cluster that runs Envoy Gateway for several teams), which the strategy leaves alone.
   * @default 'rendered'
   */
  readonly envoyGatewayClass?: EnvoyGatewayClassSource;
  /** What Argo CD deploys for this environment (dist/argocd/<name>/: its Applications and the root that deploys them). */
  readonly argoCd: {
    /** One of `strategies`: a cluster runs one strategy at a time. */
    readonly strategy: StrategyName;
    /**
     * The environment's cluster, by API server URL as the Argo CD that holds the environment's root knows it:
     * `https://kubernetes.default.svc` when Argo CD runs in that cluster (one Argo CD per cluster).
     */
    readonly destinationServer: string;
    /**
     * More clusters of the environment, each running another of its strategies (Istio in ambient mode, say, is a
     * cluster-wide install), each with its own root.
     * @default - none
     */
    readonly moreClusters?: readonly ArgoCdCluster[];
  };
}

/** What every environment shares: the Istio ILB walkthrough's namespaces, host and TLS Secret. */
const WALKTHROUGH = {
  namespaces: { app: 'testing', gateway: 'istio-system' },
  host: 'grpc.example.com',
  tls: { secretName: 'grpc-example-com-tls', source: 'kubectl-secret' },
} as const satisfies Partial<EnvironmentConfig>;

/** Image names of the Dockerfile's targets (`docker build --target server -t <registry>/greeter-server:<tag>`). */
export const IMAGE_NAMES = { server: 'greeter-server', client: 'greeter-client' } as const;

export const ENVIRONMENTS = {
  /** GKE: images from a registry (set yours: gcr.io/<project> or <region>-docker.pkg.dev/<project>/<repo>), an internal load balancer, two gateway pods. */
  gke: {
    ...WALKTHROUGH,
    name: 'gke',
    strategies: [
      'istio-ilb',
      'nginx-ingress',
      'linkerd',
      'headless',
      'gateway-api',
      'endpoints',
      'k8s-resolver',
      'envoy-gateway',
      'istio-proxyless',
      'istio-ambient',
      'gke-gateway',
    ],
    // Images are tagged with the version of the app package they are built from.
    images: { registry: 'gcr.io/my-project', tag: version, pullPolicy: 'IfNotPresent' },
    replicas: { greeter: 3, gateway: 2 },
    gatewayLoadBalancer: 'gke-internal',
    // The same placeholder project as the registry: set yours.
    endpoints: { serviceName: 'greeter.endpoints.my-project.cloud.goog' },
    // Argo CD running in the GKE cluster itself; an ambient Istio cluster and a cluster with GKE's Gateway alone.
    argoCd: {
      strategy: 'istio-ilb',
      destinationServer: 'https://kubernetes.default.svc',
      moreClusters: [
        { name: 'gke-ambient', strategy: 'istio-ambient', destinationServer: 'https://kubernetes.default.svc' },
        { name: 'gke-gateway', strategy: 'gke-gateway', destinationServer: 'https://kubernetes.default.svc' },
      ],
    },
  },
  /** Docker Desktop: locally built images that are never pulled, and a LoadBalancer published on localhost:443. */
  'docker-desktop': {
    ...WALKTHROUGH,
    name: 'docker-desktop',
    // Cloud Endpoints needs Google Cloud's Service Management and Service Control; GKE's Gateway, GKE.
    strategies: [
      'istio-ilb',
      'nginx-ingress',
      'linkerd',
      'headless',
      'gateway-api',
      'k8s-resolver',
      'envoy-gateway',
      'istio-proxyless',
      'istio-ambient',
    ],
    images: { registry: '', tag: version, pullPolicy: 'Never' },
    replicas: { greeter: 3, gateway: 1 },
    gatewayLoadBalancer: 'default',
    // Argo CD running in the Docker Desktop cluster itself (with Istio installed in ambient mode for the second root).
    argoCd: {
      strategy: 'istio-ilb',
      destinationServer: 'https://kubernetes.default.svc',
      moreClusters: [
        {
          name: 'docker-desktop-ambient',
          strategy: 'istio-ambient',
          destinationServer: 'https://kubernetes.default.svc',
        },
      ],
    },
  },
} as const satisfies Record<string, EnvironmentConfig>;

export type EnvironmentName = keyof typeof ENVIRONMENTS;

/** The environment of that name, or an error that lists the ones there are. */
export function environment(name: string): EnvironmentConfig {
  if (!Object.hasOwn(ENVIRONMENTS, name)) {
    throw new Error(
      `unknown environment ${JSON.stringify(name)}: expected one of ${Object.keys(ENVIRONMENTS)
        .map((n) => JSON.stringify(n))
        .join(', ')}`,
    );
  }
  return ENVIRONMENTS[name as EnvironmentName];
}

/** The repository of one of the images in an environment: `<registry>/<name>`, or the bare name for local images. */
export function imageRepository(env: EnvironmentConfig, image: keyof typeof IMAGE_NAMES): string {
  return env.images.registry === '' ? IMAGE_NAMES[image] : `${env.images.registry}/${IMAGE_NAMES[image]}`;
}

/** One of the images as a construct takes it: repository, tag and pull policy from the environment. */
export function environmentImage(env: EnvironmentConfig, image: keyof typeof IMAGE_NAMES): ContainerImage {
  return { repository: imageRepository(env, image), tag: env.images.tag, pullPolicy: env.images.pullPolicy };
}

/**
 * Checks every field of an environment before anything is rendered, so a typo in a config names the environment,
 * the field and the value (`EnvironmentConfig 'gke': namespaces.app must be a DNS-1123 label ..., got "Testing"`)
 * rather than surfacing as a construct's error. The strategies list is checked with the strategies themselves.
 */
export function validateEnvironment(env: EnvironmentConfig): EnvironmentConfig {
  const check = PropValidator.named('EnvironmentConfig', String(env?.name));
  check.dnsLabel('name', env.name);
  const registry = env.images?.registry;
  if (
    typeof registry !== 'string' ||
    (registry !== '' && !PropValidator.isImageRepository(`${registry}/${IMAGE_NAMES.server}`))
  ) {
    throw check.error(
      'images.registry',
      registry,
      'empty (locally built images) or a registry path such as "gcr.io/my-project"',
    );
  }
  check.image('images', {
    repository: IMAGE_NAMES.server,
    tag: env.images.tag,
    pullPolicy: env.images.pullPolicy,
  });
  check.dnsLabel('namespaces.app', env.namespaces?.app);
  check.dnsLabel('namespaces.gateway', env.namespaces?.gateway);
  check.integer('replicas.greeter', env.replicas?.greeter, 1);
  check.integer('replicas.gateway', env.replicas?.gateway, 1);
  check.oneOf('gatewayLoadBalancer', env.gatewayLoadBalancer, GATEWAY_LOAD_BALANCERS);
  check.hostName('host', env.host);
  check.dnsSubdomain('tls.secretName', env.tls?.secretName);
  check.oneOf('tls.source', env.tls?.source, TLS_SOURCES);
  if (env.endpoints !== undefined) check.hostName('endpoints.serviceName', env.endpoints.serviceName);
  if (env.envoyGatewayClass !== undefined)
    check.oneOf('envoyGatewayClass', env.envoyGatewayClass, ENVOY_GATEWAY_CLASS_SOURCES);
  apiServerUrl(check, 'argoCd.destinationServer', env.argoCd?.destinationServer);
  (env.argoCd?.moreClusters ?? []).forEach((cluster, index) => {
    check.dnsLabel(`argoCd.moreClusters[${index}].name`, cluster?.name);
    apiServerUrl(check, `argoCd.moreClusters[${index}].destinationServer`, cluster.destinationServer);
  });
  return env;
}

/** Every cluster of an environment: its own (named like it), then `argoCd.moreClusters`. */
export function argoCdClusters(env: EnvironmentConfig): ArgoCdCluster[] {
  const { strategy, destinationServer, moreClusters = [] } = env.argoCd;
  return [{ name: env.name, strategy, destinationServer }, ...moreClusters];
}
