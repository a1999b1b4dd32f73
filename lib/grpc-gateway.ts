import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as eg from './imports/gateway.envoyproxy.io';
import * as gw from './imports/gateway.networking.k8s.io';
import type { MeshIdentity } from './grpc-backend';
import type { IGrpcEndpoint } from './grpc-endpoint';
import { GATEWAY_API_GROUP, httpsListener } from './internal/gateway-api';
import { istioGatewayOptions, istioGatewayOptionsRef } from './internal/istio-gateway-options';
import { serviceDnsName } from './internal/names';
import {
  dnsLabel,
  dnsSubdomain,
  gatewayHostname,
  integerIn,
  invalidProp,
  listOf,
  metadataMap,
  port as validPort,
  subjectOf,
  unique,
} from './internal/validate';
import { existingNamespace, type INamespace } from './namespace';

export { GATEWAY_API_GROUP };

/** The GatewayClass of Istio's Gateway API controller, which deploys an Envoy Deployment and Service per Gateway. */
export const ISTIO_GATEWAY_CLASS = 'istio';

/** The GatewayClass Envoy Gateway's installation guide creates; its controller deploys Envoy for each Gateway too. */
export const ENVOY_GATEWAY_CLASS = 'eg';

/**
 * Where Envoy Gateway puts the Deployment and Service of every Gateway in its default (ControllerNamespace) deploy
 * mode: its own namespace (v1.9.0 internal/infrastructure/kubernetes/proxy_infra.go GetResourceNamespace), which its
 * installation guide names `envoy-gateway-system` (internal/envoygateway/config/config.go DefaultNamespace).
 */
const ENVOY_GATEWAY_NAMESPACE = 'envoy-gateway-system';

/** A listener of a Gateway, by what a route needs to attach to it. */
export interface GrpcGatewayListener {
  /** The listener's name: a route's `parentRef.sectionName`. */
  readonly name: string;
  /**
   * The host the listener serves, such as `grpc.example.com` or `*.example.com`.
   * @default - any host
   */
  readonly hostname?: string;
}

/**
 * A Kubernetes Gateway API `Gateway` that GRPCRoutes attach to: one this library renders (`GrpcGateway`), or one the
 * platform runs (`GrpcGateway.fromGatewayAttributes`), of any implementation.
 */
export interface IGrpcGateway {
  /** Name of the Gateway: a route's `parentRef.name`. */
  readonly name: string;
  /** Namespace of the Gateway: a route's `parentRef.namespace`. */
  readonly namespace: INamespace;
  /**
   * The GatewayClass, which names the implementation that serves its routes (`istio`, `eg`, `gke-l7-rilb`, ...) and
   * so how it reads a backend Service's appProtocol.
   */
  readonly gatewayClassName: string;
  /** The listeners routes may attach to, by name; empty where unknown (a route then attaches to every listener). */
  readonly listeners: readonly GrpcGatewayListener[];
  /**
   * The gateway pods' mesh identity (their ServiceAccount), which a `MeshAccessPolicy` admits as a caller.
   * @default - unknown
   */
  readonly identity?: MeshIdentity;
  /** Whether a route in that namespace may attach to the listeners (as far as known: true where unknown). */
  admitsRoutesFrom(namespace: INamespace): boolean;
}

/** A Gateway the platform runs, by what routes need to know of it. */
export interface GrpcGatewayAttributes {
  /** Name of the Gateway. */
  readonly name: string;
  /** Namespace of the Gateway. */
  readonly namespace: INamespace;
  /** Its GatewayClass, such as `istio`, `eg` or `gke-l7-rilb`. */
  readonly gatewayClassName: string;
  /**
   * Its listeners that serve gRPC routes, by name (a route's `sectionName`) and host.
   * @default - unknown: routes attach to the Gateway without a `sectionName` and must name their hostnames
   */
  readonly listeners?: readonly GrpcGatewayListener[];
  /**
   * The namespaces whose routes its listeners admit (`allowedRoutes`), so a route from another fails at synth.
   * @default - unknown: any namespace is assumed admitted
   */
  readonly routeNamespaces?: readonly INamespace[];
  /**
   * The ServiceAccount its pods run as.
   * @default - unknown: a `MeshAccessPolicy` cannot name the gateway as a caller
   */
  readonly identity?: MeshIdentity;
}

