import { Yaml } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import * as gw from '../imports/gateway.networking.k8s.io';
import type { MeshIdentity } from './grpc-backend';
import type { IGrpcEndpoint } from './grpc-endpoint';
import { serviceDnsName } from './internal/names';
import { dnsLabel, dnsSubdomain, hostName, integerIn, invalidProp, metadataMap, port as validPort, type ValidationSubject } from './internal/validate';
import type { INamespace } from './namespace';


/** The API group of the Gateway API's kinds, as references to them name it: `gateway.networking.k8s.io`. */
export const GATEWAY_API_GROUP = gw.Gateway.GVK.apiVersion.split('/')[0];

/** The GatewayClass of Istio's Gateway API controller, which deploys an Envoy Deployment and Service per Gateway. */
export const ISTIO_GATEWAY_CLASS = 'istio';

export interface GrpcGatewayProps {
  /**
   * Namespace of the Gateway, its TLS Secret (a listener's `certificateRefs` name a Secret in the Gateway's own
   * namespace unless a ReferenceGrant allows another) and, with Istio's automated deployment, its Deployment and Service.
   */
  readonly namespace: INamespace;
  /** Host the listener serves, as clients dial it and the certificate names it, such as `grpc.example.com`. */
  readonly host: string;
  /** Name of the `kubernetes.io/tls` Secret (in `namespace`) with the certificate and key for `host`. */
  readonly tlsSecretName: string;
  /**
   * Name of the Gateway.
   * @default 'grpc-gateway'
   */
  readonly name?: string;
  /**
   * The GatewayClass: the controller that implements the Gateway.
   * @default 'istio'
   */
  readonly gatewayClassName?: string;
  /**
   * HTTPS port of the listener (and of the Service the controller deploys).
   * @default 443
   */
  readonly port?: number;
  /**
   * The Service that in-cluster clients dial. Istio's automated deployment names it `<name>-istio`, in the Gateway's
   * namespace; other controllers name (and place) it their own way, so for any other class it must be given.
   * @default `${name}-istio` for class 'istio'; required for any other class
   */
  readonly serviceName?: string;
  /**
   * Annotations in `spec.infrastructure`, which the controller copies onto the Service it deploys: choose the kind of
   * load balancer, such as `GKE_INTERNAL_LOAD_BALANCER`.
   * @default - none: the cluster's default LoadBalancer
   */
  readonly loadBalancerAnnotations?: Readonly<Record<string, string>>;
  /**
   * Gateway pods. Istio reads it (and, for more than one, a PodDisruptionBudget allowing one pod down at a time) from
   * a ConfigMap that `spec.infrastructure.parametersRef` names; other classes scale their data plane their own way, so
   * for any other class it must be left unset.
   * @default 2 for class 'istio'
   */
  readonly replicas?: number;
  /**
   * The namespace whose GRPCRoutes may attach to the listener.
   * @default - the Gateway's own namespace (`from: Same`)
   */
  readonly routeNamespace?: INamespace;
}

/**
 * A Kubernetes Gateway API `Gateway` (v1) for gRPC: one HTTPS listener for the host that terminates TLS with the
 * host's Secret and admits GRPCRoutes from one namespace. Its controller (Istio by default, which deploys an Envoy
 * Deployment and a LoadBalancer Service for it) balances each call over the route's backends. The Gateway API CRDs and
 * the controller must be installed already.
 */
export class GrpcGateway extends Construct implements IGrpcEndpoint {
  readonly name: string;
  readonly namespace: INamespace;
  readonly gatewayClassName: string;
  readonly host: string;
  readonly port: number;
  readonly tlsSecretName: string;
  /** The listener's name: routes attach to it with `sectionName`. */
  readonly listenerName = 'https';
  /** The Service clients dial, in the Gateway's namespace. */
  readonly serviceName: string;
  /** Where routes may attach from. */
  readonly routeNamespace: INamespace;
  /** The gateway pods' mesh identity: Istio's automated deployment runs them as ServiceAccount `<name>-istio`. */
  readonly identity?: MeshIdentity;
  readonly gateway: gw.Gateway;
  /** Istio's per-Gateway options (replicas, disruption budget); only for class 'istio'. */
  readonly options?: k8s.KubeConfigMap;

