/**
 * A real xDS management server for tests and benchmarks: the Aggregated Discovery Service over gRPC, state of the
 * world (`StreamAggregatedResources`), on 127.0.0.1. It serves what a proxyless gRPC client asks Istio for: the
 * Listener named by its `xds:///` target, whose api_listener is an HttpConnectionManager (RDS over ADS, the router
 * filter last), that listener's RouteConfiguration (every call to one cluster, or split by weighted clusters), EDS
 * Clusters with ROUND_ROBIN (what a DestinationRule's `ROUND_ROBIN` becomes), and their ClusterLoadAssignments.
 *
 *   const plane = await XdsControlPlane.start();
 *   plane.setService({ listener: 'greeter.testing.svc.cluster.local:50051', clusters: { greeter: endpoints } });
 *   const env = plane.writeBootstrap(path.join(dir, 'bootstrap.json'));   // { GRPC_XDS_BOOTSTRAP: … } for a client
 *   // … a client dials plane.target('greeter.testing.svc.cluster.local:50051') …
 *   await plane.setEndpoints('greeter', fewerEndpoints).acked();          // every subscribed client has applied it
 *   await plane.stop();
 *
 * The messages are the Envoy API protos that @grpc/grpc-js-xds ships (its deps/), loaded with @grpc/proto-loader, so
 * the client decodes exactly what this server encodes. The protocol as Envoy's docs give it (api-docs/xds_protocol,
 * https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol):
 * - every response carries its type's version_info and a nonce; a request answers the response whose nonce it
 *   carries, and one with a stale nonce gets no response ("Resource updates");
 * - a NACK is a request with error_detail, an ACK one without ("ACK and NACK semantics summary");
 * - responses go out only when a subscribed resource changed or a name was newly subscribed ("When to send an
 *   update"); LDS and CDS responses hold every subscribed resource, so one left out is deleted, while RDS and EDS
 *   responses hold only what changed ("Grouping Resources into Responses", "Deleting Resources");
 * - one change is sent CDS, EDS, LDS, then RDS, make before break ("Eventual consistency considerations").
 */
import { writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Cluster } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/cluster/v3/Cluster';
import type { ClusterLoadAssignment } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/endpoint/v3/ClusterLoadAssignment';
import type { Listener } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/listener/v3/Listener';
import type { RouteConfiguration } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/route/v3/RouteConfiguration';
import type { HttpConnectionManager } from '@grpc/grpc-js-xds/build/src/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager';
import type { UpstreamTlsContext } from '@grpc/grpc-js-xds/build/src/generated/envoy/extensions/transport_sockets/tls/v3/UpstreamTlsContext';
import type { DiscoveryRequest__Output } from '@grpc/grpc-js-xds/build/src/generated/envoy/service/discovery/v3/DiscoveryRequest';
import type { DiscoveryResponse } from '@grpc/grpc-js-xds/build/src/generated/envoy/service/discovery/v3/DiscoveryResponse';
import { XDS_BOOTSTRAP_CONFIG_ENV, XDS_BOOTSTRAP_ENV, XDS_SCHEME, enableXds } from '../app/xds';
import { HANG_MS } from './wait';

/** The four resource kinds, in the order one change is sent (make before break), with their type URLs. */
export const RESOURCE_TYPES = {
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoints: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
} as const;
export type ResourceKind = keyof typeof RESOURCE_TYPES;
const KINDS = Object.keys(RESOURCE_TYPES) as ResourceKind[];
/** LDS and CDS responses are the state of the world: every subscribed resource in each, a missing one deleted. */
const WHOLE_STATE: ReadonlySet<ResourceKind> = new Set(['listener', 'cluster']);

interface ResourceOf {
  cluster: Cluster;
  endpoints: ClusterLoadAssignment;
  listener: Listener;
  route: RouteConfiguration;
}
/** One Envoy resource, as proto-loader objects (keepCase): what publish() sends. */
export type XdsResource = { [K in ResourceKind]: { kind: K; resource: ResourceOf[K] } }[ResourceKind];