export interface GrpcGatewayProps {
  /**
   * Namespace of the Gateway, its TLS Secret (a listener's `certificateRefs` name a Secret in the Gateway's own
   * namespace unless a ReferenceGrant allows another) and, with Istio's automated deployment, its Deployment and Service.
   */
  readonly namespace: INamespace;
  /**
   * Host the listener serves, as clients dial it and the certificate names it, such as `grpc.example.com` (a Gateway
   * API hostname: DNS labels, optionally `*.` first, no IP address).
   */
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
   * The Service that in-cluster clients dial. Istio's automated deployment names it `<name>-istio`; for class 'eg'
   * the Gateway's `EnvoyProxy` names it (Envoy Gateway would otherwise name it with a hash); other controllers name
   * it their own way, so for any other class it must be given.
   * @default `${name}-istio` for class 'istio', `${namespace.name}-${name}` for class 'eg'; required for any other class
   */
  readonly serviceName?: string;
  /**
   * The namespace of that Service.
   * @default - `envoy-gateway-system` for class 'eg' (Envoy Gateway's ControllerNamespace deploy mode); the Gateway's
   *   namespace for any other class
   */
  readonly serviceNamespace?: INamespace;
  /**
   * Annotations of the LoadBalancer Service the controller deploys, which choose the kind of load balancer, such as
   * `GKE_INTERNAL_LOAD_BALANCER`: in `spec.infrastructure.annotations`, which Istio copies onto the Service, or for
   * class 'eg' in the EnvoyProxy's `envoyService.annotations`, which Envoy Gateway copies onto the Service only.
   * @default - none: the cluster's default LoadBalancer
   */
  readonly loadBalancerAnnotations?: Readonly<Record<string, string>>;
  /**
   * Gateway pods, and for more than one a PodDisruptionBudget allowing one pod down at a time. Istio reads them from a
   * ConfigMap, Envoy Gateway from an `EnvoyProxy`, that `spec.infrastructure.parametersRef` names; other classes scale
   * their data plane their own way, so for any other class it must be left unset.
   * @default 2 for classes 'istio' and 'eg'
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
 * host's Secret and admits GRPCRoutes from one namespace. Its controller (Istio by default, or Envoy Gateway with
 * class 'eg', each of which deploys an Envoy Deployment and a LoadBalancer Service for it) balances each call over the
 * route's backends. The Gateway API CRDs and the controller must be installed already.
 */
export class GrpcGateway extends Construct implements IGrpcGateway, IGrpcEndpoint {
  /**
   * A Gateway the platform runs, of any class, for GRPCRoutes to attach to. It renders nothing: routes of any number
   * of charts and namespaces attach to the one Gateway.
   */
  static fromGatewayAttributes(scope: Construct, id: string, attributes: GrpcGatewayAttributes): IGrpcGateway {
    return new ImportedGrpcGateway(scope, id, attributes);
  }

  readonly name: string;
  readonly namespace: INamespace;
  readonly gatewayClassName: string;
  readonly host: string;
  readonly port: number;
  readonly tlsSecretName: string;
  /** The listener's name: routes attach to it with `sectionName`. */
  readonly listenerName = 'https';
  /** The Service clients dial. */
  readonly serviceName: string;
  /** The namespace of that Service. */
  readonly serviceNamespace: INamespace;
  /** Where routes may attach from. */
  readonly routeNamespace: INamespace;
  /** The gateway pods' mesh identity: Istio's automated deployment runs them as ServiceAccount `<name>-istio`. */
  readonly identity?: MeshIdentity;
  readonly gateway: ApiObject;
  /** Istio's per-Gateway options (replicas, disruption budget, no API token); only for class 'istio'. */
  readonly options?: ApiObject;
  /** Envoy Gateway's per-Gateway options (Service name and annotations, replicas, disruption budget); only for class 'eg'. */
  readonly envoyProxy?: ApiObject;

