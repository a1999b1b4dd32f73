import { Chart, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { GreeterApp } from '../greeter-app';
import type { IGrpcEndpoint } from '../grpc-endpoint';
import { clientChart, greeterCharts, type Strategy } from '../strategy';
import { dnsLabel, invalidProp, type ValidationSubject } from '../validate';
import type { INamespace } from '../workload';
import { grpcAppProtocol, meshDataPlanes } from '../internal/app-protocol';

export interface HeadlessGrpcServiceProps {
  /** The greeter whose pods the Service publishes, one DNS A record each. */
  readonly app: GreeterApp;
  /**
   * Name of the Service.
   * @default `${app.name}-headless`
   */
  readonly name?: string;
}

/**
 * A headless Service (`clusterIP: None`) for the greeter: cluster DNS answers with one A record per ready pod, so a
 * grpc-js client dialing `dns:///<name>.<namespace>.svc.cluster.local:<port>` with `round_robin` connects to every
 * pod and balances each call itself. DNS is read when the channel starts and again when a connection drops, so the
 * app must age its connections out (`GreeterApp` `maxConnectionAge`): each GOAWAY makes clients re-resolve and find
 * pods that started since.
 */
export class HeadlessGrpcService extends Construct implements IGrpcEndpoint {
  readonly name: string;
  readonly service: k8s.KubeService;
  readonly clientNamespace: INamespace;
  /** The client balances over the A records itself. */
  readonly loadBalancingPolicy = 'round_robin';
  private readonly app: GreeterApp;

  constructor(scope: Construct, id: string, props: HeadlessGrpcServiceProps) {
    super(scope, id);
    const subject: ValidationSubject = { construct: 'HeadlessGrpcService', id };
    const { app } = props;
    if (app.maxConnectionAgeMs === undefined) {
      throw invalidProp(subject, 'app.maxConnectionAge', app.maxConnectionAgeMs, 'set, so that clients re-resolve DNS and reach pods that start later');
    }
    this.app = app;
    this.name = dnsLabel(subject, 'name', props.name ?? `${app.name}-headless`);
    this.clientNamespace = app.namespace;
    this.service = new k8s.KubeService(this, 'Resource', {
      metadata: { name: this.name, namespace: app.namespace.name, labels: app.podLabels },
      spec: {
        clusterIp: 'None',
        selector: app.selectorLabels,
        // Only ready pods get an A record: a draining pod (health NOT_SERVING) leaves DNS before it stops.
        publishNotReadyAddresses: false,
        ports: [{ name: app.portName, appProtocol: grpcAppProtocol(meshDataPlanes(app.namespace.mesh)), port: app.port, targetPort: k8s.IntOrString.fromString(app.portName), protocol: 'TCP' }],
      },
    });
  }

  get grpcTarget(): string {
    return `dns:///${this.name}.${this.app.namespace.name}.svc.cluster.local:${this.app.port}`;
  }
}

/** How long a client keeps a connection before the server's GOAWAY makes it re-resolve DNS. */
const HEADLESS_MAX_CONNECTION_AGE = Duration.seconds(30);

/** A headless Service and the client's own round_robin balance each call; no proxy, no mesh. */
export const headlessStrategy: Strategy = {
  name: 'headless',
  summary: 'headless Service (one A record per pod) and grpc-js round_robin in the client; connections aged out',
  render(app, env) {
    const { namespaceChart, greeterChart, greeter } = greeterCharts(app, env, { mesh: 'none', maxConnectionAge: HEADLESS_MAX_CONNECTION_AGE });
    const headlessChart = new Chart(app, 'headless');
    const headless = new HeadlessGrpcService(headlessChart, 'headless', { app: greeter });
    headlessChart.addDependency(namespaceChart, greeterChart);
    clientChart(app, env, headless, [headlessChart]);
    return {};
  },
};
