import { Construct } from 'constructs';
import { portHandling } from 'grpc-k8s-lb-common';
import * as gw from './imports/gateway.networking.k8s.io';
import type { GkeGateway } from './gke-gateway';
import type { IGrpcBackend } from './grpc-backend';
import { GATEWAY_API_GROUP } from './grpc-gateway';
import { serviceReference } from './internal/gateway-api';
import { dnsSubdomain, invalidProp, protoServiceNames, type ValidationSubject } from './internal/validate';
import type { INamespace } from './namespace';

export interface GrpcHttpRouteProps {
  /** The gateway whose HTTPS listener the route attaches to; it must admit routes from the backend's namespace. */
  readonly gateway: GkeGateway;
  /** Where the calls go: the Service, its gRPC port and namespace are read from it. */
  readonly backend: IGrpcBackend;
  /**
   * Name of the HTTPRoute.
   * @default backend.serviceName
   */
  readonly name?: string;
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
  readonly route: gw.HttpRoute;

  constructor(scope: Construct, id: string, props: GrpcHttpRouteProps) {
    super(scope, id);
    const subject: ValidationSubject = { construct: 'GrpcHttpRoute', id };
    const { gateway, backend } = props;
    this.name = dnsSubdomain(subject, 'name', props.name ?? backend.serviceName);
    this.namespace = backend.namespace;
    if (!gateway.admitsRoutesFrom(this.namespace)) {
      throw invalidProp(
        subject,
        'backend.namespace',
        this.namespace.name,
        `the namespace whose routes Gateway ${JSON.stringify(gateway.name)} admits (${JSON.stringify(gateway.routeNamespace.name)})`,
      );
    }
    const handling = portHandling(gateway.dataPlane, { appProtocol: backend.appProtocol, port: backend.port });
    if (handling !== 'http2') {
      throw invalidProp(
        subject,
        'backend.appProtocol',
        backend.appProtocol,
        `a value ${gateway.dataPlane} reads as HTTP/2 (such as "HTTP2", HTTP/2 over TLS to the pods): it would carry the calls as ${handling}`,
      );
    }
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
            sectionName: gateway.listenerName,
          },
        ],
        hostnames: [gateway.host],
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