  constructor(scope: Construct, id: string, props: GrpcGatewayProps) {
    super(scope, id);
    const subject = subjectOf(this);
    this.name = dnsLabel(subject, 'name', props.name ?? 'grpc-gateway');
    this.namespace = props.namespace;
    this.gatewayClassName = dnsSubdomain(subject, 'gatewayClassName', props.gatewayClassName ?? ISTIO_GATEWAY_CLASS);
    const istio = this.gatewayClassName === ISTIO_GATEWAY_CLASS;
    const envoyGateway = this.gatewayClassName === ENVOY_GATEWAY_CLASS;
    this.host = gatewayHostname(subject, 'host', props.host);
    if (!props.tlsSecretName) {
      throw invalidProp(
        subject,
        'tlsSecretName',
        props.tlsSecretName,
        `the name of the kubernetes.io/tls Secret for ${JSON.stringify(this.host)}: the listener terminates TLS`,
      );
    }
    this.tlsSecretName = dnsSubdomain(subject, 'tlsSecretName', props.tlsSecretName);
    this.port = validPort(subject, 'port', props.port ?? 443);
    if (props.serviceName === undefined && !istio && !envoyGateway) {
      throw invalidProp(
        subject,
        'serviceName',
        props.serviceName,
        `the Service that the controller of class ${JSON.stringify(this.gatewayClassName)} deploys for the Gateway`,
      );
    }
    // Envoy Gateway's Services share its namespace: the Gateway's namespace in the name keeps them apart.
    const defaultServiceName = envoyGateway
      ? `${this.namespace.name}-${this.name}`
      : `${this.name}-${ISTIO_GATEWAY_CLASS}`;
    this.serviceName = dnsLabel(subject, 'serviceName', props.serviceName ?? defaultServiceName);
    this.serviceNamespace =
      props.serviceNamespace ?? (envoyGateway ? existingNamespace(ENVOY_GATEWAY_NAMESPACE) : this.namespace);
    if (istio && this.serviceNamespace.name !== this.namespace.name) {
      throw invalidProp(
        subject,
        'serviceNamespace',
        this.serviceNamespace.name,
        `unset or the Gateway's namespace (${JSON.stringify(this.namespace.name)}): Istio deploys the Service beside the Gateway`,
      );
    }
    if (props.replicas !== undefined && !istio && !envoyGateway) {
      throw invalidProp(
        subject,
        'replicas',
        props.replicas,
        `unset for class ${JSON.stringify(this.gatewayClassName)}: only Istio's and Envoy Gateway's options are rendered`,
      );
    }
    const replicas = istio || envoyGateway ? integerIn(subject, 'replicas', props.replicas ?? 2, 1) : undefined;
    this.routeNamespace = props.routeNamespace ?? this.namespace;
    // Istio names the ServiceAccount like the Service; `gateway.istio.io/service-account` could change it, and is not set.
    this.identity = istio
      ? { namespace: this.namespace, serviceAccountName: `${this.name}-${ISTIO_GATEWAY_CLASS}` }
      : undefined;

    const loadBalancerAnnotations =
      props.loadBalancerAnnotations === undefined
        ? undefined
        : metadataMap(subject, 'loadBalancerAnnotations', props.loadBalancerAnnotations, 'annotations');
    let parametersRef: gw.GatewaySpecInfrastructureParametersRef | undefined;
    if (istio && replicas !== undefined) {
      const options = istioGatewayOptions(this, 'Options', {
        name: `${this.name}-options`,
        namespace: this.namespace.name,
        replicas,
      });
      this.options = options;
      parametersRef = istioGatewayOptionsRef(options);
    }
    if (envoyGateway && replicas !== undefined) {
      // A Gateway's own EnvoyProxy, in its namespace (v1.9.0 internal/gatewayapi/contexts.go attachEnvoyProxy). Envoy
      // Gateway names the Service after envoyService.name and copies envoyService.annotations onto it
      // (internal/infrastructure/kubernetes/proxy/resource_provider.go Service); its Envoy pods mount no API token.
      this.envoyProxy = new eg.EnvoyProxy(this, 'EnvoyProxy', {
        metadata: { name: this.name, namespace: this.namespace.name },
        spec: {
          provider: {
            type: eg.EnvoyProxySpecProviderType.KUBERNETES,
            kubernetes: {
              envoyService: {
                name: this.serviceName,
                type: eg.EnvoyProxySpecProviderKubernetesEnvoyServiceType.LOAD_BALANCER,
                annotations: loadBalancerAnnotations,
              },
              envoyDeployment: { replicas },
              envoyPdb:
                replicas > 1
                  ? { maxUnavailable: eg.EnvoyProxySpecProviderKubernetesEnvoyPdbMaxUnavailable.fromNumber(1) }
                  : undefined,
            },
          },
        },
      });
      parametersRef = {
        group: eg.EnvoyProxy.GVK.apiVersion.split('/')[0],
        kind: eg.EnvoyProxy.GVK.kind,
        name: this.envoyProxy.name,
      };
    }

    // Envoy Gateway copies spec.infrastructure.annotations onto every object it deploys: the Service's go in its EnvoyProxy.
    const annotations = envoyGateway ? undefined : loadBalancerAnnotations;
    this.gateway = new gw.Gateway(this, 'Resource', {
      metadata: { name: this.name, namespace: this.namespace.name },
      spec: {
        gatewayClassName: this.gatewayClassName,
        infrastructure:
          annotations === undefined && parametersRef === undefined ? undefined : { annotations, parametersRef },
        listeners: [
          httpsListener({
            name: this.listenerName,
            host: this.host,
            port: this.port,
            tlsSecretName: this.tlsSecretName,
            gatewayNamespace: this.namespace,
            routeNamespace: this.routeNamespace,
            routeKind: 'GRPCRoute',
          }),
        ],
      },
    });
    if (this.options !== undefined) this.gateway.addDependency(this.options);
    if (this.envoyProxy !== undefined) this.gateway.addDependency(this.envoyProxy);
  }

