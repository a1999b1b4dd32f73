import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { GreeterApp } from '../greeter-app';
import type { GrpcEndpointTls, IGrpcEndpoint } from '../grpc-endpoint';
import { clientChart, frontDoorTls, greeterCharts, type Strategy } from '../strategy';
import { dnsLabel, dnsSubdomain, hostName, port as validPort, type ValidationSubject } from '../validate';
import { existingNamespace, type INamespace } from '../workload';

/** The ingress-nginx controller's Service, which in-cluster clients dial (its LoadBalancer or ClusterIP). */
export interface IngressControllerService {
  /** Name of the controller's Service. */
  readonly name: string;
  /** Namespace of the controller. */
  readonly namespace: INamespace;
  /** Its HTTPS port. */
  readonly port: number;
}

export interface NginxGrpcIngressProps {
  /** The greeter whose Service the Ingress routes to. */
  readonly app: GreeterApp;
  /** Host the Ingress serves TLS for. */
  readonly host: string;
  /** The `kubernetes.io/tls` Secret for the host, in the app's namespace (an Ingress reads Secrets from its own). */
  readonly tlsSecretName: string;
  /**
   * Name of the Ingress.
   * @default app.name
   */
  readonly name?: string;
  /**
   * `ingressClassName`: the controller that serves this Ingress.
   * @default 'nginx'
   */
  readonly ingressClassName?: string;
  /**
   * The controller's Service, as ingress-nginx's own manifests and Helm chart name it.
   * @default { name: 'ingress-nginx-controller', namespace: existingNamespace('ingress-nginx'), port: 443 }
   */
  readonly controller?: IngressControllerService;
}

/**
 * ingress-nginx's gRPC example as a construct: an Ingress for the host with TLS, whose backend protocol is `GRPC`,
 * so nginx terminates TLS, speaks HTTP/2 to the pods (`grpc_pass`) and balances each call over the Service's
 * endpoints (ingress-nginx routes to pod IPs, not the ClusterIP). ingress-nginx serves HTTP/2 only with TLS.
 */
export class NginxGrpcIngress extends Construct implements IGrpcEndpoint {
  readonly name: string;
  readonly host: string;
  readonly tlsSecretName: string;
  readonly controller: IngressControllerService;
  readonly ingress: k8s.KubeIngress;
  /** Clients run beside the app: the Ingress's TLS Secret is in the app's namespace. */
  readonly clientNamespace: INamespace;
  /** nginx balances each call; the client needs one connection to it. */
  readonly loadBalancingPolicy = 'pick_first';

  constructor(scope: Construct, id: string, props: NginxGrpcIngressProps) {
    super(scope, id);
    const subject: ValidationSubject = { construct: 'NginxGrpcIngress', id };
    const { app } = props;
    this.name = dnsSubdomain(subject, 'name', props.name ?? app.name);
    this.host = hostName(subject, 'host', props.host);
    this.tlsSecretName = dnsSubdomain(subject, 'tlsSecretName', props.tlsSecretName);
    const ingressClassName = dnsSubdomain(subject, 'ingressClassName', props.ingressClassName ?? 'nginx');
    const controller = props.controller ?? { name: 'ingress-nginx-controller', namespace: existingNamespace('ingress-nginx'), port: 443 };
    this.controller = {
      name: dnsLabel(subject, 'controller.name', controller.name),
      namespace: controller.namespace,
      port: validPort(subject, 'controller.port', controller.port),
    };
    this.clientNamespace = app.namespace;

    this.ingress = new k8s.KubeIngress(this, 'Resource', {
      metadata: {
        name: this.name,
        namespace: app.namespace.name,
        labels: app.podLabels,
        // grpc_pass instead of proxy_pass: HTTP/2 to the pods, one call at a time balanced over them.
        annotations: { 'nginx.ingress.kubernetes.io/backend-protocol': 'GRPC' },
      },
      spec: {
        ingressClassName,
        tls: [{ hosts: [this.host], secretName: this.tlsSecretName }],
        rules: [{
          host: this.host,
          http: {
            // The app's own services only (a gRPC path is /<service>/<method>): health and reflection stay in-cluster.
            paths: app.grpcServices.map((service) => ({ path: `/${service}/`, pathType: 'Prefix', backend: { service: { name: app.name, port: { name: app.portName } } } })),
          },
        }],
      },
    });
  }

  /** In-cluster clients dial the controller's Service and send the host as server name. */
  get grpcTarget(): string {
    return `${this.controller.name}.${this.controller.namespace.name}.svc.cluster.local:${this.controller.port}`;
  }

  get tls(): GrpcEndpointTls {
    return { serverName: this.host, secretName: this.tlsSecretName };
  }
}

/** ingress-nginx terminates TLS and balances each call over the greeter's pods; no mesh. */
export const nginxIngressStrategy: Strategy = {
  name: 'nginx-ingress',
  summary: 'ingress-nginx Ingress with backend protocol GRPC; nginx balances each call over the pods',
  render(app, env) {
    const { namespaceChart, greeterChart, greeter } = greeterCharts(app, env, { mesh: 'none' });
    const ingressChart = new Chart(app, 'ingress');
    const ingress = new NginxGrpcIngress(ingressChart, 'ingress', { app: greeter, host: env.host, tlsSecretName: env.tls.secretName });
    const { tlsSecret } = frontDoorTls(ingressChart, env, ingress);
    ingressChart.addDependency(namespaceChart, greeterChart);
    clientChart(app, env, ingress, [ingressChart]);
    return { tlsSecret };
  },
};
