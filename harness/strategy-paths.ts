/**
 * The paths a client's calls can take to the greeter pods, one per load-balancing strategy whose data plane runs on
 * this machine, for the strategies benchmark (bench/strategies.ts) and its test. Each path starts what its strategy
 * puts between the client and the pods (a proxy, a DNS server, an API server) for pods on their own loopback
 * addresses (harness/pods.ts LoopbackPods), gives the target the client dials, and follows the pods as the
 * strategy's control plane does in a cluster when one is added or removed.
 *
 * Each path runs a strategy's rendered greeter and client (`npm run synth`, dist/docker-desktop/<strategy>/): the
 * client's settings (LB policy, retries, waitForReady, how often it resolves DNS) and the greeter's drain delay
 * (its preStop sleep) and readiness probe period are read from there, so each path does what that strategy renders.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { clientSettings, type ClientConfig } from '../app/client';
import { parseSettings } from '../app/config';
import { parseKubernetesTarget } from 'grpc-js-kubernetes-resolver';
import { serverSettings } from '../app/server';
import { SERVER_ENV } from '../app/settings';
import { XDS_SCHEME } from '../app/xds';
import { ENVIRONMENTS, type StrategyName } from '../deploy';
import { DNSMASQ_INSTALL_HINT, dnsmasqMissing, startDnsmasq } from './dnsmasq';
import { FakeKubeApi, writeKubeconfig, type EndpointSlice } from './fake-kube-api';
import { readManifestDir, type KubeObject } from './manifests';
import { NGINX_INSTALL_HINT, nginxMissing, startNginx } from './nginx';
import type { ProxyKind } from './nginx-config';
import type { PodAddress, RolloutHooks } from './pods';
import { ROOT } from './processes';
import { XdsControlPlane } from './xds-control-plane';

/** A path as it runs: the client dials `target` with `lb`; the hooks are the control plane following the pods. */
export interface RunningPath extends RolloutHooks {
  /** The grpc-js target the client dials. */
  readonly target: string;
  /** The client's LB policy (LB_POLICY), as the strategy's client sets it. */
  readonly lb: ClientConfig['lb'];
  /** What stands between client and pods here, for progress lines: `nginx stream on 127.0.0.1:41234`. */
  readonly via: string;
  stop(): Promise<void>;
}

/**
 * What follows the pods between the EndpointSlice and the client's calls, and how long after an EndpointSlice
 * change it routes by it in a cluster with its default settings: the lag the race scenario gives each path.
 */
export const DATA_PLANES = {
  'kube-proxy': {
    lagMs: 1000,
    source:
      "kube-proxy's minSyncPeriod, default 1 s: it applies endpoint changes at most once a second (iptables and nftables modes; https://kubernetes.io/docs/reference/networking/virtual-ips/)",
  },
  'ingress-nginx': {
    lagMs: 4333,
    source:
      'ingress-nginx controller-v1.15.1 syncs at most 0.3 times a second (--sync-rate-limit, pkg/flags/flags.go), and each nginx worker reads the new endpoints within 1 s (BACKENDS_SYNC_INTERVAL, rootfs/etc/nginx/lua/balancer.lua): 1/0.3 s + 1 s',
  },
  'cluster-dns': {
    lagMs: 30_000,
    source:
      'the Corefile Kubernetes installs CoreDNS with gives answers a 30 s TTL and caches them for as long (`ttl 30`, `cache 30`; https://kubernetes.io/docs/tasks/administer-cluster/dns-custom-nameservers/): a headless name can answer with pods of 30 s ago',
  },
  'endpointslice-watch': {
    lagMs: 0,
    source:
      "kube-controller-manager's --endpointslice-updates-batch-period is 0 unless set: each pod change updates the slice at once (https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/); the watch that carries it to the client is real here",
  },
  istiod: {
    lagMs: 100,
    source:
      'istiod pushes a change once no other came for 100 ms (PILOT_DEBOUNCE_AFTER; at most PILOT_DEBOUNCE_MAX 10 s while changes keep coming): istio 1.30.3 pilot/pkg/features/tuning.go',
  },
} as const satisfies Record<string, { lagMs: number; source: string }>;
export type DataPlaneName = keyof typeof DATA_PLANES;

