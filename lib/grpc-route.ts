import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as gw from './imports/gateway.networking.k8s.io';
import type { IGrpcBackend } from './grpc-backend';
import { GATEWAY_API_GROUP, type IGrpcGateway } from './grpc-gateway';
import { attachedListener, routeHostnames, serviceReference } from './internal/gateway-api';
import { dnsSubdomain, invalidProp, protoServiceNames, subjectOf } from './internal/validate';
import type { INamespace } from './namespace';

/** A GRPCRoute that policies attach to, by name and namespace. */
export interface IGrpcRoute {
  /** Name of the GRPCRoute. */
  readonly name: string;
  /** Namespace of the GRPCRoute. */
  readonly namespace: INamespace;
}

export interface GrpcRouteProps {
  /**
   * The Gateway the route attaches to: a `GrpcGateway`, or one the platform runs (`GrpcGateway.fromGatewayAttributes`).
   * It must admit routes from the backend's namespace.
   */
  readonly gateway: IGrpcGateway;
  /** Where the calls go: the Service, its gRPC port and namespace are read from it. */
  readonly backend: IGrpcBackend;
  /**
   * Name of the GRPCRoute.
   * @default backend.serviceName
   */
  readonly name?: string;
  /**
   * The gateway's listener to attach to (`parentRef.sectionName`).
   * @default - the gateway's one listener; required when it has several; none when it names none (then the route
   *   attaches to every listener that admits it)
   */
  readonly listener?: string;
  /**
   * Hosts the route serves (Gateway API hostnames), each matching the listener's. A listener's wildcard
   * (`*.example.com`) or a listener without a host is shared by every team whose routes attach to it, so it is never
   * claimed by default.
   * @default - the listener's host, when it is a single name; required otherwise
   */
  readonly hostnames?: readonly string[];
  /**
   * Fully qualified gRPC services the route matches (`helloworld.Greeter`); an empty list matches every service
   * (health checks and server reflection too).
   * @default [] (every service)
   */
  readonly grpcServices?: readonly string[];
}

/**
 * A Gateway API `GRPCRoute` (v1): calls for the listed hosts to the listed gRPC services go to the backend's
 * Service. The gateway sends them to the Service's endpoints (pod addresses), one call at a time, so every pod gets
 * its share of the calls on one client connection.
 */
export class GrpcRoute extends Construct implements IGrpcRoute {
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
    this.name = dnsSubdomain(subject, 'name', props.name ?? backend.serviceName);
    this.namespace = backend.namespace;
    if (!gateway.admitsRoutesFrom(this.namespace)) {
      throw invalidProp(
        subject,
        'backend.namespace',
        this.namespace.name,
        `a namespace whose routes Gateway ${gateway.namespace.name}/${gateway.name} admits`,
      );
    }
    const listener = attachedListener(subject, props.listener, gateway);
    this.hostnames = routeHostnames(subject, props.hostnames, listener);
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
                    method: { type: gw.GrpcRouteSpecRulesMatchesMethodType.EXACT, service },
                  })),
            backendRefs: [serviceReference(backend)],
          },
        ],
      },
    });
  }
}
