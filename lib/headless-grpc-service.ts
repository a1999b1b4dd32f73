import { ApiObject } from 'cdk8s';
import * as k8s from './imports/k8s';
import { Construct } from 'constructs';
import type { IGrpcBackend } from './grpc-backend';
import type { IGrpcEndpoint } from './grpc-endpoint';
import { serviceGrpcAppProtocol } from 'grpc-k8s-lb-common';
import { requireSelector } from './internal/backend';
import { serviceDnsName } from './internal/names';
import { dnsLabel, invalidProp, subjectOf } from './internal/validate';
import type { INamespace } from './namespace';

export interface HeadlessGrpcServiceProps {
  /** The backend whose pods the Service publishes, one DNS A record each. */
  readonly backend: IGrpcBackend;
  /**
   * Name of the Service.
   * @default `${backend.serviceName}-headless`
   */
  readonly name?: string;
}

/**
 * A headless Service (`clusterIP: None`) for a gRPC backend: cluster DNS answers with one A record per ready pod, so a
 * grpc-js client dialing `dns:///<name>.<namespace>.svc.cluster.local:<port>` with `round_robin` connects to every
 * pod and balances each call itself. DNS is read when the channel starts and again when a connection drops, so the
 * server must age its connections out (`GrpcApp` `maxConnectionAge`, or the backend's `maxConnectionAgeMs`): each GOAWAY makes clients re-resolve and find
 * pods that started since.
 */
export class HeadlessGrpcService extends Construct implements IGrpcEndpoint {
  readonly name: string;
  readonly service: ApiObject;
  readonly clientNamespace: INamespace;
  /** The client balances over the A records itself. */
  readonly loadBalancingPolicy = 'round_robin';
  private readonly backend: IGrpcBackend;

  constructor(scope: Construct, id: string, props: HeadlessGrpcServiceProps) {
    super(scope, id);
    const subject = subjectOf(this);
    const { backend } = props;
    if (backend.maxConnectionAgeMs === undefined) {
      throw invalidProp(
        subject,
        'backend.maxConnectionAgeMs',
        backend.maxConnectionAgeMs,
        'set, so that clients re-resolve DNS and reach pods that start later',
      );
    }
    const selector = requireSelector(subject, 'backend', backend, 'the headless Service selects the pods');
    this.backend = backend;
    this.name = dnsLabel(subject, 'name', props.name ?? `${backend.serviceName}-headless`);
    this.clientNamespace = backend.namespace;
    this.service = new k8s.KubeService(this, 'Resource', {
      metadata: { name: this.name, namespace: backend.namespace.name },
      spec: {
        clusterIp: 'None',
        selector: { ...selector },
        // Only ready pods get an A record: a draining pod (health NOT_SERVING) leaves DNS before it stops.
        publishNotReadyAddresses: false,
        // The backend's own value where known: the same pods and port, read by the same mesh.
        ports: [
          {
            name: backend.portName,
            appProtocol: backend.appProtocol ?? serviceGrpcAppProtocol(backend.namespace.mesh),
            port: backend.port,
            targetPort: k8s.IntOrString.fromString(backend.portName),
            protocol: 'TCP',
          },
        ],
      },
    });
  }

  get grpcTarget(): string {
    return `dns:///${serviceDnsName(this.name, this.backend.namespace)}:${this.backend.port}`;
  }
}