const HTTP_CONNECTION_MANAGER_TYPE =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_FILTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const UPSTREAM_TLS_CONTEXT_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
/** The node id bootstrap() gives a client by default, in Istio's `sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local` form. */
export const DEFAULT_CLIENT_NODE_ID = 'sidecar~127.0.0.1~greeter-client.testing~testing.svc.cluster.local';
/** The bootstrap's certificate provider, named as Istio's pilot-agent names it. */
const CERTIFICATE_PROVIDER = 'default';
/** Resources are fetched on the ADS stream itself (gRPC clients support only ADS). */
const ADS_SOURCE = { ads: {}, resource_api_version: 'V3' } as const;
const MAX_WEIGHT = 2 ** 32 - 1;
const DEFAULT_ACK_TIMEOUT_MS = HANG_MS;

export interface XdsEndpoint {
  /** An IP address: EDS carries socket addresses, which the client dials without resolving. */
  readonly host: string;
  readonly port: number;
}

/** TLS to the pods, with certificates from the client's bootstrap (what Istio sends for a DestinationRule's ISTIO_MUTUAL). */
export interface XdsUpstreamTls {
  /**
   * Names the pod's certificate must carry in its subjectAltName (Istio: the SPIFFE ids of the Service's accounts).
   * @default any name, as long as the bootstrap's CA signed it
   */
  readonly subjectAltNames?: readonly string[];
}

/** PEM files for the bootstrap's certificate provider: the client's identity and the CA it trusts. */
export interface XdsCertificateFiles {
  readonly certificateFile: string;
  readonly privateKeyFile: string;
  readonly caCertificateFile: string;
}

export interface XdsBootstrapOptions {
  /** @default DEFAULT_CLIENT_NODE_ID */
  readonly nodeId?: string;
  /** @default none: the client has no certificates, and a Cluster asking for TLS is rejected */
  readonly certificates?: XdsCertificateFiles;
}

export interface XdsServiceConfig {
  /** The Listener's name: what follows `xds:///` in the client's target, e.g. `greeter.testing.svc.cluster.local:50051`. */
  readonly listener: string;
  /** Every cluster behind the listener's route, by name, with its endpoints (may be empty). */
  readonly clusters: Readonly<Record<string, readonly XdsEndpoint[]>>;
  /**
   * How the route splits calls: cluster name → weight, e.g. `{ stable: 80, canary: 20 }`.
   * @default every call to the one cluster in `clusters`
   */
  readonly weights?: Readonly<Record<string, number>>;
  /** @default plaintext, or whatever the client's own credentials are */
  readonly tls?: XdsUpstreamTls;
  /** The route's retry policy (Envoy's RouteAction.retry_policy, which gRPC reads per gRFC A44). @default none */
  readonly retryPolicy?: XdsRetryPolicy;
}

/** Retries of a route: how many after the first attempt, and on what (Envoy's comma-separated `retry_on`). */
export interface XdsRetryPolicy {
  readonly numRetries: number;
  readonly retryOn: string;
}

/** What a client said about a response, or what this server did, with when (epoch ms, sub-ms precision). */
export interface XdsEvent {
  readonly at: number;
  /** The client's node.id from its bootstrap, else its peer address. */
  readonly client: string;
  readonly kind: ResourceKind;
  readonly event: 'sent' | 'ack' | 'nack';
  /** The version sent, acknowledged or rejected. */
  readonly version: string;
  /** Resource names sent, or the names the client subscribes to with this ACK or NACK. */
  readonly names: readonly string[];
  /** The client's reason for a NACK. */
  readonly error?: string;
}

/** One change, sent to every client subscribed to what it changed. */
export interface XdsPush {
  /** When it was sent: epoch ms with sub-ms precision (performance.timeOrigin + performance.now()), comparable across processes. */
  readonly sentAt: number;
  /** Clients it was sent to (node ids), at least one resource each. */
  readonly clients: readonly string[];
  /**
   * Resolves with the time (epoch ms) of the last ACK once every client it was sent to has ACKed it, or at once when
   * it went to none; rejects when a client NACKs it (with the client's reason) or after timeoutMs.
   */
  acked(timeoutMs?: number): Promise<number>;
}

/** Epoch milliseconds with performance.now()'s precision. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The name a resource goes by: an EDS resource by its cluster_name, the others by name. */
function resourceName(change: XdsResource): string {
  const name = change.kind === 'endpoints' ? change.resource.cluster_name : change.resource.name;
  if (!name)
    throw new Error(`xds: a ${change.kind} resource needs a ${change.kind === 'endpoints' ? 'cluster_name' : 'name'}`);
  return name;
}

