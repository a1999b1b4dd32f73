import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as gw from './imports/gateway.networking.k8s.io';
import type { IGrpcBackend, MeshIdentity } from './grpc-backend';
import { istioGatewayOptions, istioGatewayOptionsRef } from './internal/istio-gateway-options';
import { dnsLabel, integerIn, invalidProp, subjectOf, type ValidationSubject } from './internal/validate';
import type { INamespace } from './namespace';

/** The GatewayClass of Istio's waypoints (istio/istio 1.30.3 pkg/config/constants WaypointGatewayClassName). */
export const ISTIO_WAYPOINT_CLASS = 'istio-waypoint';

// Labels of istio/api 1.30.3 label/labels.yaml: `use-waypoint` binds a Service (or Pod, or Namespace) to the waypoint
// of that name in its namespace; `ingress-use-waypoint` (on a Service) makes Istio's gateways send its traffic through
// that waypoint too, instead of straight to the pods; `waypoint-for` on the waypoint says what traffic it takes.
const USE_WAYPOINT = 'istio.io/use-waypoint';
const INGRESS_USE_WAYPOINT = 'istio.io/ingress-use-waypoint';
const WAYPOINT_FOR = 'istio.io/waypoint-for';

/** A waypoint that policies can name: its Gateway and the identity its pods run as. */
export interface IIstioWaypoint {
  /** Name of the waypoint's Gateway (and of the Deployment, Service and ServiceAccount Istio generates for it). */
  readonly name: string;
  /** Namespace of the waypoint. */
  readonly namespace: INamespace;
  /** The waypoint pods' mesh identity: what ztunnel sees as the caller of every call the waypoint forwards. */
  readonly identity: MeshIdentity;
}

export interface IstioWaypointProps {
  /**
   * The backend whose Service the waypoint serves: in a namespace enrolled in Istio ambient (`mesh:
   * 'istio-ambient'`), where the waypoint is deployed too.
   */
  readonly backend: IGrpcBackend;
  /**
   * Name of the waypoint's Gateway.
   * @default `${backend.serviceName}-waypoint`
   */
  readonly name?: string;
  /**
   * Waypoint pods, and for more than one a PodDisruptionBudget allowing one pod down at a time.
   * @default 2
   */
  readonly replicas?: number;
  /**
   * Istio's gateways also send the Service's traffic through the waypoint (`istio.io/ingress-use-waypoint`), so the
   * L7 policies attached there hold for calls from outside the mesh too. Otherwise a gateway sends them to the pods
   * directly, balancing each call itself.
   * @default true
   */
  readonly ingressUseWaypoint?: boolean;
  /**
   * Label the backend's Service with `bindingLabels`. The backend must then be a construct in this app that renders
   * its Service (a `GrpcApp`); for a Service rendered elsewhere set `false` and give it `bindingLabels` there.
   * @default true
   */
  readonly bindService?: boolean;
}

/**
 * An Istio ambient waypoint for a gRPC backend: a Gateway API `Gateway` of class `istio-waypoint` with the one HBONE
 * listener (port 15008) that `istioctl waypoint generate` writes (1.30.3 istioctl/pkg/waypoint/waypoint.go), and the
 * backend's Service bound to it by `istio.io/use-waypoint`. ztunnel carries an ambient pod's traffic at L4 only, so
 * a client's one connection to the ClusterIP would stay on one pod; with the Service bound, ztunnel sends it to the
 * waypoint (an Envoy that Istio deploys and scales from its `waypoint` template), which balances each call over the
 * Service's endpoints and applies the L7 routes and policies attached to the Service. Istio names the waypoint's
 * Deployment, Service and ServiceAccount after the Gateway (gatewaycommon/classinfo.go: `DisableNameSuffix` for the
 * waypoint class). The options ConfigMap scales it, mounts no API token and sets the seccomp profile Pod Security
 * "restricted" requires, which an ambient namespace can enforce.
 */
export class IstioWaypoint extends Construct implements IIstioWaypoint {
  readonly name: string;
  readonly namespace: INamespace;
  readonly identity: MeshIdentity;
  /** The labels that bind a Service to this waypoint. */
  readonly bindingLabels: Readonly<Record<string, string>>;
  readonly gateway: ApiObject;
  /** Istio's per-Gateway options (replicas, disruption budget, no API token, seccomp). */
  readonly options: ApiObject;

  constructor(scope: Construct, id: string, props: IstioWaypointProps) {
    super(scope, id);
    const subject = subjectOf(this);
    const { backend } = props;
    this.namespace = backend.namespace;
    if (this.namespace.mesh !== 'istio-ambient') {
      throw invalidProp(
        subject,
        'backend.namespace.mesh',
        this.namespace.mesh ?? 'none',
        `"istio-ambient": ztunnel sends only the traffic of ambient pods to a waypoint (namespace ${JSON.stringify(this.namespace.name)})`,
      );
    }
    this.name = dnsLabel(subject, 'name', props.name ?? `${backend.serviceName}-waypoint`);
    const replicas = integerIn(subject, 'replicas', props.replicas ?? 2, 1);
    this.identity = { namespace: this.namespace, serviceAccountName: this.name };
    this.bindingLabels = {
      [USE_WAYPOINT]: this.name,
      ...((props.ingressUseWaypoint ?? true) ? { [INGRESS_USE_WAYPOINT]: 'true' } : {}),
    };

    const service = (props.bindService ?? true) ? renderedService(subject, backend) : undefined;

    this.options = istioGatewayOptions(this, 'Options', {
      name: `${this.name}-options`,
      namespace: this.namespace.name,
      replicas,
      runtimeDefaultSeccomp: true,
    });
    this.gateway = new gw.Gateway(this, 'Resource', {
      // Service traffic, which is what a Service bound by use-waypoint sends (istioctl waypoint generate --for service).
      metadata: { name: this.name, namespace: this.namespace.name, labels: { [WAYPOINT_FOR]: 'service' } },
      spec: {
        gatewayClassName: ISTIO_WAYPOINT_CLASS,
        infrastructure: { parametersRef: istioGatewayOptionsRef(this.options) },
        listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
      },
    });
    this.gateway.addDependency(this.options);
    for (const [key, value] of Object.entries(this.bindingLabels)) service?.metadata.addLabel(key, value);
  }
}

/** The backend's Service object, when the backend is a construct of this app that renders it. */
function renderedService(subject: ValidationSubject, backend: IGrpcBackend): ApiObject {
  const service =
    backend instanceof Construct
      ? backend.node
          .findAll()
          .find(
            (child): child is ApiObject =>
              child instanceof ApiObject &&
              child.kind === 'Service' &&
              child.name === backend.serviceName &&
              child.metadata.namespace === backend.namespace.name,
          )
      : undefined;
  if (service === undefined) {
    throw invalidProp(
      subject,
      'backend',
      backend.serviceName,
      'a construct that renders its Service (a GrpcApp) for the waypoint to label, or set bindService: false and label the Service with bindingLabels yourself',
    );
  }
  return service;
}
