/**
 * Client-side balancing over every pod's address (a headless Service through DNS, or a kubernetes:/// resolver):
 * it works only with a per-call policy, and (through DNS) only sees new pods when the client re-resolves, which
 * grpc-js does when a connection closes.
 */
import { describe, uniqueRefs, type Finding, type Rule } from '../findings';
import { backends, servicePort, type ContainerNode } from '../graph';
import { balancesPerCall, describeCall, policyOf, resolvesByDns } from './callers';

export const pickFirstRule: Rule = {
  id: 'grpc-client-pick-first',
  title: 'Client resolves every pod but balances with pick_first',
  why: "With the addresses of every pod, a client still sends all its calls to one of them unless its policy picks per call (round_robin): pick_first, gRPC's default, connects to the first address that answers and stays there.",
  source:
    'grpc/grpc-node @grpc/grpc-js@1.14.3 packages/grpc-js/src/load-balancer-pick-first.ts (registerDefaultLoadBalancerType: pick_first is the policy without a service config)',
  severity: 'warning',
  check({ graph }) {
    return graph.clients
      .filter(
        (call) =>
          ((resolvesByDns(call) && call.service.headless) || call.scheme === 'kubernetes') && !balancesPerCall(call),
      )
      .map((call): Finding => ({
        rule: pickFirstRule.id,
        severity: pickFirstRule.severity,
        object: call.workload.ref,
        path: call.container.path,
        message: `${describeCall(call)}, which resolves to every pod of ${describe(call.service.ref)}${call.service.headless ? ' (headless)' : ''}, with ${policyOf(call)}: all its calls go to one pod`,
        fix: 'select round_robin in the client\'s service config, {"loadBalancingConfig": [{"round_robin": {}}]}: grpc-go grpc.WithDefaultServiceConfig, grpc-java ManagedChannelBuilder.defaultLoadBalancingPolicy("round_robin"), grpc-js channel option grpc.service_config, C++, Python and C# channel argument grpc.service_config (or the client library\'s own setting)',
        related: [call.service.ref],
      }));
  },
};

/** Names a server's maximum connection age goes by in env and flags (MAX_CONNECTION_AGE_MS, --max-connection-age, …). */
const MAX_CONNECTION_AGE = /max[-_.]?conn(ection)?[-_.]?age/i;

function setsMaxConnectionAge(container: ContainerNode): boolean {
  return (
    container.env.some((e) => MAX_CONNECTION_AGE.test(e.name)) ||
    container.argv.some((arg) => MAX_CONNECTION_AGE.test(arg))
  );
}

export const maxConnectionAgeRule: Rule = {
  id: 'grpc-headless-no-max-connection-age',
  title: 'Headless gRPC Service dialed through DNS, its server sets no max connection age',
  why: 'A client resolving a headless Service through DNS learns of new pods only when it resolves again, and gRPC clients resolve again when a connection closes (grpc-js at most every 30 s), not on a timer: without a server max connection age that closes connections now and then, pods added by a rollout or an autoscaler get no calls from existing clients.',
  source:
    'grpc/grpc-node @grpc/grpc-js@1.14.3 packages/grpc-js/src/resolver-dns.ts (re-resolution on request, DEFAULT_MIN_TIME_BETWEEN_RESOLUTIONS_MS 30000); https://github.com/grpc/proposal/blob/master/A9-server-side-conn-mgt.md',
  severity: 'warning',
  check({ graph }) {
    const findings: Finding[] = [];
    for (const service of graph.services.filter((s) => s.headless)) {
      const calls = graph.clients.filter((call) => call.service === service && resolvesByDns(call));
      if (calls.length === 0) continue;
      const ports = [...new Set(calls.map((call) => call.port ?? servicePort(service, undefined)))].filter(
        (p) => p !== undefined,
      );
      const servers = ports.flatMap((port) => backends(service, port));
      if (servers.length === 0 || servers.some(({ container }) => setsMaxConnectionAge(container))) continue;
      findings.push({
        rule: maxConnectionAgeRule.id,
        severity: maxConnectionAgeRule.severity,
        object: service.ref,
        message: `${calls.map(describeCall).join('; ')} through DNS, and no container serving it (${servers.map(({ workload, container }) => `container ${container.name} of ${workload.ref.kind} ${workload.ref.name}`).join(', ')}) sets a max connection age in its env or args`,
        fix: "set the server's max connection age, e.g. 30 s: grpc-go keepalive.ServerParameters.MaxConnectionAge, grpc-java NettyServerBuilder.maxConnectionAge, grpc-js server option grpc.max_connection_age_ms, C++, Python and C# channel argument grpc.max_connection_age_ms (for example, this project's greeter reads it from MAX_CONNECTION_AGE_MS)",
        related: uniqueRefs([
          ...calls.map((call) => call.workload.ref),
          ...servers.map(({ workload }) => workload.ref),
        ]),
      });
    }
    return findings;
  },
};
