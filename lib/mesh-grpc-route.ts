import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as gw from './imports/gateway.networking.k8s.io';
import type { IGrpcBackend } from './grpc-backend';
import { grpcServiceMatches, serviceReference } from './internal/gateway-api';
import { dnsSubdomain, protoServiceNames, subjectOf } from './internal/validate';

export interface MeshGrpcRouteProps {
  /** The backend whose Service the route is attached to and sends the calls to. */
  readonly backend: IGrpcBackend;
  /**
   * Name of the GRPCRoute.
   * @default backend.serviceName
   */
  readonly name?: string;
  /**
   * Fully qualified gRPC services the route matches; calls to any other service of the Service match no rule and are
   * not forwarded.
   * @default [] (every service)
   */
  readonly grpcServices?: readonly string[];
}

/**
 * A Gateway API `GRPCRoute` (v1) whose parent is the backend's Service: the mesh profile (GAMMA, GEP-1426), where a
 * route applies to the calls every meshed client makes to that Service, not to a gateway's listener. Istio 1.30
 * turns it into a mesh VirtualService for the Service's host and port (pilot/pkg/config/kube/gateway/
 * route_collections.go GRPCRouteCollection, `parent.IsMesh()`), which in ambient the Service's waypoint applies:
 * each call is routed, and balanced, on its own.
 */
export class MeshGrpcRoute extends Construct {
  readonly name: string;
  readonly grpcServices: readonly string[];
  readonly route: ApiObject;

  constructor(scope: Construct, id: string, props: MeshGrpcRouteProps) {
    super(scope, id);
    const subject = subjectOf(this);
    const { backend } = props;
    this.name = dnsSubdomain(subject, 'name', props.name ?? backend.serviceName);
    this.grpcServices = protoServiceNames(subject, 'grpcServices', props.grpcServices ?? [], 0);
    const service = serviceReference(backend);
    this.route = new gw.GrpcRoute(this, 'Resource', {
      metadata: { name: this.name, namespace: backend.namespace.name },
      spec: {
        parentRefs: [service],
        rules: [
          {
            matches: grpcServiceMatches(this.grpcServices),
            backendRefs: [service],
          },
        ],
      },
    });
  }
}
