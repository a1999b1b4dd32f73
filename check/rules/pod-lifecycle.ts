/**
 * Pods that drop gRPC calls when they start or stop: a termination grace period no longer than the drain the pod
 * asks for, and a gRPC container without a readiness probe.
 */
import { parse as parseYaml } from 'yaml';
import { describe, type Finding, type Rule } from '../findings';
import { backends, carriedProtocol, namesGrpc, type ContainerNode, type Workload } from '../graph';

const ISTIO_PROXY_CONFIG = 'proxy.istio.io/config';
const LINKERD_WAIT_BEFORE_EXIT = 'config.alpha.linkerd.io/proxy-wait-before-exit-seconds';
/** Names of env vars and flags that set how long a server drains (SHUTDOWN_GRACE_MS, --drain-timeout, …). */
const DRAIN_NAME = /shutdown|drain|grace|termination/i;
const GO_DURATION = /^(?:(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g;
const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };

/** Seconds of a Go/Istio duration ("20s", "1m30s", "500ms"), or undefined. */
export function durationSeconds(value: string): number | undefined {
  if (!GO_DURATION.test(value.trim())) return undefined;
  return [...value.trim().matchAll(DURATION_PART)].reduce(
    (sum, [, amount, unit]) => sum + Number(amount) * UNIT_SECONDS[unit],
    0,
  );
}

/** Seconds a drain setting stands for: a duration, or a number whose name says its unit (`_MS`, `_SECONDS`). */
function drainSeconds(name: string, value: string): number | undefined {
  if (!DRAIN_NAME.test(name) || /max[-_.]?conn/i.test(name)) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) {
    if (/(ms|millis|milliseconds)$/i.test(name)) return Number(value) / 1000;
    if (/([-_]s|sec|secs|seconds)$/i.test(name)) return Number(value);
    return undefined;
  }
  return durationSeconds(value);
}

/** How long a container needs after Kubernetes starts stopping it: its preStop sleep, then its own drain. */
function containerDrain(container: ContainerNode): { seconds: number; what: string } | undefined {
  const settings = [
    ...container.env.map((e) => ({ seconds: drainSeconds(e.name, e.value), what: `${e.name}=${e.value}` })),
    ...container.argv.map((arg) => {
      const flag = /^--?([A-Za-z0-9_.-]+)=(.+)$/.exec(arg);
      return { seconds: flag ? drainSeconds(flag[1], flag[2]) : undefined, what: arg };
    }),
  ].filter((s): s is { seconds: number; what: string } => s.seconds !== undefined);
  const drain = settings.reduce<{ seconds: number; what: string } | undefined>(
    (longest, s) => (longest === undefined || s.seconds > longest.seconds ? s : longest),
    undefined,
  );
  const preStop = container.preStopSleepSeconds;
  if (drain === undefined && preStop === undefined) return undefined;
  const parts = [preStop === undefined ? undefined : `preStop sleep ${preStop} s`, drain?.what].filter(Boolean);
  return {
    seconds: (preStop ?? 0) + (drain?.seconds ?? 0),
    what: `${parts.join(' then ')} in container ${container.name}`,
  };
}

/** How long the mesh sidecar is told to keep proxying after SIGTERM, from the pod's annotations. */
function sidecarDrain(workload: Workload): { seconds: number; what: string } | undefined {
  const istio = workload.pod.annotations[ISTIO_PROXY_CONFIG];
  if (istio !== undefined) {
    let duration: unknown;
    try {
      duration = (parseYaml(istio) as { terminationDrainDuration?: unknown } | null)?.terminationDrainDuration;
    } catch {
      duration = undefined; // a malformed annotation is Istio's to reject; nothing to measure here
    }
    const seconds = typeof duration === 'string' ? durationSeconds(duration) : undefined;
    if (seconds !== undefined) return { seconds, what: `the Istio sidecar's terminationDrainDuration ${duration}` };
  }
  const linkerd = Number(workload.pod.annotations[LINKERD_WAIT_BEFORE_EXIT]);
  if (Number.isFinite(linkerd) && linkerd > 0)
    return { seconds: linkerd, what: `${LINKERD_WAIT_BEFORE_EXIT}: ${linkerd}` };
  return undefined;
}

