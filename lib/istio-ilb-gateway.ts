import { ApiObject } from 'cdk8s';
import * as k8s from './imports/k8s';
import { Construct } from 'constructs';
import * as istio from './imports/networking.istio.io';
import type { MeshIdentity } from './grpc-backend';
import type { IGrpcEndpoint } from './grpc-endpoint';
import { serviceDnsName } from './internal/names';
import {
  dnsLabel,
  dnsSubdomain,
  hostName,
  integerIn,
  invalidProp,
  listOf,
  metadataMap,
  port as validPort,
  subjectOf,
} from './internal/validate';
import {
  containerResources,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  oneAtATimeDisruptionBudget,
  spreadOverNodes,
  workloadLabels,
  zeroDowntimeRollout,
} from './internal/workload';
import type { ContainerResources } from './container';
import type { INamespace } from './namespace';

/**
 * An Istio `Gateway` (networking.istio.io) that VirtualServices bind to: one this library renders (`IstioIlbGateway`),
 * or one the platform runs (`IstioIlbGateway.fromGatewayAttributes`).
 */
export interface IIstioGateway {
  /** How a VirtualService names the Gateway resource: `<namespace>/<name>`. */
  readonly gatewayRef: string;
  /**
   * Hosts the Gateway's servers accept: names such as `grpc.example.com`, `*.example.com` wildcards, or `*` for any.
   * A VirtualService bound to it serves some of them.
   */
  readonly hosts: readonly string[];
  /** Labels of the gateway workload's pods, which the Gateway resource selects. */
  readonly selector: Readonly<Record<string, string>>;
  /**
   * The gateway pods' mesh identity (their ServiceAccount), which a `MeshAccessPolicy` admits as a caller.
   * @default - unknown
   */
  readonly identity?: MeshIdentity;
}

/** An Istio Gateway the platform runs, by what routes need to know of it. */
export interface IstioGatewayAttributes {
  /** Name of the Gateway resource (networking.istio.io), such as `ingressgateway`. */
  readonly name: string;
  /** Namespace of the Gateway resource, such as `istio-system`. */
  readonly namespace: INamespace;
  /** Hosts its servers accept: names such as `grpc.example.com`, `*.example.com` wildcards, or `*` for any. */
  readonly hosts: readonly string[];
  /** Labels of the gateway pods it selects, such as `{ istio: 'ingressgateway' }`. */
  readonly selector: Readonly<Record<string, string>>;
  /**
   * The ServiceAccount the gateway pods run as, such as `istio-ingressgateway` in `istio-system`.
   * @default - unknown: a `MeshAccessPolicy` cannot name the gateway as a caller
   */
  readonly identity?: MeshIdentity;
}

export interface IstioIlbGatewayProps {
  /**
   * Namespace of the gateway workload, its TLS Secret and its Service. Istio reads a `credentialName` Secret from
   * the namespace of the gateway pods.
   */
  readonly namespace: INamespace;
  /**
   * Namespace of the Istio `Gateway` resource. Keep it beside the routes, in the app's namespace, so the app's team owns both.
   * @default - the workload's namespace
   */
  readonly configNamespace?: INamespace;
  /** Host the gateway serves, as clients dial it and the certificate names it, such as `grpc.example.com`. */
  readonly host: string;
  /** Name of the `kubernetes.io/tls` Secret (in `namespace`) with the certificate and key for `host`. */
  readonly tlsSecretName: string;
  /**
   * Name of the Deployment, Service, ServiceAccount, Role, PDB and Gateway, and the `istio` label of the pods.
   * @default 'grpc-gateway'
   */
  readonly name?: string;
  /**
   * HTTPS port of the Service and the gateway container (the container binds it directly: see the sysctl).
   * @default 443
   */
  readonly port?: number;
  /**
   * Annotations of the LoadBalancer Service that choose its kind, such as `GKE_INTERNAL_LOAD_BALANCER` for a GKE
   * internal load balancer.
   * @default - none: the cluster's default LoadBalancer (Docker Desktop publishes it on localhost)
   */
  readonly loadBalancerAnnotations?: Readonly<Record<string, string>>;
  /**
   * Gateway pods.
   * @default 2
   */
  readonly replicas?: number;
  /**
   * Requests and limits of the Envoy container.
   * @default requests 100m CPU and 128Mi memory, limits 2 CPUs and 1Gi memory (Istio's gateway chart)
   */
  readonly resources?: ContainerResources;
}