/**
 * One way from the client to the pods. To add one: implement `start` (bring up its control or data plane for
 * these pods, return the target and the hooks) and add it to `strategyPaths`.
 */
export interface StrategyPath {
  /** Its row in the table and its name for `--paths`, e.g. `L7`. */
  readonly name: string;
  /** What it stands for in a cluster. */
  readonly stands: string;
  /** The strategy whose rendered greeter and client it runs. */
  readonly strategy: StrategyName;
  /** What learns of pod changes, and late, in a cluster. */
  readonly dataPlane: DataPlaneName;
  /**
   * Environment of every pod on this path, on top of the server's defaults (e.g. MAX_CONNECTION_AGE_MS); a setting
   * that stands for cluster time is multiplied by `timeScale`.
   */
  podEnv(timeScale: number): Record<string, string>;
  /** Why it cannot run on this machine, with how to install what is missing; undefined when it can. */
  missing(): string | undefined;
  start(pods: readonly PodAddress[]): Promise<RunningPath>;
}

/** The environment whose rendered clients the paths dial like: the one that runs on a laptop. */
const RENDERED_ENVIRONMENT = ENVIRONMENTS['docker-desktop'].name;

/** The objects of `strategy`'s directory in dist/docker-desktop/. */
function renderedObjects(strategy: StrategyName): { dir: string; objects: KubeObject[] } {
  const dir = path.join(ROOT, 'dist', RENDERED_ENVIRONMENT, strategy);
  return { dir, objects: readManifestDir(dir).flatMap((file) => file.objects) };
}

type EnvVar = { name: string; value?: string };

/** The first container, of the Deployments in `objects`, whose environment sets `name`, with that environment. */
function containerSetting(objects: readonly KubeObject[], name: string) {
  return objects
    .filter((object) => object.kind === 'Deployment')
    .flatMap((deployment) => deployment.spec.template.spec.containers as Array<KubeObject & { env?: EnvVar[] }>)
    .find((container) => (container.env ?? []).some((variable) => variable.name === name));
}

/** The client settings this harness takes from a rendered client: all but TLS, which the paths here do not use. */
export type RenderedClient = Pick<
  ClientConfig,
  'target' | 'lb' | 'maxAttempts' | 'waitForReady' | 'dnsMinTimeBetweenResolutionsMs'
>;

/** What `strategy`'s client dials and with which settings, from its Deployment in dist/docker-desktop/<strategy>/. */
export function renderedClient(strategy: StrategyName): RenderedClient {
  const { dir, objects } = renderedObjects(strategy);
  const container = containerSetting(objects, clientSettings.target.env!);
  if (!container)
    throw new Error(`no client Deployment with ${clientSettings.target.env} in ${dir}: run npm run synth`);
  const env = Object.fromEntries((container.env as EnvVar[]).map((v) => [v.name, v.value]));
  // CA_FILE names a file in the client's pod.
  const parsed = parseSettings(clientSettings, [], { ...env, [clientSettings.caFile.env!]: undefined });
  if (parsed.help) throw new Error(`${dir}: the client's settings ask for help`);
  const { target, lb, maxAttempts, waitForReady, dnsMinTimeBetweenResolutionsMs } = parsed.settings;
  return { target, lb, maxAttempts, waitForReady, dnsMinTimeBetweenResolutionsMs };
}

/** What a path takes from `strategy`'s rendered greeter pods. */
export interface RenderedServer {
  /** How long a terminating pod serves before SIGTERM: its preStop sleep (0 without one). */
  drainDelayMs: number;
  /** How often its readiness probe runs: how long a new pod waits before it joins the endpoints. */
  readinessPeriodMs: number;
  /** Its MAX_CONNECTION_AGE_MS, if set. */
  maxConnectionAgeMs?: number;
}

