/**
 * The paths a client's calls can take to the greeter pods, one per load-balancing strategy whose data plane runs on
 * this machine, for the strategies benchmark (bench/strategies.ts) and its test. Each path starts what its strategy
 * puts between the client and the pods (a proxy, a DNS server, an API server) for pods on their own loopback
 * addresses (harness/pods.ts LoopbackPods), gives the target the client dials, and follows the pods as the
 * strategy's control plane does in a cluster when one is added or removed.
 *
 * Where a strategy renders a client (`npm run synth`, dist/docker-desktop/<strategy>/), its target and LB policy
 * are read from there, so each path dials what that strategy's client dials.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { clientSettings, type ClientConfig } from '../app/client';
import { INVALID, defaultSettings } from '../app/config';
import { parseKubernetesTarget } from 'grpc-js-kubernetes-resolver';
import { serverSettings } from '../app/server';
import { XDS_BOOTSTRAP_CONFIG_ENV, XDS_SCHEME } from '../app/xds';
import { ENVIRONMENTS, type StrategyName } from '../deploy';
import { DNSMASQ_INSTALL_HINT, dnsmasqMissing, startDnsmasq } from './dnsmasq';
import { FakeKubeApi, writeKubeconfig, type EndpointSlice } from './fake-kube-api';
import { readManifestDir } from './manifests';
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
 * One way from the client to the pods. To add one: implement `start` (bring up its control or data plane for
 * these pods, return the target and the hooks) and add it to `strategyPaths`.
 */
export interface StrategyPath {
  /** Its row in the table and its name for `--paths`, e.g. `L7`. */
  readonly name: string;
  /** What it stands for in a cluster. */
  readonly stands: string;
  /** Environment of every pod on this path, on top of the server's defaults (e.g. MAX_CONNECTION_AGE_MS). */
  readonly podEnv: Record<string, string>;
  /** Why it cannot run on this machine, with how to install what is missing; undefined when it can. */
  missing(): string | undefined;
  start(pods: readonly PodAddress[]): Promise<RunningPath>;
}

/** The environment whose rendered clients the paths dial like: the one that runs on a laptop. */
const RENDERED_ENVIRONMENT = ENVIRONMENTS['docker-desktop'].name;

/** What `strategy`'s client dials and with which LB policy, from its Deployment in dist/docker-desktop/<strategy>/. */
export function renderedClient(strategy: StrategyName): { target: string; lb: ClientConfig['lb'] } {
  const dir = path.join(ROOT, 'dist', RENDERED_ENVIRONMENT, strategy);
  const env = readManifestDir(dir)
    .flatMap((file) => file.objects)
    .filter((object) => object.kind === 'Deployment')
    .flatMap((deployment) =>
      (deployment.spec.template.spec.containers as Array<{ env?: Array<{ name: string; value?: string }> }>).map(
        (container) => container.env ?? [],
      ),
    )
    .find((vars) => vars.some((v) => v.name === clientSettings.target.env));
  const value = (name: string | undefined) => env?.find((v) => v.name === name)?.value;
  const target = value(clientSettings.target.env);
  if (target === undefined)
    throw new Error(`no client Deployment with ${clientSettings.target.env} in ${dir}: run npm run synth`);
  const lbValue = value(clientSettings.lb.env);
  const lb = lbValue === undefined ? defaultSettings(clientSettings).lb : clientSettings.lb.parser.parse(lbValue);
  if (lb === INVALID)
    throw new Error(
      `${dir}: the client's ${clientSettings.lb.env} is ${JSON.stringify(lbValue)}, expected ${clientSettings.lb.parser.expected}`,
    );
  return { target, lb };
}

const ageEnvName = () => serverSettings.maxConnectionAgeMs.env!;

/** The server's max connection age as a pod's environment, or none. */
function ageEnv(maxConnectionAgeMs: number | undefined): Record<string, string> {
  return maxConnectionAgeMs === undefined ? {} : { [ageEnvName()]: String(maxConnectionAgeMs) };
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
  lb: () => ClientConfig['lb'],
  podEnv: Record<string, string>,
): StrategyPath {
  return {
    name,
    stands,
    podEnv,
    missing: () => nginxMissing() && `${nginxMissing()}; install it with: ${NGINX_INSTALL_HINT}`,
    async start(pods) {
      const rotation = new Rotation(pods);
      const backends = () => rotation.current.map(({ host, port }) => ({ host, port }));
      const nginx = await startNginx({ proxy: { kind, backends: backends() } });
      // An endpoint change reloads nginx: new connections and calls use the new pods, open connections stay on the old
      // worker until they close. (ingress-nginx instead hands endpoint changes to its Lua balancer without a reload:
      // its docs/how-it-works.md, "Avoiding reloads on Endpoints changes".)
      const follow = async () => nginx.reconfigure({ proxy: backends() });
      return {
        target: `127.0.0.1:${nginx.ports.proxy}`,
        lb: lb(),
        via: `nginx ${kind === 'tcp' ? 'stream' : 'grpc_pass'} on 127.0.0.1:${nginx.ports.proxy}`,
        added: async (pod) => (rotation.add(pod), follow()),
        removing: async (pod) => (rotation.remove(pod), follow()),
        stop: () => nginx.stop(),
      };
    },
  };
}

