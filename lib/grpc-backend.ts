import type { Duration } from 'cdk8s';
import {
  appProtocolName,
  dnsLabel,
  invalidProp,
  milliseconds,
  port as validPort,
  type ValidationSubject,
} from './internal/validate';
import type { INamespace } from './namespace';

/** The mesh identity of a workload: its ServiceAccount, which Istio turns into the SPIFFE principal of its certificate. */
export interface MeshIdentity {
  /** Namespace of the ServiceAccount. */
  readonly namespace: INamespace;
  /** Name of the ServiceAccount the workload's pods run as. */
  readonly serviceAccountName: string;
}

/**
 * What a front door routes to and a policy applies to: a Service that serves gRPC. A `GrpcApp` is one; a Service
 * rendered elsewhere (Helm, another chart) becomes one through `GrpcBackend.fromService`.
 */
export interface IGrpcBackend {
  /** Name of the Service. */
  readonly serviceName: string;
  /** Namespace of the Service. */
  readonly namespace: INamespace;
  /** The Service port that serves gRPC. */
  readonly port: number;
  /** Name of that Service port. */
  readonly portName: string;
  /**
   * That Service port's `appProtocol`, which meshes and gateways read to carry calls as HTTP/2.
   * @default - unknown
   */
  readonly appProtocol?: string;
  /**
   * Labels that select the Service's pods, for policies that apply to the pods themselves.
   * @default - unknown: constructs that need them refuse the backend
   */
  readonly selectorLabels?: Readonly<Record<string, string>>;
  /**
   * The pods' mesh identity (their ServiceAccount).
   * @default - unknown
   */
  readonly identity?: MeshIdentity;
  /**
   * How long the server keeps a connection before it sends GOAWAY (its max connection age), in milliseconds.
   * @default - unknown, or connections are never aged out
   */
  readonly maxConnectionAgeMs?: number;
  /**
   * Whether the pods run the sidecar their namespace's mesh injects; false for pods that opt out (Istio's proxyless
   * gRPC, `sidecar.istio.io/inject: "false"`). A gateway sends Istio mutual TLS only to pods with an Istio sidecar.
   * @default true: pods in a meshed namespace have its sidecar
   */
  readonly sidecar?: boolean;
}

/** A Service rendered elsewhere, by what a route or policy needs to know of it. */
export interface GrpcServiceReference {
  /** Name of the Service. */
  readonly name: string;
  /** Namespace of the Service. */
  readonly namespace: INamespace;
  /** The Service port that serves gRPC. */
  readonly port: number;
  /**
   * Name of that Service port.
   * @default 'grpc'
   */
  readonly portName?: string;
  /**
   * That Service port's `appProtocol`, so policies can refuse a value their mesh would not balance per call.
   * @default - unknown
   */
  readonly appProtocol?: string;
  /**
   * Labels that select the Service's pods.
   * @default - unknown: constructs that apply to pods (MeshAccessPolicy, HeadlessGrpcService) refuse the backend
   */
  readonly selectorLabels?: Readonly<Record<string, string>>;
  /**
   * The ServiceAccount the pods run as, in the Service's namespace.
   * @default - unknown
   */
  readonly serviceAccountName?: string;
  /**
   * The server's max connection age, if it ages connections out.
   * @default - unknown, or connections are never aged out
   */
  readonly maxConnectionAge?: Duration;
  /**
   * Whether the pods run the sidecar of their namespace's mesh (`namespace.mesh`).
   * @default true
   */
  readonly sidecar?: boolean;
}

/** Backends that are not constructs of this library. */
export class GrpcBackend {
  /** A Service that exists, or that another tool renders, as a backend for routes and policies. */
  static fromService(ref: GrpcServiceReference): IGrpcBackend {
    const subject: ValidationSubject = { construct: 'GrpcBackend.fromService', id: String(ref?.name) };
    if (typeof ref !== 'object' || ref === null)
      throw invalidProp(subject, 'ref', ref, 'a GrpcServiceReference such as { name, namespace, port }');
    const serviceName = dnsLabel(subject, 'name', ref.name);
    if (typeof ref.namespace?.name !== 'string')
      throw invalidProp(subject, 'namespace', ref.namespace, 'an INamespace, such as existingNamespace("payments")');
    const selectorLabels = ref.selectorLabels === undefined ? undefined : { ...ref.selectorLabels };
    if (selectorLabels !== undefined && Object.keys(selectorLabels).length === 0) {
      throw invalidProp(subject, 'selectorLabels', selectorLabels, 'at least one label, or unset when unknown');
    }
    return {
      serviceName,
      namespace: ref.namespace,
      port: validPort(subject, 'port', ref.port),
      portName: dnsLabel(subject, 'portName', ref.portName ?? 'grpc'),
      appProtocol: ref.appProtocol === undefined ? undefined : appProtocolName(subject, 'appProtocol', ref.appProtocol),
      selectorLabels,
      identity:
        ref.serviceAccountName === undefined
          ? undefined
          : {
              namespace: ref.namespace,
              serviceAccountName: dnsLabel(subject, 'serviceAccountName', ref.serviceAccountName),
            },
      maxConnectionAgeMs:
        ref.maxConnectionAge === undefined
          ? undefined
          : milliseconds(subject, 'maxConnectionAge', ref.maxConnectionAge, 1000),
      sidecar: ref.sidecar,
    };
  }

  private constructor() {}
}
