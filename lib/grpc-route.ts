import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as gw from './imports/gateway.networking.k8s.io';
import type { IGrpcBackend } from './grpc-backend';
import type { IGrpcGateway } from './grpc-gateway';
import { gatewayParentRef, gatewayRoute, grpcServiceMatches, serviceReference } from './internal/gateway-api';
import { subjectOf } from './internal/validate';
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
    const route = gatewayRoute(subjectOf(this), props);
    this.name = route.name;
    this.namespace = route.namespace;
    this.hostnames = route.hostnames;
    this.grpcServices = route.grpcServices;

    this.route = new gw.GrpcRoute(this, 'Resource', {
      metadata: { name: this.name, namespace: this.namespace.name },
      spec: {
        parentRefs: [gatewayParentRef(props.gateway, route.listener)],
        hostnames: [...this.hostnames],
        rules: [{ matches: grpcServiceMatches(this.grpcServices), backendRefs: [serviceReference(props.backend)] }],
      },
    });
  }
}