  constructor(scope: Construct, id: string, props: GrpcGatewayProps) {
    super(scope, id);
    const subject: ValidationSubject = { construct: 'GrpcGateway', id };
    this.name = dnsLabel(subject, 'name', props.name ?? 'grpc-gateway');
    this.namespace = props.namespace;
    this.gatewayClassName = dnsSubdomain(subject, 'gatewayClassName', props.gatewayClassName ?? ISTIO_GATEWAY_CLASS);
    const istio = this.gatewayClassName === ISTIO_GATEWAY_CLASS;
    this.host = hostName(subject, 'host', props.host);
    if (!props.tlsSecretName) {
      throw invalidProp(subject, 'tlsSecretName', props.tlsSecretName, `the name of the kubernetes.io/tls Secret for ${JSON.stringify(this.host)}: the listener terminates TLS`);
    }
    this.tlsSecretName = dnsSubdomain(subject, 'tlsSecretName', props.tlsSecretName);
    this.port = validPort(subject, 'port', props.port ?? 443);
    if (props.serviceName === undefined && !istio) {
      throw invalidProp(subject, 'serviceName', props.serviceName, `the Service that the controller of class ${JSON.stringify(this.gatewayClassName)} deploys for the Gateway`);
    }
    this.serviceName = dnsLabel(subject, 'serviceName', props.serviceName ?? `${this.name}-${ISTIO_GATEWAY_CLASS}`);
    if (props.replicas !== undefined && !istio) {
      throw invalidProp(subject, 'replicas', props.replicas, `unset for class ${JSON.stringify(this.gatewayClassName)}: only Istio's options ConfigMap is rendered`);
    }
    const replicas = istio ? integerIn(subject, 'replicas', props.replicas ?? 2, 1) : undefined;
    this.routeNamespace = props.routeNamespace ?? this.namespace;
    // Istio names the ServiceAccount like the Service; `gateway.istio.io/service-account` could change it, and is not set.
    this.identity = istio ? { namespace: this.namespace, serviceAccountName: `${this.name}-${ISTIO_GATEWAY_CLASS}` } : undefined;

    if (replicas !== undefined) {
      // Istio merges these into the Deployment it generates for this Gateway, and creates a PodDisruptionBudget only
      // when configured: one pod down at a time, as minAvailable (the form Istio's documentation shows).
      this.options = new k8s.KubeConfigMap(this, 'Options', {
        metadata: { name: `${this.name}-options`, namespace: this.namespace.name },
        data: {
          deployment: Yaml.stringify({ spec: { replicas } }),
          ...(replicas > 1 ? { podDisruptionBudget: Yaml.stringify({ spec: { minAvailable: replicas - 1 } }) } : {}),
        },
      });
    }

    const sameNamespace = this.routeNamespace.name === this.namespace.name;
    const annotations = props.loadBalancerAnnotations === undefined ? undefined : metadataMap(subject, 'loadBalancerAnnotations', props.loadBalancerAnnotations, 'annotations');
    const parametersRef = this.options === undefined ? undefined : { group: '', kind: 'ConfigMap', name: this.options.name };
    this.gateway = new gw.Gateway(this, 'Resource', {
      metadata: { name: this.name, namespace: this.namespace.name },
      spec: {
        gatewayClassName: this.gatewayClassName,
        infrastructure: annotations === undefined && parametersRef === undefined ? undefined : { annotations, parametersRef },
        listeners: [{
          name: this.listenerName,
          hostname: this.host,
          port: this.port,
          protocol: 'HTTPS',
          tls: {
            mode: gw.GatewaySpecListenersTlsMode.TERMINATE,
            certificateRefs: [{ group: '', kind: 'Secret', name: this.tlsSecretName }],
          },
          allowedRoutes: {
            namespaces: sameNamespace
              ? { from: gw.GatewaySpecListenersAllowedRoutesNamespacesFrom.SAME }
              : {
                from: gw.GatewaySpecListenersAllowedRoutesNamespacesFrom.SELECTOR,
                // Every namespace carries its own name as this label (Kubernetes >= 1.22).
                selector: { matchLabels: { 'kubernetes.io/metadata.name': this.routeNamespace.name } },
              },
            kinds: [{ group: GATEWAY_API_GROUP, kind: 'GRPCRoute' }],
          },
        }],
      },
    });
    if (this.options !== undefined) this.gateway.addDependency(this.options);
  }

  /** Whether a route in that namespace may attach to the listener. */
  admitsRoutesFrom(namespace: INamespace): boolean {
    return namespace.name === this.routeNamespace.name;
  }

  /** The gateway balances each call; the client needs one connection to it. */
  readonly loadBalancingPolicy = 'pick_first';

  /** In-cluster clients dial the Service the controller deploys. */
  get grpcTarget(): string {
    return `${serviceDnsName(this.serviceName, this.namespace)}:${this.port}`;
  }

  get tls(): NonNullable<IGrpcEndpoint['tls']> {
    return { serverName: this.host, secretName: this.tlsSecretName };
  }

  /** Clients run beside the gateway, where its TLS Secret is. */
  get clientNamespace(): INamespace {
    return this.namespace;
  }

}
