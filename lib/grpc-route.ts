import { Construct } from 'constructs';
import * as gw from './imports/gateway.networking.k8s.io';
import type { IGrpcBackend } from './grpc-backend';
import { GATEWAY_API_GROUP, type GrpcGateway } from './grpc-gateway';
import { dnsSubdomain, invalidProp, protoServiceNames, type ValidationSubject } from './internal/validate';
import type { INamespace } from './namespace';

export interface GrpcRouteProps {
  /** The Gateway whose HTTPS listener the route attaches to; it must admit routes from the backend's namespace. */
  readonly gateway: GrpcGateway;
  /** Where the calls go: the Service, its gRPC port and namespace are read from it. */
  readonly backend: IGrpcBackend;
  /**
   * Name of the GRPCRoute.
   * @default backend.serviceName
   */
  readonly name?: string;
  /**
   * Fully qualified gRPC services the route matches (`helloworld.Greeter`); an empty list matches every service
   * (health checks and server reflection too).
   * @default [] (every service)
   */
  readonly grpcServices?: readonly string[];
}

/**
 * A Gateway API `GRPCRoute` (v1): calls for the gateway's host to the listed gRPC services go to the backend's
 * Service. The gateway sends them to the Service's endpoints (pod addresses), one call at a time, so every pod gets
 * its share of the calls on one client connection.
 */
export class GrpcRoute extends Construct {
  readonly name: string;
  readonly namespace: INamespace;
  readonly grpcServices: readonly string[];
  readonly route: gw.GrpcRoute;

  constructor(scope: Construct, id: string, props: GrpcRouteProps) {
    super(scope, id);
    const subject: ValidationSubject = { construct: 'GrpcRoute', id };
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
    this.grpcServices = protoServiceNames(subject, 'grpcServices', props.grpcServices ?? [], 0);

    this.route = new gw.GrpcRoute(this, 'Resource', {
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
                    method: { type: gw.GrpcRouteSpecRulesMatchesMethodType.EXACT, service },
                  })),
            backendRefs: [{ group: '', kind: 'Service', name: backend.serviceName, port: backend.port }],
          },
        ],
      },
    });
  }
}