/**
 * An Istio ingress gateway behind an internal load balancer, terminating TLS for one host: the modern equivalent
 * of Istio 1.1's `istio-ilbgateway`, built as Istio's own `gateway` Helm chart builds it (a Deployment whose
 * `istio-proxy` container is injected from the `gateway` template), plus the `networking.istio.io/v1` Gateway
 * that configures it. Istio's control plane must be installed already; this renders none of it.
 */
export class IstioIlbGateway extends Construct implements IIstioGateway, IGrpcEndpoint {
  /**
   * A Gateway the platform runs (Istio's own ingress gateway, or another team's), for VirtualServices to bind to. It
   * renders nothing: routes of any number of charts and namespaces attach to the one Gateway.
   */
  static fromGatewayAttributes(scope: Construct, id: string, attributes: IstioGatewayAttributes): IIstioGateway {
    return new ImportedIstioGateway(scope, id, attributes);
  }

  readonly name: string;
  readonly namespace: INamespace;
  readonly configNamespace: INamespace;
  readonly host: string;
  readonly port: number;
  readonly tlsSecretName: string;
  /** Labels of the gateway pods; the Gateway resource selects them. */
  readonly podLabels: Record<string, string>;
  readonly identity: MeshIdentity;
  readonly service: ApiObject;
  readonly gateway: ApiObject;

  constructor(scope: Construct, id: string, props: IstioIlbGatewayProps) {
    super(scope, id);
    const subject = subjectOf(this);
    this.name = dnsLabel(subject, 'name', props.name ?? 'grpc-gateway');
    this.namespace = props.namespace;
    this.configNamespace = props.configNamespace ?? props.namespace;
    this.host = hostName(subject, 'host', props.host);
    if (!props.tlsSecretName) {
      throw invalidProp(
        subject,
        'tlsSecretName',
        props.tlsSecretName,
        `the name of the kubernetes.io/tls Secret for ${JSON.stringify(this.host)}: the gateway terminates TLS`,
      );
    }
    this.tlsSecretName = dnsSubdomain(subject, 'tlsSecretName', props.tlsSecretName);
    this.port = validPort(subject, 'port', props.port ?? 443);
    const replicas = integerIn(subject, 'replicas', props.replicas ?? 2, 1);
    const resources = containerResources(
      subject,
      'resources',
      props.resources ?? {
        requests: { cpu: '100m', memory: '128Mi' },
        limits: { cpu: '2', memory: '1Gi' },
      },
    );

    this.podLabels = workloadLabels(this.name, { istio: this.name });
    this.identity = { namespace: this.namespace, serviceAccountName: this.name };
    const metadata = { name: this.name, namespace: this.namespace.name, labels: this.podLabels };

    // No API token in the pod: pilot-agent authenticates to istiod with the projected `istio-token` (audience
    // istio-ca, which the API server does not accept) that Istio's `gateway` injection template mounts (Istio 1.30.3
    // manifests/charts/istio-control/istio-discovery/files/gateway-injection-template.yaml). Code in the edge pod
    // therefore cannot use the Role below to read the namespace's Secrets, istiod's CA key included.
    const serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata,
      automountServiceAccountToken: false,
    });
    // istiod sends the gateway a credentialName Secret only if a SubjectAccessReview says the gateway's ServiceAccount
    // may `list` `secrets` in its namespace, with no resource name (1.30.3 pilot/pkg/credentials/kube/secrets.go
    // Authorize, called from pilot/pkg/xds/sds.go filterAuthorizedResources). That one verb is all the Role grants; a
    // rule with resourceNames would not match a request that names no object (Kubernetes
    // pkg/apis/rbac/v1/evaluation_helpers.go ResourceNameMatches).
    const role = new k8s.KubeRole(this, 'SecretReader', {
      metadata,
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }],
    });
    const roleBinding = new k8s.KubeRoleBinding(this, 'SecretReaderBinding', {
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount.name, namespace: this.namespace.name }],
    });

    const deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata,
      spec: {
        replicas,
        selector: { matchLabels: this.podLabels },
        strategy: zeroDowntimeRollout(),
        template: {
          metadata: {
            // Istio's injector replaces image `auto` with its proxy and applies the `gateway` template: a standalone
            // Envoy, not a sidecar. The label opts the pod in whatever the namespace's injection label says.
            labels: { ...this.podLabels, 'sidecar.istio.io/inject': 'true' },
            annotations: { 'inject.istio.io/templates': 'gateway' },
          },
          spec: {
            serviceAccountName: serviceAccount.name,
            automountServiceAccountToken: false,
            // Istio permits the "restricted" profile here: `ip_unprivileged_port_start` is a namespaced sysctl in the
            // Pod Security Standards' safe set, and lets the non-root proxy bind port 443 without NET_BIND_SERVICE.
            securityContext: restrictedPodSecurityContext(ISTIO_PROXY_UID, {
              sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }],
            }),
            topologySpreadConstraints: spreadOverNodes(this.podLabels),
            containers: [
              {
                name: 'istio-proxy',
                image: 'auto',
                ports: [{ name: 'https', containerPort: this.port, protocol: 'TCP' }],
                resources,
                securityContext: restrictedContainerSecurityContext(ISTIO_PROXY_UID),
              },
            ],
          },
        },
      },
    });
    deployment.addDependency(roleBinding);

    this.service = new k8s.KubeService(this, 'Service', {
      metadata: {
        ...metadata,
        annotations:
          props.loadBalancerAnnotations === undefined
            ? undefined
            : metadataMap(subject, 'loadBalancerAnnotations', props.loadBalancerAnnotations, 'annotations'),
      },
      spec: {
        type: 'LoadBalancer',
        selector: this.podLabels,
        ports: [{ name: 'https', port: this.port, targetPort: k8s.IntOrString.fromNumber(this.port), protocol: 'TCP' }],
      },
    });

    oneAtATimeDisruptionBudget(this, metadata, this.podLabels);

    this.gateway = new istio.Gateway(this, 'Gateway', {
      metadata: { name: this.name, namespace: this.configNamespace.name },
      spec: {
        selector: this.podLabels,
        servers: [
          {
            name: 'https',
            port: { name: 'https', number: this.port, protocol: 'HTTPS' },
            hosts: [this.host],
            tls: {
              mode: istio.GatewaySpecServersTlsMode.SIMPLE,
              credentialName: this.tlsSecretName,
              minProtocolVersion: istio.GatewaySpecServersTlsMinProtocolVersion.TLSV1_UNDERSCORE_2,
            },
          },
        ],
      },
    });
  }

  /** How a VirtualService names this Gateway: `<namespace>/<name>`. */
  get gatewayRef(): string {
    return `${this.configNamespace.name}/${this.name}`;
  }

  get hosts(): readonly string[] {
    return [this.host];
  }

  get selector(): Readonly<Record<string, string>> {
    return this.podLabels;
  }

  /** The gateway balances each call; the client needs one connection to it. */
  readonly loadBalancingPolicy = 'pick_first';

  /** In-cluster clients dial the gateway's Service. */
  get grpcTarget(): string {
    return `${serviceDnsName(this.name, this.namespace)}:${this.port}`;
  }

  get tls(): NonNullable<IGrpcEndpoint['tls']> {
    return { serverName: this.host, secretName: this.tlsSecretName };
  }

  /** Clients run beside the gateway, where its TLS Secret is. */
  get clientNamespace(): INamespace {
    return this.namespace;
  }
}

