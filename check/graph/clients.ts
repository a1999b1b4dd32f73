/** Clients: the gRPC targets containers name in their env and args, the Service each means, and the policy named. */
import { declaresGrpc } from 'grpc-k8s-lb-common';
import { ISTIO_PROXY_CONTAINER, LINKERD_PROXY_CONTAINER } from './mesh';
import type { SourceLocation } from '../input';
import { servicePort, type ServiceNode, type ServicePortNode } from './services';
import { GRPC_NAME, type ContainerNode, type Workload } from './workloads';

/** How a client finds the addresses it connects to. */
export type TargetScheme = 'dns' | 'kubernetes' | 'xds' | 'passthrough' | 'url' | 'host-port';

export interface ClientCall {
  readonly workload: Workload;
  readonly container: ContainerNode;
  /** Where the target is written: `env TARGET`, `args[2]`, `--backend`. */
  readonly where: string;
  readonly target: string;
  readonly scheme: TargetScheme;
  readonly service: ServiceNode;
  readonly port?: ServicePortNode;
  /** The load-balancing policy the container names (`round_robin`, …), if it names one. */
  readonly lbPolicy?: string;
}

/** Policies that choose a backend per call; `pick_first` (gRPC's default) sends every call down one connection. */
export const PER_CALL_POLICIES = [
  'round_robin',
  'weighted_round_robin',
  'least_request',
  'least_request_experimental',
  'ring_hash',
];
const POLICY_PATTERN = /\b(round_robin|weighted_round_robin|least_request(?:_experimental)?|ring_hash|pick_first)\b/g;

/** The policy a container names anywhere in its env or args (a per-call one wins over `pick_first`). */
function namedPolicy(container: ContainerNode): string | undefined {
  const named = [...container.env.map((e) => e.value), ...container.argv].flatMap((value) =>
    [...value.matchAll(POLICY_PATTERN)].map((m) => m[1]),
  );
  return named.find((policy) => policy !== 'pick_first') ?? named[0];
}

interface ParsedTarget {
  readonly scheme: TargetScheme;
  readonly host: string;
  readonly port?: number | string;
}

const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const URL_DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443 };
// grpc-js resolver-dns.ts DEFAULT_PORT (1.14.3): a dns: target without a port dials 443.
const GRPC_DNS_DEFAULT_PORT = 443;

function splitHostPort(hostPort: string): { host: string; port?: number | string } | undefined {
  const match = /^([^:/\s]+)(?::([A-Za-z0-9-]+))?$/.exec(hostPort);
  if (match === null) return undefined;
  const port = match[2] === undefined ? undefined : /^\d+$/.test(match[2]) ? Number(match[2]) : match[2];
  return { host: match[1].toLowerCase(), port };
}

/** A gRPC target (`dns:///h:p`, `kubernetes:///svc.ns:port`, `xds:///…`), a URL, or `host:port`; else undefined. */
export function parseTarget(value: string): ParsedTarget | undefined {
  const uri = /^(dns|kubernetes|k8s|xds|passthrough):(?:\/\/[^/]*\/)?\/?(.+)$/i.exec(value.trim());
  if (uri !== null) {
    const scheme = uri[1].toLowerCase() === 'k8s' ? 'kubernetes' : (uri[1].toLowerCase() as TargetScheme);
    const hostPort = splitHostPort(uri[2]);
    if (hostPort === undefined) return undefined;
    return {
      scheme,
      host: hostPort.host,
      port: hostPort.port ?? (scheme === 'dns' ? GRPC_DNS_DEFAULT_PORT : undefined),
    };
  }
  const url = /^(grpcs?|h2c|https?):\/\/([^/?#]+)/i.exec(value.trim());
  if (url !== null) {
    const hostPort = splitHostPort(url[2]);
    if (hostPort === undefined) return undefined;
    return { scheme: 'url', host: hostPort.host, port: hostPort.port ?? URL_DEFAULT_PORTS[url[1].toLowerCase()] };
  }
  const bare = splitHostPort(value.trim());
  if (bare === undefined || typeof bare.port !== 'number') return undefined;
  return { scheme: 'host-port', ...bare };
}

/**
 * The Service a DNS name means from a pod in `namespace`: `name`, `name.ns`, `name.ns.svc`, `name.ns.svc.<domain>`
 * (the pod's DNS search path), or undefined for any other name.
 */
export function serviceName(host: string, namespace: string): { name: string; namespace: string } | undefined {
  if (!DNS_NAME.test(host)) return undefined;
  const labels = host.split('.');
  if (labels.length === 1) return { name: labels[0], namespace };
  if (labels.length === 2 || labels[2] === 'svc') return { name: labels[0], namespace: labels[1] };
  return undefined;
}

type FindService = (name: string, namespace: string, from: SourceLocation) => ServiceNode | undefined;

/** The gRPC calls the workloads' containers make to Services of the input. */
export function findClients(workloads: readonly Workload[], findService: FindService): ClientCall[] {
  const calls: ClientCall[] = [];
  for (const workload of workloads) {
    for (const container of workload.pod.containers) {
      if (container.name === ISTIO_PROXY_CONTAINER || container.name === LINKERD_PROXY_CONTAINER) continue;
      const lbPolicy = namedPolicy(container);
      const candidates: Array<{ where: string; value: string; namedGrpc: boolean }> = [
        ...container.env.map((e) => ({ where: `env ${e.name}`, value: e.value, namedGrpc: GRPC_NAME.test(e.name) })),
        ...container.argv.map((arg, i) => {
          const flag = /^(--?[A-Za-z0-9_.-]+)=(.*)$/.exec(arg);
          const previous = container.argv[i - 1];
          const flagName = flag?.[1] ?? (previous?.startsWith('-') ? previous : undefined);
          return {
            where: flagName ?? `argv[${i}]`,
            value: flag?.[2] ?? arg,
            namedGrpc: flagName !== undefined && GRPC_NAME.test(flagName),
          };
        }),
      ];
      for (const { where, value, namedGrpc } of candidates) {
        const target = parseTarget(value);
        if (target === undefined) continue;
        const name = serviceName(target.host, workload.namespace);
        if (name === undefined) continue;
        const service = findService(name.name, name.namespace, workload.ref.location);
        if (service === undefined) continue;
        const port = servicePort(service, target.port);
        // Only gRPC calls count: a gRPC scheme, a name saying gRPC, a load-balancing policy, or a gRPC port.
        const grpcScheme = ['dns', 'kubernetes', 'xds'].includes(target.scheme) || /^(grpcs?|h2c):/i.test(value.trim());
        const grpcPort = port !== undefined && (declaresGrpc(port) || port.grpcBecause.length > 0);
        if (!(grpcScheme || namedGrpc || lbPolicy !== undefined || grpcPort)) continue;
        if (target.port !== undefined && port === undefined && target.scheme !== 'kubernetes') continue;
        calls.push({ workload, container, where, target: value, scheme: target.scheme, service, port, lbPolicy });
      }
    }
  }
  return calls;
}
