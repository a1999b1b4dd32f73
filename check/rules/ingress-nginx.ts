/** ingress-nginx carrying gRPC: the project is retired. */
import { describe, uniqueRefs, type Finding, type Rule } from '../findings';
import { servicePort, type ObjectRef } from '../graph';

export const rule: Rule = {
  id: 'ingress-nginx-retired',
  title: 'gRPC through ingress-nginx, which is retired',
  why: 'ingress-nginx is retired: best-effort maintenance ended in March 2026, and there are no further releases, bug fixes or security fixes. An edge proxy carrying gRPC without security fixes is a standing risk.',
  source:
    'https://kubernetes.io/blog/2025/11/11/ingress-nginx-retirement/ (kubernetes/ingress-nginx README, "Ingress NGINX Retirement")',
  severity: 'warning',
  check({ graph }) {
    const ingresses = new Map<number, { ingress: ObjectRef; services: ObjectRef[] }>();
    for (const route of graph.routes) {
      if (route.plane !== 'ingress-nginx') continue;
      const port = route.service === undefined ? undefined : servicePort(route.service, route.port);
      if (!route.carriesGrpc && (port === undefined || port.grpcBecause.length === 0)) continue;
      const entry = ingresses.get(route.route.index) ?? { ingress: route.route, services: [] };
      if (route.service !== undefined) entry.services.push(route.service.ref);
      ingresses.set(route.route.index, entry);
    }
    return [...ingresses.values()].map(({ ingress, services }): Finding => ({
      rule: rule.id,
      severity: rule.severity,
      object: ingress,
      path: 'spec',
      message: `${describe(ingress)} carries gRPC${services.length > 0 ? ` to ${uniqueRefs(services).map(describe).join(', ')}` : ''} through ingress-nginx, retired since March 2026 (no security fixes)`,
      fix: 'move to a Gateway API implementation (Istio, Envoy Gateway, a cloud gateway) with a GRPCRoute per gRPC service; ingress2gateway converts Ingresses to Gateway API',
      related: uniqueRefs(services),
    }));
  },
};
