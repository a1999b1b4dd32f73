/**
 * A gRPC Service behind one of GKE's gateway classes without a gRPC health check. The load balancer sends calls only
 * to endpoints its health check finds healthy. Without a HealthCheckPolicy, GKE's default check is an HTTP request to
 * the serving port (and a policy's type defaults to HTTP too), which a gRPC server answers with 415, not the 200 it
 * needs: every endpoint is unhealthy and every call fails.
 */
import { absentSeverity, describe, uniqueRefs, type Finding, type Rule } from '../findings';
import { servicePort, type Graph, type ObjectRef, type ServiceNode } from '../graph';

const POLICY_GROUP = 'networking.gke.io/';
/** Health check types that send an HTTP request (GoogleCloudPlatform/gke-gateway-api v1.4.0 healthcheck_types.go). */
const HTTP_TYPES = new Set(['HTTP', 'HTTPS', 'HTTP2']);

type Json = Record<string, unknown>;
const record = (value: unknown): Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};

/** The HealthCheckPolicies of the input that target `service` (same namespace, kind Service, core group). */
function healthCheckPolicies(service: ServiceNode, graph: Graph): Array<{ ref: ObjectRef; spec: Json }> {
  return graph.raw.flatMap((object, index) => {
    const ref = graph.objects[index];
    if (object.kind !== 'HealthCheckPolicy' || !object.apiVersion.startsWith(POLICY_GROUP)) return [];
    const spec = record(object.spec);
    const target = record(spec.targetRef);
    const group = target.group ?? '';
    const targets =
      ref.namespace === service.namespace &&
      target.kind === 'Service' &&
      target.name === service.name &&
      (group === '' || group === 'core');
    return targets ? [{ ref, spec }] : [];
  });
}

/** The type a policy checks with, and whether it checks the serving port (no port of its own). */
function checkOf(spec: Json): { type: string; servingPort: boolean } {
  const config = record(record(spec.default).config);
  const type = typeof config.type === 'string' ? config.type : 'HTTP';
  const typed = record(Object.values(config).find((v) => typeof v === 'object' && v !== null));
  const servingPort =
    typed.port === undefined && typed.portName === undefined && typed.portSpecification !== 'USE_FIXED_PORT';
  return { type, servingPort };
}

export const rule: Rule = {
  id: 'gke-gateway-grpc-health-check',
  title: 'gRPC Service behind a GKE gateway class without a gRPC health check (HealthCheckPolicy)',
  why: "GKE's load balancer sends calls only to endpoints its health check finds healthy. Its default check (and a HealthCheckPolicy's default type) is HTTP, which a gRPC server answers with 415 (grpc-js 1.14 src/server.ts _verifyContentType): every endpoint is unhealthy, so every call fails.",
  source:
    'https://cloud.google.com/kubernetes-engine/docs/how-to/configure-gateway-resources#configure_health_check; GoogleCloudPlatform/gke-gateway-api v1.4.0 apis/networking/v1/healthcheck_types.go (type defaults to HTTP; GRPC)',
  severity: 'error',
  check(context) {
    const { graph } = context;
    const findings: Finding[] = [];
    const seen = new Set<ServiceNode>();
    for (const route of graph.routes) {
      const { service } = route;
      if (route.plane !== 'gke-gateway' || service === undefined || seen.has(service)) continue;
      const port = servicePort(service, route.port);
      if (port === undefined || port.grpcBecause.length === 0) continue;
      seen.add(service);
      const routes = graph.routes.filter((r) => r.plane === 'gke-gateway' && r.service === service).map((r) => r.route);
      const via = uniqueRefs(routes).map(describe).join(', ');
      const policies = healthCheckPolicies(service, graph);
      if (policies.length === 0) {
        findings.push({
          rule: rule.id,
          severity: absentSeverity(context),
          object: service.ref,
          path: port.path,
          message: `GKE's gateway (through ${via}) sends the gRPC calls of port ${port.name ?? port.port} only to endpoints its health check finds healthy, and no HealthCheckPolicy in the input targets this Service: GKE's default HTTP check gets 415 from a gRPC server, so every endpoint is unhealthy`,
          fix: `add a HealthCheckPolicy (networking.gke.io/v1) in ${service.namespace} with targetRef {group: "", kind: Service, name: ${service.name}} and default.config {type: GRPC, grpcHealthCheck: {...}}, on a port the pods serve without TLS`,
          related: uniqueRefs(routes),
        });
        continue;
      }
      for (const policy of policies) {
        const { type, servingPort } = checkOf(policy.spec);
        if (!HTTP_TYPES.has(type) || !servingPort) continue;
        findings.push({
          rule: rule.id,
          severity: 'warning',
          object: policy.ref,
          path: 'spec.default.config',
          message: `checks the gRPC port ${port.name ?? port.port} of ${describe(service.ref)} with an ${type} request, which a gRPC server answers with 415 unless it also serves HTTP there`,
          fix: 'set default.config.type: GRPC with a grpcHealthCheck (or point the HTTP check at a port and path that answer 200)',
          related: [service.ref],
        });
      }
    }
    return findings;
  },
};