export const gracePeriodRule: Rule = {
  id: 'termination-grace-shorter-than-drain',
  title: 'terminationGracePeriodSeconds not longer than the drain the pod asks for',
  why: 'Kubernetes kills a pod (SIGKILL) when its termination grace period ends: if the server (or its preStop hook, or its sidecar) is still draining then, the gRPC calls in flight fail with UNAVAILABLE instead of finishing.',
  source:
    'https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination; Istio ProxyConfig terminationDrainDuration; Linkerd config.alpha.linkerd.io/proxy-wait-before-exit-seconds',
  severity: 'warning',
  check({ graph }) {
    return graph.workloads.flatMap((workload): Finding[] => {
      const needs = [...workload.pod.containers.map(containerDrain), sidecarDrain(workload)].filter(
        (n): n is { seconds: number; what: string } => n !== undefined,
      );
      const longest = needs.reduce<{ seconds: number; what: string } | undefined>(
        (a, n) => (a === undefined || n.seconds > a.seconds ? n : a),
        undefined,
      );
      const grace = workload.pod.terminationGracePeriodSeconds;
      if (longest === undefined || grace > longest.seconds) return [];
      return [
        {
          rule: gracePeriodRule.id,
          severity: gracePeriodRule.severity,
          object: workload.ref,
          path: `${workload.pod.specPath}.terminationGracePeriodSeconds`,
          message: `terminationGracePeriodSeconds ${grace}${workload.pod.terminationGracePeriodSet ? '' : ' (the default)'} is not longer than the ${longest.seconds} s the pod drains (${longest.what}): it is killed while calls are in flight`,
          fix: `set terminationGracePeriodSeconds above ${longest.seconds} (the drain plus a few seconds for the process and its sidecar to exit)`,
          related: [],
        },
      ];
    });
  },
};

/**
 * The port a container serves gRPC on, when anything says it does: a gRPC probe, a port named grpc…, a gRPC Service
 * port that reaches it (declared or not), or its flags and env (`--grpc-port=9090`); and what it serves there (HTTP/2
 * when all that says so is the Service port's HTTP/2 appProtocol).
 */
function grpcPortOf(
  workload: Workload,
  container: ContainerNode,
  grpcTargets: ReadonlyMap<string, { port: number | string; protocol: string }>,
): { port: number | string; protocol: string } | undefined {
  const probe = container.grpcProbePorts[0];
  if (probe !== undefined) return { port: probe, protocol: 'gRPC' };
  const named = container.ports.find((p) => namesGrpc(p.name));
  if (named !== undefined) return { port: named.containerPort, protocol: 'gRPC' };
  const targeted = grpcTargets.get(`${workload.ref.index}/${container.name}`);
  if (targeted !== undefined) return targeted;
  const listen = container.grpcListenPorts[0];
  return listen === undefined ? undefined : { port: listen.port, protocol: 'gRPC' };
}

export const readinessRule: Rule = {
  id: 'grpc-no-readiness-probe',
  title: 'gRPC container without a readiness probe',
  why: 'Without a readiness probe a pod is an endpoint as soon as its containers start: balancers and clients send gRPC calls to a server that is not listening yet (UNAVAILABLE), and keep sending to one that stopped serving.',
  source:
    'https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/ (gRPC probes since Kubernetes 1.24)',
  severity: 'warning',
  check({ graph }) {
    // Containers a gRPC Service port reaches, keyed by object and container, with the port.
    const grpcTargets = new Map<string, { port: number | string; protocol: string }>();
    for (const service of graph.services) {
      for (const port of service.ports.filter((p) => p.grpcBecause.length > 0)) {
        for (const { workload, container, containerPort } of backends(service, port))
          grpcTargets.set(`${workload.ref.index}/${container.name}`, {
            port: containerPort,
            protocol: carriedProtocol(port),
          });
      }
    }
    return graph.workloads.flatMap((workload) =>
      workload.pod.containers
        // Mesh proxies bring their own probes; Istio's `gateway` injection template replaces an `image: auto`
        // container with its proxy, readiness probe included.
        .filter(
          (c) =>
            c.name !== 'istio-proxy' &&
            c.name !== 'linkerd-proxy' &&
            !(c.image === 'auto' && workload.l7Proxy !== undefined) &&
            !c.hasReadinessProbe,
        )
        .flatMap((container): Finding[] => {
          const served = grpcPortOf(workload, container, grpcTargets);
          if (served === undefined) return [];
          const { port, protocol } = served;
          return [
            {
              rule: readinessRule.id,
              severity: readinessRule.severity,
              object: workload.ref,
              path: container.path,
              message: `container ${container.name} of ${describe(workload.ref)} serves ${protocol} (port ${port}) and has no readiness probe`,
              fix: `add readinessProbe: { grpc: { port: ${port} } } (the server must implement grpc.health.v1.Health; any gRPC server can register it, e.g. grpc-go health.NewServer, grpc-java HealthStatusManager, grpc-js @grpc/grpc-health-check), or an httpGet or exec probe that reports when it serves`,
              related: [],
            },
          ];
        }),
    );
  },
};
