/**
 * The environments `main.ts` synthesizes, each into `dist/<name>/`. They differ only in this small typed object;
 * everything else is the constructs' defaults.
 */
import { version } from '../package.json';
import type { GatewayLoadBalancer } from './istio-ilb-gateway';
import type { ImagePullPolicy } from './workload';

/** Where the gateway's certificate and key come from. */
export type TlsSource =
  /** `npm run certs` makes them with openssl and prints the `kubectl create secret tls` command (the seed's path). */
  | 'kubectl-secret'
  /** cert-manager issues them from a self-signed Issuer into the same Secret (clusters that run cert-manager). */
  | 'cert-manager';

export interface EnvironmentConfig {
  /** Directory under `dist/`, and what `npm run synth -- <name>` and `npm run certs -- <name>` take. */
  readonly name: string;
  /** Images of the Dockerfile's `server` and `client` targets. */
  readonly images: {
    /** Registry path the images are pushed to; empty for images built into the node's engine. */
    readonly registry: string;
    readonly tag: string;
    readonly pullPolicy: ImagePullPolicy;
  };
  /** The app's namespace (labelled for sidecar injection) and the gateway's, which the Istio install creates. */
  readonly namespaces: { readonly app: string; readonly gateway: string };
  readonly replicas: { readonly greeter: number; readonly gateway: number };
  readonly gatewayLoadBalancer: GatewayLoadBalancer;
  /** Host the gateway serves TLS for. */
  readonly host: string;
  readonly tls: { readonly secretName: string; readonly source: TlsSource };
}

/** What every environment shares: the seed's walkthrough. */
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
    images: { registry: 'gcr.io/my-project', tag: version, pullPolicy: 'IfNotPresent' },
    replicas: { greeter: 3, gateway: 2 },
    gatewayLoadBalancer: 'gke-internal',
  },
  /** Docker Desktop: locally built images that are never pulled, and a LoadBalancer published on localhost:443. */
  'docker-desktop': {
    ...WALKTHROUGH,
    name: 'docker-desktop',
    images: { registry: '', tag: version, pullPolicy: 'Never' },
    replicas: { greeter: 3, gateway: 1 },
    gatewayLoadBalancer: 'default',
  },
} as const satisfies Record<string, EnvironmentConfig>;

export type EnvironmentName = keyof typeof ENVIRONMENTS;

/** The environment of that name, or an error that lists the ones there are. */
export function environment(name: string): EnvironmentConfig {
  if (!Object.hasOwn(ENVIRONMENTS, name)) {
    throw new Error(`unknown environment ${JSON.stringify(name)}: expected one of ${Object.keys(ENVIRONMENTS).map((n) => JSON.stringify(n)).join(', ')}`);
  }
  return ENVIRONMENTS[name as EnvironmentName];
}

/** The repository of one of the images in an environment: `<registry>/<name>`, or the bare name for local images. */
export function imageRepository(env: EnvironmentConfig, image: keyof typeof IMAGE_NAMES): string {
  return env.images.registry === '' ? IMAGE_NAMES[image] : `${env.images.registry}/${IMAGE_NAMES[image]}`;
}