/** The RouteConfiguration a listener points at, named after it. */
function routeConfigName(listener: string): string {
  return listener;
}

function listenerResource(listener: string): Listener {
  const httpConnectionManager: HttpConnectionManager & protoLoader.AnyExtension = {
    '@type': HTTP_CONNECTION_MANAGER_TYPE,
    rds: { config_source: ADS_SOURCE, route_config_name: routeConfigName(listener) },
    // gRPC requires the router filter, and last (gRFC A39); Istio names it so too.
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_FILTER_TYPE } }],
  };
  return { name: listener, api_listener: { api_listener: httpConnectionManager } };
}

function routeResource(
  listener: string,
  weights: Readonly<Record<string, number>>,
  retryPolicy: XdsRetryPolicy | undefined,
): RouteConfiguration {
  const clusters = Object.entries(weights);
  return {
    name: routeConfigName(listener),
    // gRPC matches domains against the target's path, host and port included (grpc-js-xds resolver-xds.ts hostDomain).
    virtual_hosts: [
      {
        name: listener,
        domains: [listener],
        routes: [
          {
            match: { prefix: '' },
            route: {
              ...(clusters.length === 1
                ? { cluster: clusters[0][0] }
                : {
                    weighted_clusters: {
                      clusters: clusters.map(([name, weight]) => ({ name, weight: { value: weight } })),
                    },
                  }),
              ...(retryPolicy && {
                retry_policy: { retry_on: retryPolicy.retryOn, num_retries: { value: retryPolicy.numRetries } },
              }),
            },
          },
        ],
      },
    ],
  };
}

function clusterResource(cluster: string, tls?: XdsUpstreamTls): Cluster {
  return {
    name: cluster,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_SOURCE, service_name: cluster },
    lb_policy: 'ROUND_ROBIN',
    ...(tls && { transport_socket: upstreamTls(tls) }),
  };
}

/**
 * Istio's UpstreamTlsContext for proxyless ISTIO_MUTUAL (istio 1.30.3 pilot/pkg/networking/grpcgen: cds.go applyTLS,
 * grpcgen.go buildCommonTLSContext, current fields only): the identity and the CA from the bootstrap's provider.
 */
function upstreamTls(tls: XdsUpstreamTls): NonNullable<Cluster['transport_socket']> {
  const upstreamTlsContext: UpstreamTlsContext & protoLoader.AnyExtension = {
    '@type': UPSTREAM_TLS_CONTEXT_TYPE,
    common_tls_context: {
      tls_certificate_provider_instance: { instance_name: CERTIFICATE_PROVIDER, certificate_name: 'default' },
      combined_validation_context: {
        default_validation_context: {
          ca_certificate_provider_instance: { instance_name: CERTIFICATE_PROVIDER, certificate_name: 'ROOTCA' },
          match_subject_alt_names: (tls.subjectAltNames ?? []).map((name) => ({ exact: name })),
        },
      },
    },
  };
  return { name: 'envoy.transport_sockets.tls', typed_config: upstreamTlsContext };
}

function endpointsResource(cluster: string, endpoints: readonly XdsEndpoint[]): ClusterLoadAssignment {
  return {
    cluster_name: cluster,
    // One locality: a locality of weight 0 would be ignored (gRFC A27).
    endpoints: [
      {
        locality: { region: 'local', zone: 'loopback' },
        load_balancing_weight: { value: 1 },
        lb_endpoints: endpoints.map(({ host, port }) => ({
          health_status: 'HEALTHY',
          endpoint: { address: { socket_address: { address: host, port_value: port } } },
        })),
      },
    ],
  };
}

function checkName(field: string, value: string): void {
  // Istio's names look like `greeter.testing.svc.cluster.local:50051` and `outbound|50051|v1|greeter.testing.svc.cluster.local`.
  if (!/^[A-Za-z0-9][A-Za-z0-9._:|-]*$/.test(value))
    throw new Error(
      `xds: ${field} ${JSON.stringify(value)} must start with a letter or digit and hold only those and . _ : | -`,
    );
}