/** A Service's ClusterIP: kube-proxy sends each new connection to one pod, and the client keeps ONE connection. */
export function l4Path(options: { maxConnectionAgeMs?: number } = {}): StrategyPath {
  const aged = options.maxConnectionAgeMs !== undefined;
  return nginxPath(
    aged ? 'L4+age' : 'L4',
    aged
      ? `ClusterIP Service, pods with ${ageEnvName()}=${options.maxConnectionAgeMs}`
      : 'ClusterIP Service (kube-proxy)',
    'tcp',
    () => defaultSettings(clientSettings).lb,
    ageEnv(options.maxConnectionAgeMs),
  );
}

/** ingress-nginx: nginx's grpc_pass balances each call over the pods' endpoints. */
export function l7Path(): StrategyPath {
  return nginxPath('L7', 'nginx-ingress strategy (grpc_pass)', 'grpc', () => renderedClient('nginx-ingress').lb, {});
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
    podEnv: {},
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
      const follow = async () => waypoint.reconfigure({ waypoint: backends() });
      return {
        target: `127.0.0.1:${ztunnel.ports.ztunnel}`,
        lb: renderedClient('istio-ambient').lb,
        via: `nginx stream on 127.0.0.1:${ztunnel.ports.ztunnel}, then nginx grpc_pass on 127.0.0.1:${waypoint.ports.waypoint}`,
        added: async (pod) => (rotation.add(pod), follow()),
        removing: async (pod) => (rotation.remove(pod), follow()),
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
 * so grpc-js re-resolves exactly as in a cluster: when a connection drops, at most once per 30 s
 * (`grpc.dns_min_time_between_resolutions_ms`, @grpc/grpc-js@1.14.3 src/resolver-dns.ts lines 48 and 386-410),
 * never on a timer. New pods starve until then: grpc/grpc-node#1663, #2455.
 */
export function dnsPath(options: { maxConnectionAgeMs?: number } = {}): StrategyPath {
  const aged = options.maxConnectionAgeMs !== undefined;
  return {
    name: aged ? 'DNS+age' : 'DNS',
    stands: aged
      ? `headless strategy, pods with ${ageEnvName()}=${options.maxConnectionAgeMs}`
      : 'headless Service, no max connection age',
    podEnv: ageEnv(options.maxConnectionAgeMs),
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
    podEnv: {},
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

/** The control plane this process's grpc-js-xds was pointed at, once an xDS path has started here. */
let xdsBootstrapGiven: string | undefined;

/**
 * The istio-proxyless strategy: the client dials the rendered `xds:///<host>:<port>` target and takes the Listener,
 * route, Cluster (ROUND_ROBIN, as the strategy's DestinationRule says) and endpoints from the harness's ADS server
 * (harness/xds-control-plane.ts), as from istiod through the grpc-agent; each pod change is one EDS push. The cluster
 * is named as istiod names a Service's port, `outbound|<port>||<host>` (istio 1.30.3 pilot/pkg/model/service.go
 * BuildSubsetKey). The client runs in this process, whose grpc-js-xds reads its bootstrap once and keeps it
 * (@grpc/grpc-js-xds 1.14.1 src/xds-bootstrap.ts loadBootstrapInfo), so the path starts once per process.
 */
export function xdsPath(): StrategyPath {
  return {
    name: 'xDS',
    stands: 'istio-proxyless (EDS)',
    podEnv: {},
    missing: () => undefined,
    async start(pods) {
      if (xdsBootstrapGiven !== undefined) {
        throw new Error(
          `the xDS path starts once per process: grpc-js-xds here keeps its first bootstrap (control plane ${xdsBootstrapGiven}), now stopped`,
        );
      }
      const client = renderedClient('istio-proxyless');
      const [, listener, serviceHost, servicePort] =
        new RegExp(`^${XDS_SCHEME}:///((.+):(\\d+))$`).exec(client.target) ?? [];
      if (!listener)
        throw new Error(`the istio-proxyless client's target ${client.target} is not ${XDS_SCHEME}:///<host>:<port>`);
      const cluster = `outbound|${servicePort}||${serviceHost}`;
      const rotation = new Rotation(pods);
      const endpoints = () => rotation.current.map(({ host, port }) => ({ host, port }));
      const plane = await XdsControlPlane.start();
      const previousBootstrap = process.env[XDS_BOOTSTRAP_CONFIG_ENV];
      const stop = async () => {
        if (previousBootstrap === undefined) delete process.env[XDS_BOOTSTRAP_CONFIG_ENV];
        else process.env[XDS_BOOTSTRAP_CONFIG_ENV] = previousBootstrap;
        await plane.stop();
      };
      try {
        // Before the load's first channel: grpc-js-xds reads the bootstrap as it makes its first xDS client.
        plane.useInThisProcess();
        xdsBootstrapGiven = plane.address;
        plane.setService({ listener, clusters: { [cluster]: endpoints() } });
      } catch (error) {
        await stop();
        throw error;
      }
      // The push is on the ADS stream when setEndpoints returns; the client applies it and ACKs after that.
      const push = () => void plane.setEndpoints(cluster, endpoints());
      return {
        target: plane.target(listener),
        lb: client.lb,
        via: `the harness xDS control plane (ADS) on ${plane.address}`,
        added: async (pod) => (rotation.add(pod), push()),
        removing: async (pod) => (rotation.remove(pod), push()),
        stop,
      };
    },
  };
}

/** Every path, in table order; `maxConnectionAgeMs` is the age of the paths that age connections out. */
export function strategyPaths({ maxConnectionAgeMs }: { maxConnectionAgeMs: number }): StrategyPath[] {
  return [
    l4Path(),
    l4Path({ maxConnectionAgeMs }),
    l7Path(),
    ambientPath(),
    dnsPath(),
    dnsPath({ maxConnectionAgeMs }),
    kubernetesPath(),
    xdsPath(),
  ];
}