/** `strategy`'s greeter container as rendered in dist/docker-desktop/<strategy>/. */
export function renderedServer(strategy: StrategyName): RenderedServer {
  const { dir, objects } = renderedObjects(strategy);
  const container = containerSetting(objects, SERVER_ENV.shutdownGraceMs);
  if (!container)
    throw new Error(`no greeter Deployment with ${SERVER_ENV.shutdownGraceMs} in ${dir}: run npm run synth`);
  const age = (container.env as EnvVar[]).find((v) => v.name === SERVER_ENV.maxConnectionAgeMs)?.value;
  const periodSeconds = container.readinessProbe?.periodSeconds;
  if (typeof periodSeconds !== 'number') throw new Error(`${dir}: the greeter container has no readiness probe period`);
  return {
    drainDelayMs: (container.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000,
    readinessPeriodMs: periodSeconds * 1000,
    ...(age !== undefined && { maxConnectionAgeMs: Number(age) }),
  };
}

const ageEnvName = () => serverSettings.maxConnectionAgeMs.env!;

/** The server's max connection age as a pod's environment, or none. */
function ageEnv(maxConnectionAgeMs: number | undefined): Record<string, string> {
  return maxConnectionAgeMs === undefined ? {} : { [ageEnvName()]: String(Math.round(maxConnectionAgeMs)) };
}

/** Pods in rotation, in the order they joined, as a control plane keeps them; add and remove return the new list. */
class Rotation {
  private readonly pods: PodAddress[];

  constructor(pods: readonly PodAddress[]) {
    this.pods = [...pods];
  }

  get current(): readonly PodAddress[] {
    return this.pods;
  }

  add(pod: PodAddress): readonly PodAddress[] {
    if (this.pods.some((p) => p.name === pod.name)) throw new Error(`pod ${pod.name} is already in rotation`);
    this.pods.push(pod);
    return this.pods;
  }

  remove(pod: PodAddress): readonly PodAddress[] {
    const index = this.pods.findIndex((p) => p.name === pod.name);
    if (index < 0) throw new Error(`pod ${pod.name} is not in rotation`);
    this.pods.splice(index, 1);
    return this.pods;
  }
}

function nginxPath(
  name: string,
  stands: string,
  kind: Extract<ProxyKind, 'grpc' | 'tcp'>,
  strategy: StrategyName,
  dataPlane: DataPlaneName,
  podEnv: Record<string, string>,
): StrategyPath {
  return {
    name,
    stands,
    strategy,
    dataPlane,
    podEnv: () => podEnv,
    missing: () => nginxMissing() && `${nginxMissing()}; install it with: ${NGINX_INSTALL_HINT}`,
    async start(pods) {
      const rotation = new Rotation(pods);
      const backends = () => rotation.current.map(({ host, port }) => ({ host, port }));
      const nginx = await startNginx({ proxy: { kind, backends: backends() } });
      // An endpoint change reloads nginx: new connections and calls use the new pods, open connections stay on the old
      // worker until they close. (ingress-nginx instead hands endpoint changes to its Lua balancer without a reload:
      // its docs/how-it-works.md, "Avoiding reloads on Endpoints changes".) So a removed pod has left L7 only once the
      // old workers have moved the client's connection (GOAWAY) and exited; the L4 worker keeps the client's
      // connection to its pod, as kube-proxy's conntrack entry does, until the pod closes it.
      const follow = async (untilOldWorkersExit: boolean) =>
        nginx.reconfigure({ proxy: backends() }, { untilOldWorkersExit });
      return {
        target: `127.0.0.1:${nginx.ports.proxy}`,
        lb: renderedClient(strategy).lb,
        via: `nginx ${kind === 'tcp' ? 'stream' : 'grpc_pass'} on 127.0.0.1:${nginx.ports.proxy}`,
        added: async (pod) => (rotation.add(pod), follow(false)),
        removing: async (pod) => (rotation.remove(pod), follow(kind === 'grpc')),
        stop: () => nginx.stop(),
      };
    },
  };
}

/**
 * A Service's ClusterIP: kube-proxy sends each new connection to one pod, and the client keeps ONE connection. The
 * greeter and client are the linkerd strategy's, which dial the ClusterIP Service: without Linkerd's proxy, this path.
 */
export function l4Path(options: { maxConnectionAgeMs?: number } = {}): StrategyPath {
  const aged = options.maxConnectionAgeMs !== undefined;
  return nginxPath(
    aged ? 'L4+age' : 'L4',
    aged
      ? `ClusterIP Service, pods with ${ageEnvName()}=${options.maxConnectionAgeMs}`
      : 'ClusterIP Service (kube-proxy)',
    'tcp',
    'linkerd',
    'kube-proxy',
    ageEnv(options.maxConnectionAgeMs),
  );
}

/** ingress-nginx: nginx's grpc_pass balances each call over the pods' endpoints. */
export function l7Path(): StrategyPath {
  return nginxPath('L7', 'nginx-ingress strategy (grpc_pass)', 'grpc', 'nginx-ingress', 'ingress-nginx', {});
}

/**
 * The istio-ambient strategy's data path, stood in for: the client dials the Service as the strategy's client does
 * (`pick_first`, one connection); an L4 relay stands for the ztunnel that captures it (nginx `stream`, to one
 * address: ztunnel sends the connection of a Service bound to a waypoint to that waypoint), and an L7 proxy for the
 * waypoint, which balances each call over the pods (nginx `grpc_pass`; Istio's waypoint is Envoy). Not stood in
 * for: HBONE (HTTP CONNECT over mTLS, port 15008) between ztunnel, waypoint and the destination's ztunnel, whose
 * encryption and extra hop cost CPU and latency here too.
 */
export function ambientPath(): StrategyPath {
  return {
    name: 'ambient',
    stands: 'istio-ambient strategy (ztunnel: nginx stream; waypoint: nginx grpc_pass; no HBONE)',
    strategy: 'istio-ambient',
    // The waypoint gets the Service's endpoints from istiod, as a sidecar does.
    dataPlane: 'istiod',
    podEnv: () => ({}),
    missing: () => nginxMissing() && `${nginxMissing()}; install it with: ${NGINX_INSTALL_HINT}`,
    async start(pods) {
      const rotation = new Rotation(pods);
      const backends = () => rotation.current.map(({ host, port }) => ({ host, port }));
      const waypoint = await startNginx({ waypoint: { kind: 'grpc', backends: backends() } });
      const ztunnel = await startNginx({ ztunnel: { kind: 'tcp', backends: [waypoint.ports.waypoint] } }).catch(
        async (error: unknown) => {
          await waypoint.stop();
          throw error;
        },
      );
      // istiod pushes the Service's endpoints to the waypoint; ztunnel's own target (the waypoint) does not change.
      // As on L7, a removed pod has left the waypoint once its old workers have exited.
      const follow = async (untilOldWorkersExit: boolean) =>
        waypoint.reconfigure({ waypoint: backends() }, { untilOldWorkersExit });
      return {
        target: `127.0.0.1:${ztunnel.ports.ztunnel}`,
        lb: renderedClient('istio-ambient').lb,
        via: `nginx stream on 127.0.0.1:${ztunnel.ports.ztunnel}, then nginx grpc_pass on 127.0.0.1:${waypoint.ports.waypoint}`,
        added: async (pod) => (rotation.add(pod), follow(false)),
        removing: async (pod) => (rotation.remove(pod), follow(true)),
        stop: async () => {
          await ztunnel.stop();
          await waypoint.stop();
        },
      };
    },
  };
}

/** Throws unless the grpc-js of this process honours the DNS server in a target (harness/dns-authority.ts). */
function assertDnsAuthorityHonoured(): void {
  // A deep import: grpc-js exports no flag for it, and the package has no `exports` map that would forbid it.
  const environment = require('@grpc/grpc-js/build/src/environment') as { GRPC_NODE_USE_ALTERNATIVE_RESOLVER: boolean };
  if (!environment.GRPC_NODE_USE_ALTERNATIVE_RESOLVER) {
    throw new Error(
      'grpc-js would ignore the DNS server in dns:// targets: import harness/dns-authority before anything that loads grpc-js',
    );
  }
}

/**
 * The headless strategy: the client's round_robin over the A records of a headless Service, from a real DNS server
 * (dnsmasq) that answers with the ready pods, as cluster DNS does. The client dials the strategy's own name with
 * the DNS server as the target's authority (`dns://127.0.0.1:<port>/greeter-headless.testing.svc.cluster.local:<port>`),
 * so grpc-js re-resolves exactly as in a cluster: when a connection drops, at most every
 * `grpc.dns_min_time_between_resolutions_ms` (the rendered client's DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS; grpc-js's
 * own default is 30 s: @grpc/grpc-js@1.14.3 src/resolver-dns.ts lines 48 and 386-410), never on a timer. Without a
 * max connection age, new pods starve until a connection drops: grpc/grpc-node#1663, #2455. With `aged`, the pods
 * age connections out as the headless strategy renders it.
 */
export function dnsPath(options: { aged?: boolean } = {}): StrategyPath {
  const aged = options.aged ?? false;
  const age = () => renderedServer('headless').maxConnectionAgeMs;
  return {
    name: aged ? 'DNS+age' : 'DNS',
    stands: aged ? 'headless strategy (pods age connections out)' : 'headless Service, no max connection age',
    strategy: 'headless',
    dataPlane: 'cluster-dns',
    podEnv: (timeScale) => (aged ? ageEnv(age()! * timeScale) : {}),
    missing: () => dnsmasqMissing() && `${dnsmasqMissing()}; install it with: ${DNSMASQ_INSTALL_HINT}`,
    async start(pods) {
      assertDnsAuthorityHonoured();
      const client = renderedClient('headless');
      const name = /^dns:\/\/[^/]*\/(.+):\d+$/.exec(client.target)?.[1];
      if (!name) throw new Error(`the headless client's target ${client.target} is not dns:///<name>:<port>`);
      const rotation = new Rotation(pods);
      const records = () => ({ [name]: rotation.current.map((pod) => pod.host) });
      const dnsmasq = await startDnsmasq(records());
      return {
        target: `dns://${dnsmasq.server}/${name}:${pods[0].port}`,
        lb: client.lb,
        via: `dnsmasq on ${dnsmasq.server}`,
        added: async (pod) => (rotation.add(pod), dnsmasq.setRecords(records())),
        removing: async (pod) => (rotation.remove(pod), dnsmasq.setRecords(records())),
        stop: () => dnsmasq.stop(),
      };
    },
  };
}

/**
 * The k8s-resolver strategy: the client's `kubernetes:///` resolver (resolver/index.ts, the package grpc-js-kubernetes-resolver) lists and watches the
 * Service's EndpointSlices on the fake API server (harness/fake-kube-api.ts), which holds one slice with an
 * endpoint per pod: added ready, and turned terminating (not ready, still serving) as the pod is removed. The
 * client runs in this process, so the path points KUBECONFIG at the fake server while it runs.
 */
export function kubernetesPath(): StrategyPath {
  return {
    name: 'kubernetes',
    stands: 'k8s-resolver strategy (EndpointSlice watch)',
    strategy: 'k8s-resolver',
    dataPlane: 'endpointslice-watch',
    podEnv: () => ({}),
    missing: () => undefined,
    async start(pods) {
      const client = renderedClient('k8s-resolver');
      const { service, namespace, port } = parseKubernetesTarget(client.target);
      if (typeof port !== 'string') throw new Error(`the k8s-resolver client's target ${client.target} names no port`);
      const api = await FakeKubeApi.start();
      const dir = mkdtempSync(path.join(tmpdir(), 'grpc-lb-kubeconfig-'));
      const previousKubeconfig = process.env.KUBECONFIG;
      process.env.KUBECONFIG = writeKubeconfig(dir, api.port);
      // A terminating endpoint is never ready but still serving (it drains): io.k8s.api.discovery.v1.EndpointConditions
      // in upstream/schemas/k8s-v1.32.0-definitions.json.
      const endpoints = new Map<string, { pod: PodAddress; terminating: boolean }>(
        pods.map((pod) => [pod.name, { pod, terminating: false }]),
      );
      const publish = () =>
        api.apply({
          metadata: { name: `${service}-bench`, namespace, labels: { 'kubernetes.io/service-name': service } },
          addressType: 'IPv4',
          endpoints: [...endpoints.values()].map(({ pod, terminating }) => ({
            addresses: [pod.host],
            conditions: { ready: !terminating, serving: true, terminating },
            targetRef: { kind: 'Pod', name: pod.name, namespace },
          })),
          ports: [{ name: port, port: pods[0].port, protocol: 'TCP' }],
        } satisfies EndpointSlice);
      publish();
      return {
        target: client.target,
        lb: client.lb,
        via: `the fake API server on ${api.url}`,
        added: async (pod) => {
          endpoints.set(pod.name, { pod, terminating: false });
          publish();
        },
        removing: async (pod) => {
          endpoints.set(pod.name, { pod, terminating: true });
          publish();
        },
        stop: async () => {
          if (previousKubeconfig === undefined) delete process.env.KUBECONFIG;
          else process.env.KUBECONFIG = previousKubeconfig;
          await api.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

/**
 * The retry policy istiod puts on the route of a Service no VirtualService configures, proxyless clients included
 * (istio 1.30.3 pilot/pkg/networking/core/route/route.go BuildDefaultHTTPOutboundRoute, with the mesh's default
 * policy from route/retry/retry.go; grpcgen/rds.go builds proxyless routes with the sidecars' code). gRPC applies the
 * retry_on entries that name gRPC statuses, here unavailable and cancelled (gRFC A44; @grpc/grpc-js-xds 1.14.1
 * src/resolver-xds.ts).
 */
const ISTIO_DEFAULT_RETRY_POLICY = {
  numRetries: 2,
  retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
};

/**
 * The control plane of this process's xDS paths. grpc-js-xds reads its bootstrap once per process and keeps it
 * (@grpc/grpc-js-xds 1.14.1 src/xds-bootstrap.ts loadBootstrapInfo), so the first xDS path to start here starts it
 * and points this process at it, and it serves every later one; one at a time, as they serve the same listener.
 */
let xds: { plane: XdsControlPlane; inUse: boolean } | undefined;

/** Stops this process's xDS control plane, once no xDS path runs: a later one could not point grpc-js-xds elsewhere. */
export async function stopXdsControlPlane(): Promise<void> {
  if (xds?.inUse) throw new Error('an xDS path still runs on the control plane');
  await xds?.plane.stop();
}

/**
 * The istio-proxyless strategy: the client dials the rendered `xds:///<host>:<port>` target and takes the Listener,
 * route (with the retry policy istiod gives it), Cluster (ROUND_ROBIN, as the strategy's DestinationRule says) and
 * endpoints from the harness's ADS server (harness/xds-control-plane.ts), as from istiod through the grpc-agent; each
 * pod change is one EDS push. The cluster is named as istiod names a Service's port, `outbound|<port>||<host>`
 * (istio 1.30.3 pilot/pkg/model/service.go BuildSubsetKey).
 */
export function xdsPath(): StrategyPath {
  return {
    name: 'xDS',
    stands: 'istio-proxyless (EDS)',
    strategy: 'istio-proxyless',
    dataPlane: 'istiod',
    podEnv: () => ({}),
    missing: () => undefined,
    async start(pods) {
      if (xds?.inUse)
        throw new Error(`an xDS path already runs on this process's control plane (${xds.plane.address})`);
      const client = renderedClient('istio-proxyless');
      const [, listener, serviceHost, servicePort] =
        new RegExp(`^${XDS_SCHEME}:///((.+):(\\d+))$`).exec(client.target) ?? [];
      if (!listener)
        throw new Error(`the istio-proxyless client's target ${client.target} is not ${XDS_SCHEME}:///<host>:<port>`);
      const cluster = `outbound|${servicePort}||${serviceHost}`;
      const rotation = new Rotation(pods);
      const endpoints = () => rotation.current.map(({ host, port }) => ({ host, port }));
      if (!xds) {
        const plane = await XdsControlPlane.start();
        try {
          // Before the load's first channel: grpc-js-xds reads the bootstrap as it makes its first xDS client.
          plane.useInThisProcess();
        } catch (error) {
          await plane.stop();
          throw error;
        }
        xds = { plane, inUse: false };
      }
      const { plane } = xds;
      plane.setService({ listener, clusters: { [cluster]: endpoints() }, retryPolicy: ISTIO_DEFAULT_RETRY_POLICY });
      xds.inUse = true;
      // The push is on the ADS stream when setEndpoints returns; the client applies it and ACKs after that.
      const push = () => void plane.setEndpoints(cluster, endpoints());
      return {
        target: plane.target(listener),
        lb: client.lb,
        via: `the harness xDS control plane (ADS) on ${plane.address}`,
        added: async (pod) => (rotation.add(pod), push()),
        removing: async (pod) => (rotation.remove(pod), push()),
        stop: async () => void (xds!.inUse = false),
      };
    },
  };
}

/** Every path, in table order; `maxConnectionAgeMs` is the age of the pods on the L4+age path. */
export function strategyPaths({ maxConnectionAgeMs }: { maxConnectionAgeMs: number }): StrategyPath[] {
  return [
    l4Path(),
    l4Path({ maxConnectionAgeMs }),
    l7Path(),
    ambientPath(),
    dnsPath(),
    dnsPath({ aged: true }),
    kubernetesPath(),
    xdsPath(),
  ];
}