function checkEndpoints(cluster: string, endpoints: readonly XdsEndpoint[]): void {
  const seen = new Set<string>();
  for (const { host, port } of endpoints) {
    const where = `cluster ${JSON.stringify(cluster)} endpoint ${JSON.stringify(`${host}:${port}`)}`;
    if (isIP(host) === 0) throw new Error(`xds: ${where}: host must be an IP address`);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new Error(`xds: ${where}: port must be an integer from 1 to 65535`);
    if (seen.has(`${host}:${port}`)) throw new Error(`xds: ${where} is listed twice`);
    seen.add(`${host}:${port}`);
  }
}

/** The route's weights, checked: each cluster known, each weight an integer >= 0, their sum from 1 to 2^32 - 1 (as gRPC requires). */
function routeWeights(config: XdsServiceConfig): Readonly<Record<string, number>> {
  const clusters = Object.keys(config.clusters);
  if (config.weights === undefined) {
    if (clusters.length !== 1)
      throw new Error(
        `xds: listener ${JSON.stringify(config.listener)} has ${clusters.length} clusters: give weights for them`,
      );
    return { [clusters[0]]: 1 };
  }
  const entries = Object.entries(config.weights);
  if (entries.length === 0)
    throw new Error(`xds: listener ${JSON.stringify(config.listener)}: weights must name at least one cluster`);
  for (const [cluster, weight] of entries) {
    if (!clusters.includes(cluster))
      throw new Error(
        `xds: weights name cluster ${JSON.stringify(cluster)}, which is not one of the clusters (${clusters.join(', ')})`,
      );
    if (!Number.isInteger(weight) || weight < 0)
      throw new Error(`xds: weight ${weight} of cluster ${JSON.stringify(cluster)} must be an integer >= 0`);
  }
  const sum = entries.reduce((total, [, weight]) => total + weight, 0);
  if (sum < 1 || sum > MAX_WEIGHT)
    throw new Error(
      `xds: listener ${JSON.stringify(config.listener)}: the weights sum to ${sum}, not from 1 to ${MAX_WEIGHT}`,
    );
  return config.weights;
}

let adsService: grpc.ServiceDefinition | undefined;

/** The ADS service from the Envoy protos that @grpc/grpc-js-xds ships; loaded once, on the first start. */
function loadAdsService(): grpc.ServiceDefinition {
  if (adsService) return adsService;
  const deps = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const definition = protoLoader.loadSync(
    [
      'envoy/service/discovery/v3/ads.proto',
      'envoy/config/listener/v3/listener.proto',
      'envoy/config/route/v3/route.proto',
      'envoy/config/cluster/v3/cluster.proto',
      'envoy/config/endpoint/v3/endpoint.proto',
      // Loaded so that `{ '@type': …, … }` objects can be packed into google.protobuf.Any fields.
      'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
      'envoy/extensions/filters/http/router/v3/router.proto',
      'envoy/extensions/transport_sockets/tls/v3/tls.proto',
    ],
    {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
      json: true,
      includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((dir) => path.join(deps, dir)),
    },
  );
  adsService = definition['envoy.service.discovery.v3.AggregatedDiscoveryService'] as grpc.ServiceDefinition;
  return adsService;
}

interface Stored {
  readonly resource: protoLoader.AnyExtension;
  /** The type version at which it last changed. */
  readonly version: number;
}

/** One client's view of one resource type on its stream. */
interface Subscription {
  names: ReadonlySet<string>;
  /** Version of each resource last sent on this stream. */
  readonly sent: Map<string, number>;
  latestNonce: string;
  /** Version of the latest response sent, and of the latest acknowledged (when): -1 for none. */
  sentVersion: number;
  ackedVersion: number;
  ackedAt: number;
  nack?: { version: number; message: string };
}

type AdsStream = grpc.ServerDuplexStream<DiscoveryRequest__Output, DiscoveryResponse>;

interface Client {
  readonly stream: AdsStream;
  id: string;
  readonly subscriptions: Map<ResourceKind, Subscription>;
  nonces: number;
  ended: boolean;
}

interface Waiter {
  readonly targets: Array<{ client: Client; kind: ResourceKind; version: number }>;
  check(): void;
}

