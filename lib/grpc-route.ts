import type { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as gw from '../../imports/gateway.networking.k8s.io';
import { dnsSubdomain, invalidProp, type ValidationSubject } from '../validate';
import type { INamespace } from '../workload';
import { GATEWAY_API_GROUP, type GrpcGateway } from './grpc-gateway';

/**
 * A Service that serves gRPC, as a route's backend: a `GreeterApp`, or a proxy in front of it such as
 * `CloudEndpointsProxy`.
 */
export interface GrpcBackend {
  /** The Service the route sends calls to. */
  readonly service: ApiObject;
  /** Its gRPC port. */
  readonly port: number;
  /** Its namespace, where the route lives too (so no ReferenceGrant is needed). */
  readonly namespace: INamespace;
}

// What the GRPCRoute CRD accepts as an exact service match: a fully qualified protobuf service name.
const PROTO_SERVICE = /^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i;

export interface GrpcRouteProps {
  /** The Gateway whose HTTPS listener the route attaches to; it must admit routes from the backend's namespace. */
  readonly gateway: GrpcGateway;
  /** Where the calls go: the Service, its gRPC port and namespace are read from it. */
  readonly backend: GrpcBackend;
  /**
   * Name of the GRPCRoute.
   * @default backend.service.name
   */
  readonly name?: string;
  /**
   * Fully qualified gRPC services the route matches (`helloworld.Greeter`); an empty list matches every service
   * (health checks and server reflection too).
   * @default ['helloworld.Greeter']
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
    this.name = dnsSubdomain(subject, 'name', props.name ?? backend.service.name);
    this.namespace = backend.namespace;
    if (!gateway.admitsRoutesFrom(this.namespace)) {
      throw invalidProp(subject, 'backend.namespace', this.namespace.name, `the namespace whose routes Gateway ${JSON.stringify(gateway.name)} admits (${JSON.stringify(gateway.routeNamespace.name)})`);
    }
    const grpcServices = props.grpcServices ?? ['helloworld.Greeter'];
    if (!Array.isArray(grpcServices)) throw invalidProp(subject, 'grpcServices', grpcServices, 'a list of fully qualified gRPC service names');
    grpcServices.forEach((service, index) => {
      if (typeof service !== 'string' || !PROTO_SERVICE.test(service)) {
        throw invalidProp(subject, `grpcServices[${index}]`, service, 'a fully qualified gRPC service name such as "helloworld.Greeter"');
      }
    });
    this.grpcServices = [...grpcServices];

    this.route = new gw.GrpcRoute(this, 'Resource', {
      metadata: { name: this.name, namespace: this.namespace.name },
      spec: {
        parentRefs: [{
          group: GATEWAY_API_GROUP,
          kind: 'Gateway',
          name: gateway.name,
          namespace: gateway.namespace.name,
          sectionName: gateway.listenerName,
        }],
        hostnames: [gateway.host],
        rules: [{
          matches: this.grpcServices.length === 0
            ? undefined
            : this.grpcServices.map((service) => ({ method: { type: gw.GrpcRouteSpecRulesMatchesMethodType.EXACT, service } })),
          backendRefs: [{ group: '', kind: 'Service', name: backend.service.name, port: backend.port }],
        }],
      },
    });
  }
}
