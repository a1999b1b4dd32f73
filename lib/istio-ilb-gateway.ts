import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import * as istio from '../imports/networking.istio.io';
import { GATEWAY_LOAD_BALANCER_ANNOTATIONS, GATEWAY_LOAD_BALANCERS, TlsGatewayEndpoint, type GatewayLoadBalancer } from './tls-gateway';
import { dnsLabel, dnsSubdomain, hostName, integerIn, invalidProp, oneOf, port as validPort, type ValidationSubject } from './validate';
import {
  containerResources,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  oneAtATimeDisruptionBudget,
  spreadOverNodes,
  workloadLabels,
  zeroDowntimeRollout,
  type ContainerResources,
  type INamespace,
  type MeshIdentity,
} from './workload';


export interface IstioIlbGatewayProps {
  /**
   * Namespace of the gateway workload, its TLS Secret and its Service. Istio reads a `credentialName` Secret from
   * the namespace of the gateway pods.
   */
  readonly namespace: INamespace;
  /**
   * Namespace of the Istio `Gateway` resource. The walkthrough keeps it beside the routes, in the app's namespace.
   * @default - the workload's namespace
   */
  readonly configNamespace?: INamespace;
  /** Host the gateway serves, as clients dial it and the certificate names it, such as `grpc.example.com`. */
  readonly host: string;
  /** Name of the `kubernetes.io/tls` Secret (in `namespace`) with the certificate and key for `host`. */
  readonly tlsSecretName: string;
  /**
   * Name of the Deployment, Service, ServiceAccount, Role, PDB and Gateway, and the `istio` label of the pods.
   * @default 'greeter-gateway'
   */
  readonly name?: string;
  /**
   * HTTPS port of the Service and the gateway container (the container binds it directly: see the sysctl).
   * @default 443
   */
  readonly port?: number;
  /**
   * Kind of LoadBalancer Service.
   * @default 'gke-internal'
   */
  readonly loadBalancer?: GatewayLoadBalancer;
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
export class IstioIlbGateway extends TlsGatewayEndpoint {
  readonly name: string;
  readonly namespace: INamespace;
  readonly configNamespace: INamespace;
  readonly host: string;
  readonly port: number;
  readonly tlsSecretName: string;
  /** Labels of the gateway pods; the Gateway resource selects them. */
  readonly podLabels: Record<string, string>;
  readonly identity: MeshIdentity;
  readonly service: k8s.KubeService;
  readonly gateway: istio.Gateway;

  constructor(scope: Construct, id: string, props: IstioIlbGatewayProps) {
    super(scope, id);
    const subject: ValidationSubject = { construct: 'IstioIlbGateway', id };
    this.name = dnsLabel(subject, 'name', props.name ?? 'greeter-gateway');
    this.namespace = props.namespace;
    this.configNamespace = props.configNamespace ?? props.namespace;
    this.host = hostName(subject, 'host', props.host);
    if (!props.tlsSecretName) {
      throw invalidProp(subject, 'tlsSecretName', props.tlsSecretName, `the name of the kubernetes.io/tls Secret for ${JSON.stringify(this.host)}: the gateway terminates TLS`);
    }
    this.tlsSecretName = dnsSubdomain(subject, 'tlsSecretName', props.tlsSecretName);
    this.port = validPort(subject, 'port', props.port ?? 443);
    const loadBalancer = oneOf(subject, 'loadBalancer', props.loadBalancer ?? 'gke-internal', GATEWAY_LOAD_BALANCERS);
    const replicas = integerIn(subject, 'replicas', props.replicas ?? 2, 1);
    const resources = containerResources(subject, 'resources', props.resources ?? {
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '2', memory: '1Gi' },
    });

    this.podLabels = workloadLabels(this.name, { istio: this.name });
    this.identity = { namespace: this.namespace, serviceAccountName: this.name };
    const metadata = { name: this.name, namespace: this.namespace.name, labels: this.podLabels };

    const serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata });
    // istiod sends the gateway a credentialName Secret only if the gateway's ServiceAccount may read it.
    const role = new k8s.KubeRole(this, 'SecretReader', {
      metadata,
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch', 'list'] }],
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
            // Istio permits the "restricted" profile here: `ip_unprivileged_port_start` is a namespaced sysctl in the
            // Pod Security Standards' safe set, and lets the non-root proxy bind port 443 without NET_BIND_SERVICE.
            securityContext: restrictedPodSecurityContext(ISTIO_PROXY_UID, { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] }),
            topologySpreadConstraints: spreadOverNodes(this.podLabels),
            containers: [{
              name: 'istio-proxy',
              image: 'auto',
              ports: [{ name: 'https', containerPort: this.port, protocol: 'TCP' }],
              resources,
              securityContext: restrictedContainerSecurityContext(ISTIO_PROXY_UID),
            }],
          },
        },
      },
    });
    deployment.addDependency(roleBinding);

    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { ...metadata, annotations: GATEWAY_LOAD_BALANCER_ANNOTATIONS[loadBalancer] },
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
        servers: [{
          name: 'https',
          port: { name: 'https', number: this.port, protocol: 'HTTPS' },
          hosts: [this.host],
          tls: {
            mode: istio.GatewaySpecServersTlsMode.SIMPLE,
            credentialName: this.tlsSecretName,
            minProtocolVersion: istio.GatewaySpecServersTlsMinProtocolVersion.TLSV1_UNDERSCORE_2,
          },
        }],
      },
    });
  }

  /** How a VirtualService names this Gateway: `<namespace>/<name>`. */
  get gatewayRef(): string {
    return `${this.configNamespace.name}/${this.name}`;
  }

  /** The gateway Service's cluster DNS name, which in-cluster clients dial. */
  get serviceHost(): string {
    return `${this.name}.${this.namespace.name}.svc.cluster.local`;
  }
}

/** The user Istio's proxy image runs as. */
const ISTIO_PROXY_UID = 1337;
