import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { IstioIlbGateway } from './istio-ilb-gateway';
import { dnsLabel, integerIn, milliseconds, type ValidationSubject } from './validate';
import {
  containerImage,
  containerResources,
  DISTROLESS_NONROOT_UID,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  workloadLabels,
  type ContainerImage,
  type ContainerResources,
} from './workload';

export interface GreeterClientTestProps {
  /** The gateway to call: the client dials its Service, verifies its certificate and sends its host as server name. */
  readonly gateway: IstioIlbGateway;
  /** The greeter client image (`app/client.ts`, Dockerfile target `client`). */
  readonly image: ContainerImage;
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
}

/**
 * The seed's client test: one pod in the gateway's namespace that calls SayHello through the gateway forever over
 * one channel and logs `Hello grpc.example.com:443 from greeter-<pod>`, so `kubectl logs` shows the pods rotate.
 * It trusts the certificate in the gateway's TLS Secret (self-signed: it is its own CA) and mounts only that, never
 * the key. It stays out of the mesh, as an outside client of the internal load balancer would be.
 */
export class GreeterClientTest extends Construct {
  readonly name: string;
  readonly deployment: k8s.KubeDeployment;

  constructor(scope: Construct, id: string, props: GreeterClientTestProps) {
    super(scope, id);
    const subject: ValidationSubject = { construct: 'GreeterClientTest', id };
    const { gateway } = props;
    this.name = dnsLabel(subject, 'name', props.name ?? 'greeter-client');
    const { image, imagePullPolicy } = containerImage(subject, 'image', props.image);
    const intervalMs = milliseconds(subject, 'interval', props.interval ?? Duration.seconds(1), 0);
    const summaryEvery = integerIn(subject, 'summaryEvery', props.summaryEvery ?? 30, 0);
    const resources = containerResources(subject, 'resources', props.resources ?? {
      requests: { cpu: '20m', memory: '64Mi' },
      limits: { cpu: '200m', memory: '128Mi' },
    });
    const labels = workloadLabels(this.name);
    const caDirectory = '/etc/greeter-ca';
    const caFile = 'ca.crt';

    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name: this.name, namespace: gateway.namespace.name, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: labels.app } },
        template: {
          metadata: { labels: { ...labels, 'sidecar.istio.io/inject': 'false' } },
          spec: {
            automountServiceAccountToken: false,
            securityContext: restrictedPodSecurityContext(DISTROLESS_NONROOT_UID),
            volumes: [{
              name: 'gateway-ca',
              secret: { secretName: gateway.tlsSecretName, items: [{ key: 'tls.crt', path: caFile }] },
            }],
            containers: [{
              name: 'client',
              image,
              imagePullPolicy,
              env: [
                { name: 'TARGET', value: `${gateway.serviceHost}:${gateway.port}` },
                { name: 'SERVER_NAME', value: gateway.host },
                { name: 'CA_FILE', value: `${caDirectory}/${caFile}` },
                { name: 'INTERVAL_MS', value: String(intervalMs) },
                { name: 'SUMMARY_EVERY', value: String(summaryEvery) },
              ],
              volumeMounts: [{ name: 'gateway-ca', mountPath: caDirectory, readOnly: true }],
              resources,
              securityContext: restrictedContainerSecurityContext(DISTROLESS_NONROOT_UID),
            }],
          },
        },
      },
    });
  }
}