export class XdsControlPlane {
  /** Starts the ADS server on an IPv4 address (default 127.0.0.1) with a free port. */
  static async start(host = '127.0.0.1'): Promise<XdsControlPlane> {
    const server = new grpc.Server();
    const plane = new XdsControlPlane(server, host);
    server.addService(loadAdsService(), {
      StreamAggregatedResources: (stream: AdsStream) => plane.serve(stream),
    });
    plane.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      ),
    );
    return plane;
  }

  /** Every response sent and every ACK and NACK received, in order. */
  readonly events: XdsEvent[] = [];
  private port = 0;
  private readonly store = new Map<ResourceKind, Map<string, Stored>>(KINDS.map((kind) => [kind, new Map()]));
  private readonly versions = new Map<ResourceKind, number>(KINDS.map((kind) => [kind, 0]));
  private readonly clients = new Set<Client>();
  private readonly waiters = new Set<Waiter>();
  /** Each listener's clusters, so setEndpoints and setWeights can check what they are given. */
  private readonly services = new Map<string, XdsServiceConfig>();

  private constructor(
    private readonly server: grpc.Server,
    private readonly host: string,
  ) {}

  /** `host:port` of the ADS server: the bootstrap's server_uri. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** The client's target for a listener: `xds:///<listener>`. */
  target(listener: string): string {
    return `${XDS_SCHEME}:///${listener}`;
  }

  /**
   * A gRPC xDS bootstrap for this server, shaped as Istio's pilot-agent writes it (istio 1.30.3
   * pkg/istio-agent/grpcxds/grpc_bootstrap.go, testdata/grpc-bootstrap.json) but for TCP loopback: one xds_server
   * with insecure channel creds and `xds_v3`, a node with Istio's id form, and with certificates a `file_watcher`
   * certificate provider named `default`.
   */
  bootstrap({ nodeId = DEFAULT_CLIENT_NODE_ID, certificates }: XdsBootstrapOptions = {}): object {
    return {
      xds_servers: [{ server_uri: this.address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: nodeId, locality: {}, metadata: { GENERATOR: 'grpc' } },
      ...(certificates && {
        certificate_providers: {
          [CERTIFICATE_PROVIDER]: {
            plugin_name: 'file_watcher',
            config: {
              certificate_file: certificates.certificateFile,
              private_key_file: certificates.privateKeyFile,
              ca_certificate_file: certificates.caCertificateFile,
              refresh_interval: '900s',
            },
          },
        },
      }),
    };
  }

  /** Writes bootstrap(options) to file and returns the environment a client process needs to read it. */
  writeBootstrap(file: string, options?: XdsBootstrapOptions): Record<string, string> {
    writeFileSync(file, JSON.stringify(this.bootstrap(options), null, 2) + '\n');
    return { [XDS_BOOTSTRAP_ENV]: file };
  }

  /**
   * Lets channels in this process dial this plane's `xds:` targets (harness/load.ts's startLoad, a benchmark's own
   * clients): registers grpc-js-xds as the client does and hands it this bootstrap through GRPC_XDS_BOOTSTRAP_CONFIG.
   * grpc-js-xds reads the bootstrap once per process, so one plane serves a process for its whole life.
   */
  useInThisProcess(options?: XdsBootstrapOptions): void {
    const json = JSON.stringify(this.bootstrap(options));
    const current = process.env[XDS_BOOTSTRAP_CONFIG_ENV];
    if (process.env[XDS_BOOTSTRAP_ENV] || (current !== undefined && current !== json)) {
      throw new Error(
        `xds: this process already has an xDS bootstrap (${XDS_BOOTSTRAP_ENV} or ${XDS_BOOTSTRAP_CONFIG_ENV} is set), which grpc-js-xds keeps for good`,
      );
    }
    process.env[XDS_BOOTSTRAP_CONFIG_ENV] = json;
    enableXds({ target: this.target('*'), maxAttempts: 1 }, grpc.credentials.createInsecure());
  }

  /**
   * Serves one listener: its Listener and RouteConfiguration, and a Cluster and ClusterLoadAssignment per cluster.
   * Calling it again for the same listener replaces its route and endpoints.
   */
  setService(config: XdsServiceConfig): XdsPush {
    checkName('listener', config.listener);
    for (const [cluster, endpoints] of Object.entries(config.clusters)) {
      checkName('cluster', cluster);
      checkEndpoints(cluster, endpoints);
    }
    const weights = routeWeights(config);
    this.services.set(config.listener, { ...config, weights });
    return this.publish([
      ...Object.entries(config.clusters).flatMap(([cluster, endpoints]): XdsResource[] => [
        { kind: 'cluster', resource: clusterResource(cluster, config.tls) },
        { kind: 'endpoints', resource: endpointsResource(cluster, endpoints) },
      ]),
      { kind: 'listener', resource: listenerResource(config.listener) },
      { kind: 'route', resource: routeResource(config.listener, weights, config.retryPolicy) },
    ]);
  }

  /** Replaces the endpoints of a cluster that setService made (an EDS update). */
  setEndpoints(cluster: string, endpoints: readonly XdsEndpoint[]): XdsPush {
    const service = [...this.services.values()].find((candidate) => cluster in candidate.clusters);
    if (!service) throw new Error(`xds: no cluster ${JSON.stringify(cluster)}; setService makes clusters`);
    checkEndpoints(cluster, endpoints);
    this.services.set(service.listener, { ...service, clusters: { ...service.clusters, [cluster]: endpoints } });
    return this.publish([{ kind: 'endpoints', resource: endpointsResource(cluster, endpoints) }]);
  }

  /** Re-splits a listener's calls over its clusters (an RDS update). */
  setWeights(listener: string, weights: Readonly<Record<string, number>>): XdsPush {
    const service = this.services.get(listener);
    if (!service) throw new Error(`xds: no listener ${JSON.stringify(listener)}; setService makes listeners`);
    const checked = routeWeights({ ...service, weights });
    this.services.set(listener, { ...service, weights: checked });
    return this.publish([{ kind: 'route', resource: routeResource(listener, checked, service.retryPolicy) }]);
  }

  /**
   * Sends any resources as given, for what setService does not model (a retry policy, outlier detection, or a
   * resource a client must reject). Later calls to setService and friends overwrite resources of the same name.
   */
  publish(changes: readonly XdsResource[]): XdsPush {
    const changed = new Map<ResourceKind, Set<string>>();
    for (const change of changes) {
      const name = resourceName(change);
      const version = this.versions.get(change.kind)! + (changed.has(change.kind) ? 0 : 1);
      this.versions.set(change.kind, version);
      this.store
        .get(change.kind)!
        .set(name, { resource: { '@type': RESOURCE_TYPES[change.kind], ...change.resource }, version });
      changed.set(change.kind, (changed.get(change.kind) ?? new Set()).add(name));
    }
    const sentAt = preciseNow();
    const targets: Waiter['targets'] = [];
    for (const kind of KINDS.filter((candidate) => changed.has(candidate))) {
      for (const client of this.clients) {
        const subscription = client.subscriptions.get(kind);
        if (!subscription || ![...changed.get(kind)!].some((name) => subscription.names.has(name))) continue;
        if (this.sendChanges(client, kind)) targets.push({ client, kind, version: subscription.sentVersion });
      }
    }
    return {
      sentAt,
      clients: [...new Set(targets.map((target) => target.client.id))],
      acked: (timeoutMs = DEFAULT_ACK_TIMEOUT_MS) => this.waitForAcks(targets, sentAt, timeoutMs),
    };
  }

  /** Stops the server and ends every client's stream. */
  async stop(): Promise<void> {
    this.server.forceShutdown();
    for (const client of this.clients) client.ended = true;
    this.clients.clear();
    for (const waiter of this.waiters) waiter.check();
  }

  private serve(stream: AdsStream): void {
    const client: Client = { stream, id: stream.getPeer(), subscriptions: new Map(), nonces: 0, ended: false };
    this.clients.add(client);
    const end = () => {
      client.ended = true;
      this.clients.delete(client);
      for (const waiter of this.waiters) waiter.check();
    };
    stream.on('data', (request: DiscoveryRequest__Output) => this.handleRequest(client, request));
    stream.on('end', () => {
      end();
      stream.end();
    });
    stream.on('error', end);
    stream.on('cancelled', end);
  }

  private handleRequest(client: Client, request: DiscoveryRequest__Output): void {
    // Only the first request on a stream must carry the node.
    if (request.node?.id && client.subscriptions.size === 0) client.id = request.node.id;
    const kind = KINDS.find((candidate) => RESOURCE_TYPES[candidate] === request.type_url);
    if (!kind) return;
    const subscription: Subscription = client.subscriptions.get(kind) ?? {
      names: new Set(),
      sent: new Map(),
      latestNonce: '',
      sentVersion: -1,
      ackedVersion: -1,
      ackedAt: 0,
    };
    client.subscriptions.set(kind, subscription);
    if (request.response_nonce !== subscription.latestNonce) return;
    const names = request.resource_names;
    if (request.response_nonce !== '') {
      const at = preciseNow();
      const version = String(subscription.sentVersion);
      if (request.error_detail) {
        subscription.nack = { version: subscription.sentVersion, message: request.error_detail.message };
        this.events.push({
          at,
          client: client.id,
          kind,
          event: 'nack',
          version,
          names,
          error: request.error_detail.message,
        });
      } else {
        subscription.ackedVersion = subscription.sentVersion;
        subscription.ackedAt = at;
        this.events.push({ at, client: client.id, kind, event: 'ack', version, names });
      }
    }
    // gRPC subscribes by name, so the legacy wildcard (an empty LDS or CDS list) is not served.
    subscription.names = new Set(names);
    for (const name of subscription.sent.keys()) if (!subscription.names.has(name)) subscription.sent.delete(name);
    this.sendChanges(client, kind);
    for (const waiter of this.waiters) waiter.check();
  }

  /** Sends the client what changed of one kind since it last heard; false when nothing had. */
  private sendChanges(client: Client, kind: ResourceKind): boolean {
    const subscription = client.subscriptions.get(kind)!;
    const stored = this.store.get(kind)!;
    const current = [...subscription.names].flatMap((name) => {
      const entry = stored.get(name);
      return entry ? [{ name, ...entry }] : [];
    });
    const changed = current.filter(({ name, version }) => subscription.sent.get(name) !== version);
    if (changed.length === 0) return false;
    const included = WHOLE_STATE.has(kind) ? current : changed;
    const version = this.versions.get(kind)!;
    const nonce = String(++client.nonces);
    client.stream.write({
      version_info: String(version),
      nonce,
      type_url: RESOURCE_TYPES[kind],
      resources: included.map(({ resource }) => resource),
    });
    for (const { name, version: resourceVersion } of included) subscription.sent.set(name, resourceVersion);
    subscription.latestNonce = nonce;
    subscription.sentVersion = version;
    this.events.push({
      at: preciseNow(),
      client: client.id,
      kind,
      event: 'sent',
      version: String(version),
      names: included.map(({ name }) => name),
    });
    return true;
  }

  private waitForAcks(targets: Waiter['targets'], sentAt: number, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      let lastAck = sentAt;
      const waiter: Waiter = {
        targets: [...targets],
        check: () => {
          for (const target of [...waiter.targets]) {
            const subscription = target.client.subscriptions.get(target.kind)!;
            if (subscription.ackedVersion >= target.version) {
              lastAck = Math.max(lastAck, subscription.ackedAt);
            } else if (subscription.nack && subscription.nack.version >= target.version) {
              return finish(
                new Error(
                  `xds: ${target.client.id} rejected ${target.kind} version ${subscription.nack.version}: ${subscription.nack.message}`,
                ),
              );
            } else if (!target.client.ended) {
              continue;
            }
            // Acknowledged, or the client has gone and has nothing left to apply.
            waiter.targets.splice(waiter.targets.indexOf(target), 1);
          }
          if (waiter.targets.length === 0) finish();
        },
      };
      const timer = setTimeout(() => {
        const waiting = waiter.targets.map(
          (target) => `${target.client.id} (${target.kind} version ${target.version})`,
        );
        finish(new Error(`xds: no ACK within ${timeoutMs} ms from ${waiting.join(', ')}`));
      }, timeoutMs);
      const finish = (error?: Error) => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        if (error) reject(error);
        else resolve(lastAck);
      };
      this.waiters.add(waiter);
      waiter.check();
    });
  }
}
