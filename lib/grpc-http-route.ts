import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { isGkeGatewayClass, portHandling, type DataPlane } from 'grpc-k8s-lb-common';
import * as gw from './imports/gateway.networking.k8s.io';
import type { IGrpcBackend } from './grpc-backend';
import { GATEWAY_API_GROUP, type IGrpcGateway } from './grpc-gateway';
import { attachedListener, routeHostnames, serviceReference } from './internal/gateway-api';
import { dnsSubdomain, invalidProp, protoServiceNames, subjectOf } from './internal/validate';
import type { INamespace } from './namespace';

export interface GrpcHttpRouteProps {
  /**
   * The Gateway the route attaches to, of one of GKE's classes: a `GkeGateway`, or one the platform runs
   * (`GrpcGateway.fromGatewayAttributes`). It must admit routes from the backend's namespace.
   */
  readonly gateway: IGrpcGateway;
  /** Where the calls go: the Service, its gRPC port and namespace are read from it. */
  readonly backend: IGrpcBackend;
  /**
   * Name of the HTTPRoute.
   * @default backend.serviceName
   */
  readonly name?: string;
  /**
   * The gateway's listener to attach to (`parentRef.sectionName`).
   * @default - the gateway's one listener; required when it has several; none when it names none
   */
  readonly listener?: string;
  /**
   * Hosts the route serves, each matching the listener's.
   * @default - the listener's host, when it is a single name; required otherwise
   */
  readonly hostnames?: readonly string[];
  /**
   * Fully qualified gRPC services the route matches, each as the path prefix `/<service>/` of its calls; an empty
   * list matches every path (health checks and server reflection too).
   * @default [] (every service)
   */
  readonly grpcServices?: readonly string[];
}

/**
 * A Gateway API `HTTPRoute` (v1) that carries gRPC, for a gateway whose controller takes no GRPCRoute (GKE's): a
 * gRPC call is an HTTP/2 POST to `/<package.Service>/<Method>`, so a path prefix per service matches what a
 * GRPCRoute's service match would. The gateway sends each call to an endpoint of the backend's Service; it carries
 * them as HTTP/2 only when the Service port's appProtocol says so in the gateway's terms (the app-protocol table),
 * which the route checks.
 */
export class GrpcHttpRoute extends Construct {
  readonly name: string;
  readonly namespace: INamespace;
  readonly grpcServices: readonly string[];
  /** The hosts the route serves. */
  readonly hostnames: readonly string[];
  readonly route: ApiObject;

  constructor(scope: Construct, id: string, props: GrpcHttpRouteProps) {
    super(scope, id);
    const subject = subjectOf(this);
    const { gateway, backend } = props;
    this.name = dnsSubdomain(subject, 'name', props.name ?? backend.serviceName);
    this.namespace = backend.namespace;
    if (!isGkeGatewayClass(gateway.gatewayClassName)) {
      throw invalidProp(
        subject,
        'gateway.gatewayClassName',
        gateway.gatewayClassName,
        "one of GKE's GatewayClasses (gke-l7-…): other controllers take a GRPCRoute (GrpcRoute)",
      );
    }
    if (!gateway.admitsRoutesFrom(this.namespace)) {
      throw invalidProp(
        subject,
        'backend.namespace',
        this.namespace.name,
        `a namespace whose routes Gateway ${gateway.namespace.name}/${gateway.name} admits`,
      );
    }
    const plane: DataPlane = 'gke-gateway';
    const handling = portHandling(plane, { appProtocol: backend.appProtocol, port: backend.port });
    if (handling !== 'http2') {
      throw invalidProp(
        subject,
        'backend.appProtocol',
        backend.appProtocol,
        `a value ${plane} reads as HTTP/2 (such as "HTTP2", HTTP/2 over TLS to the pods): it would carry the calls as ${handling}`,
      );
    }
    const listener = attachedListener(subject, props.listener, gateway);
    this.hostnames = routeHostnames(subject, props.hostnames, listener);
    this.grpcServices = protoServiceNames(subject, 'grpcServices', props.grpcServices ?? [], 0);

    this.route = new gw.HttpRoute(this, 'Resource', {
      metadata: { name: this.name, namespace: this.namespace.name },
      spec: {
        parentRefs: [
          {
            group: GATEWAY_API_GROUP,
            kind: 'Gateway',
            name: gateway.name,
            namespace: gateway.namespace.name,
            sectionName: listener?.name,
          },
        ],
        hostnames: [...this.hostnames],
        rules: [
          {
            matches:
              this.grpcServices.length === 0
                ? undefined
                : this.grpcServices.map((service) => ({
                    path: { type: gw.HttpRouteSpecRulesMatchesPathType.PATH_PREFIX, value: `/${service}/` },
                  })),
            backendRefs: [serviceReference(backend)],
          },
        ],
      },
    });
  }
}
