import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { isGkeGatewayClass, portHandling, type DataPlane } from 'grpc-k8s-lb-common';
import * as gw from './imports/gateway.networking.k8s.io';
import type { GrpcRouteProps } from './grpc-route';
import { gatewayParentRef, gatewayRoute, serviceReference } from './internal/gateway-api';
import { invalidProp, subjectOf } from './internal/validate';
import type { INamespace } from './namespace';

/**
 * A Gateway API `HTTPRoute` (v1) that carries gRPC, for a gateway whose controller takes no GRPCRoute (GKE's): a
 * gRPC call is an HTTP/2 POST to `/<package.Service>/<Method>`, so a path prefix per service matches what a
 * GRPCRoute's service match would. The gateway sends each call to an endpoint of the backend's Service; it carries
 * them as HTTP/2 only when the Service port's appProtocol says so in the gateway's terms (the app-protocol table),
 * which the route checks. It takes a `GrpcRoute`'s props; the gateway must be of one of GKE's classes (a `GkeGateway`,
 * or one the platform runs), and `grpcServices` become path prefixes `/<service>/`.
 */
export class GrpcHttpRoute extends Construct {
  readonly name: string;
  readonly namespace: INamespace;
  readonly grpcServices: readonly string[];
  /** The hosts the route serves. */
  readonly hostnames: readonly string[];
  readonly route: ApiObject;

  constructor(scope: Construct, id: string, props: GrpcRouteProps) {
    super(scope, id);
    const subject = subjectOf(this);
    const { gateway, backend } = props;
    if (!isGkeGatewayClass(gateway.gatewayClassName)) {
      throw invalidProp(
        subject,
        'gateway.gatewayClassName',
        gateway.gatewayClassName,
        "one of GKE's GatewayClasses (gke-l7-…): other controllers take a GRPCRoute (GrpcRoute)",
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
    const route = gatewayRoute(subject, props);
    this.name = route.name;
    this.namespace = route.namespace;
    this.hostnames = route.hostnames;
    this.grpcServices = route.grpcServices;

    this.route = new gw.HttpRoute(this, 'Resource', {
      metadata: { name: this.name, namespace: this.namespace.name },
      spec: {
        parentRefs: [gatewayParentRef(gateway, route.listener)],
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