  /** Whether a route in that namespace may attach to the listener. */
  admitsRoutesFrom(namespace: INamespace): boolean {
    return namespace.name === this.routeNamespace.name;
  }

  /** The one HTTPS listener, for the host. */
  get listeners(): readonly GrpcGatewayListener[] {
    return [{ name: this.listenerName, hostname: this.host }];
  }

  /** The gateway balances each call; the client needs one connection to it. */
  readonly loadBalancingPolicy = 'pick_first';

  /** In-cluster clients dial the Service the controller deploys. */
  get grpcTarget(): string {
    return `${serviceDnsName(this.serviceName, this.serviceNamespace)}:${this.port}`;
  }

  get tls(): NonNullable<IGrpcEndpoint['tls']> {
    return { serverName: this.host, secretName: this.tlsSecretName };
  }

  /** Clients run beside the gateway, where its TLS Secret is. */
  get clientNamespace(): INamespace {
    return this.namespace;
  }
}

/** A Gateway rendered elsewhere: checked attributes, no objects. */
class ImportedGrpcGateway extends Construct implements IGrpcGateway {
  readonly name: string;
  readonly namespace: INamespace;
  readonly gatewayClassName: string;
  readonly listeners: readonly GrpcGatewayListener[];
  readonly identity?: MeshIdentity;
  private readonly routeNamespaces?: readonly INamespace[];

  constructor(scope: Construct, id: string, attributes: GrpcGatewayAttributes) {
    super(scope, id);
    const subject = subjectOf(this, 'GrpcGateway.fromGatewayAttributes');
    this.name = dnsSubdomain(subject, 'name', attributes?.name);
    dnsLabel(subject, 'namespace.name', attributes.namespace?.name);
    this.namespace = attributes.namespace;
    this.gatewayClassName = dnsSubdomain(subject, 'gatewayClassName', attributes.gatewayClassName);
    this.listeners = listOf(subject, 'listeners', attributes.listeners ?? [], (listener, prop) => ({
      // The Gateway CRD's SectionName: a DNS-1123 subdomain.
      name: dnsSubdomain(subject, `${prop}.name`, listener?.name),
      hostname:
        listener.hostname === undefined ? undefined : gatewayHostname(subject, `${prop}.hostname`, listener.hostname),
    }));
    unique(
      subject,
      'listeners',
      this.listeners.map((listener) => listener.name),
    );
    this.routeNamespaces =
      attributes.routeNamespaces === undefined
        ? undefined
        : listOf(subject, 'routeNamespaces', attributes.routeNamespaces, (namespace, prop) => {
            dnsLabel(subject, `${prop}.name`, namespace?.name);
            return namespace;
          });
    this.identity = attributes.identity;
  }

  admitsRoutesFrom(namespace: INamespace): boolean {
    return (
      this.routeNamespaces === undefined || this.routeNamespaces.some((admitted) => admitted.name === namespace.name)
    );
  }
}