/** The user Istio's proxy image runs as. */
const ISTIO_PROXY_UID = 1337;

/** A Gateway rendered elsewhere: checked attributes, no objects. */
class ImportedIstioGateway extends Construct implements IIstioGateway {
  readonly gatewayRef: string;
  readonly hosts: readonly string[];
  readonly selector: Readonly<Record<string, string>>;
  readonly identity?: MeshIdentity;

  constructor(scope: Construct, id: string, attributes: IstioGatewayAttributes) {
    super(scope, id);
    const subject = subjectOf(this, 'IstioIlbGateway.fromGatewayAttributes');
    const name = dnsSubdomain(subject, 'name', attributes?.name);
    const namespace = dnsLabel(subject, 'namespace.name', attributes.namespace?.name);
    this.gatewayRef = `${namespace}/${name}`;
    if (!Array.isArray(attributes.hosts) || attributes.hosts.length === 0)
      throw invalidProp(subject, 'hosts', attributes.hosts, 'the hosts the Gateway accepts (at least one)');
    this.hosts = listOf(subject, 'hosts', attributes.hosts, (host, prop) =>
      host === '*' ? host : hostName(subject, prop, host),
    );
    this.selector = metadataMap(subject, 'selector', attributes.selector, 'labels');
    if (Object.keys(this.selector).length === 0)
      throw invalidProp(subject, 'selector', attributes.selector, 'the labels of the gateway pods (at least one)');
    this.identity = attributes.identity;
  }
}
