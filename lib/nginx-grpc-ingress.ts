import { ApiObject } from 'cdk8s';
import * as k8s from './imports/k8s';
import { Construct } from 'constructs';
import type { IGrpcBackend } from './grpc-backend';
import type { IGrpcEndpoint } from './grpc-endpoint';
import { serviceDnsName } from './internal/names';
import { dnsLabel, dnsSubdomain, hostName, port as validPort, protoServiceNames, subjectOf } from './internal/validate';
import { existingNamespace, type INamespace } from './namespace';

export interface NginxGrpcIngressProps {
  /** The backend whose Service the Ingress routes to. */
  readonly backend: IGrpcBackend;
  /** Host the Ingress serves TLS for. */
  readonly host: string;
  /** The `kubernetes.io/tls` Secret for the host, in the backend's namespace (an Ingress reads Secrets from its own). */
  readonly tlsSecretName: string;
  /**
   * Name of the Ingress.
   * @default backend.serviceName
   */
  readonly name?: string;
  /**
   * Fully qualified gRPC services the Ingress routes (`helloworld.Greeter`), one path prefix each (a gRPC path is
   * `/<service>/<method>`); an empty list routes every path.
   * @default [] (every service)
   */
  readonly grpcServices?: readonly string[];
  /**
   * `ingressClassName`: the controller that serves this Ingress.
   * @default 'nginx'
   */
  readonly ingressClassName?: string;
  /**
   * The controller's Service, which in-cluster clients dial (its LoadBalancer or ClusterIP), by name, namespace and
   * HTTPS port.
   * @default { name: 'ingress-nginx-controller', namespace: existingNamespace('ingress-nginx'), port: 443 }, as
   *   ingress-nginx's own manifests and Helm chart name it
   */
  readonly controller?: { readonly name: string; readonly namespace: INamespace; readonly port: number };
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
  readonly controller: { readonly name: string; readonly namespace: INamespace; readonly port: number };
  readonly ingress: ApiObject;
  /** Clients run beside the backend: the Ingress's TLS Secret is in its namespace. */
  readonly clientNamespace: INamespace;
  /** nginx balances each call; the client needs one connection to it. */
  readonly loadBalancingPolicy = 'pick_first';

  constructor(scope: Construct, id: string, props: NginxGrpcIngressProps) {
    super(scope, id);
    const subject = subjectOf(this);
    const { backend } = props;
    const grpcServices = protoServiceNames(subject, 'grpcServices', props.grpcServices ?? [], 0);
    this.name = dnsSubdomain(subject, 'name', props.name ?? backend.serviceName);
    this.host = hostName(subject, 'host', props.host);
    this.tlsSecretName = dnsSubdomain(subject, 'tlsSecretName', props.tlsSecretName);
    const ingressClassName = dnsSubdomain(subject, 'ingressClassName', props.ingressClassName ?? 'nginx');
    const controller = props.controller ?? {
      name: 'ingress-nginx-controller',
      namespace: existingNamespace('ingress-nginx'),
      port: 443,
    };
    this.controller = {
      name: dnsLabel(subject, 'controller.name', controller.name),
      namespace: controller.namespace,
      port: validPort(subject, 'controller.port', controller.port),
    };
    this.clientNamespace = backend.namespace;

    this.ingress = new k8s.KubeIngress(this, 'Resource', {
      metadata: {
        name: this.name,
        namespace: backend.namespace.name,
        // grpc_pass instead of proxy_pass: HTTP/2 to the pods, one call at a time balanced over them.
        annotations: { 'nginx.ingress.kubernetes.io/backend-protocol': 'GRPC' },
      },
      spec: {
        ingressClassName,
        tls: [{ hosts: [this.host], secretName: this.tlsSecretName }],
        rules: [
          {
            host: this.host,
            http: {
              paths: (grpcServices.length === 0 ? ['/'] : grpcServices.map((service) => `/${service}/`)).map(
                (path) => ({
                  path,
                  pathType: 'Prefix',
                  backend: { service: { name: backend.serviceName, port: { name: backend.portName } } },
                }),
              ),
            },
          },
        ],
      },
    });
  }

  /** In-cluster clients dial the controller's Service and send the host as server name. */
  get grpcTarget(): string {
    return `${serviceDnsName(this.controller.name, this.controller.namespace)}:${this.controller.port}`;
  }

  get tls(): NonNullable<IGrpcEndpoint['tls']> {
    return { serverName: this.host, secretName: this.tlsSecretName };
  }
}
