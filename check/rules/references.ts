/**
 * Names that must resolve to something the input provides: the Service, port or host a route names, the pods an
 * Istio Gateway selects, and the namespace a gateway's TLS Secret must be in. With `--partial` (the input is not
 * the whole cluster) "not in the input" is a warning.
 */
import { absentSeverity, describe, describeSelector, type Finding, type Rule } from '../findings';
import { selects, servicePort, WELL_KNOWN_GATEWAYS } from '../graph';

const ROUTE_KINDS = 'VirtualService, DestinationRule, GRPCRoute, HTTPRoute, Ingress, VirtualServer';

export const unknownServiceRule: Rule = {
  id: 'route-unknown-service',
  title: `${ROUTE_KINDS} naming a Service or host nothing in the input provides`,
  why: 'A route to a Service that does not exist sends nothing anywhere: the gateway or mesh answers gRPC calls with UNAVAILABLE (no healthy upstream) while the pods that should serve them sit idle.',
  source:
    'istio/istio 1.30.3 pilot/pkg/model/config.go ResolveShortnameToFQDN (short hosts are <name>.<rule namespace>.svc.<domain>, hosts with a dot are taken as written); Gateway API v1.6.1 BackendRef',
  severity: 'error',
  check(context) {
    const { graph } = context;
    return graph.routes.flatMap((route): Finding[] => {
      if (route.service !== undefined || route.path.includes('portLevelSettings')) return [];
      if (route.hostNote !== undefined) {
        return [
          {
            rule: unknownServiceRule.id,
            severity: 'error',
            object: route.route,
            path: route.path,
            message: `names host "${route.written}": ${route.hostNote}`,
            fix: `write the Service's full name, ${route.wanted?.name}.${route.wanted?.namespace}.svc.cluster.local, or its short name in the Service's own namespace`,
            related: [],
          },
        ];
      }
      if (route.wanted === undefined) {
        if (route.written.includes('*') || graph.serviceEntryHosts.has(route.written)) return [];
        return [
          {
            rule: unknownServiceRule.id,
            severity: absentSeverity(context),
            object: route.route,
            path: route.path,
            message: `names host "${route.written}", which no Service or ServiceEntry in the input provides`,
            fix: 'point it at a Service of the input (name.namespace.svc.cluster.local), or add the ServiceEntry that declares the host',
            related: [],
          },
        ];
      }
      const { name, namespace } = route.wanted;
      return [
        {
          rule: unknownServiceRule.id,
          severity: absentSeverity(context),
          object: route.route,
          path: route.path,
          message: `names Service ${namespace}/${name} ("${route.written}"), which is not in the input`,
          fix: `add Service ${namespace}/${name}, or correct the name to a Service that exists`,
          related: [],
        },
      ];
    });
  },
};

export const unknownPortRule: Rule = {
  id: 'route-unknown-port',
  title: `${ROUTE_KINDS} naming a port its Service does not have`,
  why: 'A route to a port the Service does not expose matches no endpoints: every gRPC call through it fails with UNAVAILABLE.',
  source:
    'https://istio.io/latest/docs/reference/config/networking/virtual-service/#Destination (port required when the Service has several); Kubernetes v1.32 IngressServiceBackend',
  severity: 'error',
  check({ graph }) {
    return graph.routes.flatMap((route): Finding[] => {
      const service = route.service;
      if (service === undefined || route.anyPort || servicePort(service, route.port) !== undefined) return [];
      const ports = service.ports.map((p) => (p.name === undefined ? `${p.port}` : `${p.name} (${p.port})`)).join(', ');
      const message =
        route.port === undefined
          ? `names ${describe(service.ref)} without a port, and it has several (${ports}): the route cannot choose`
          : `names port ${route.port} of ${describe(service.ref)}, which has only ${ports}`;
      return [
        {
          rule: unknownPortRule.id,
          severity: 'error',
          object: route.route,
          path: route.path,
          message,
          fix: `name one of the Service's ports: ${ports}`,
          related: [service.ref],
        },
      ];
    });
  },
};

export const gatewayWorkloadRule: Rule = {
  id: 'istio-gateway-no-workload',
  title: 'Istio Gateway whose selector matches no gateway pods, in the input or installed by the platform',
  why: 'An Istio Gateway configures only the gateway pods its selector matches: with none, its servers listen nowhere and the gRPC routes bound to it are never served.',
  source:
    'istio/api v1.30.3 networking/v1alpha3/gateway.proto (Gateway.selector); istio/istio 1.30.3 manifests/charts/gateways/istio-ingress/values.yaml and manifests/charts/gateway/templates/_helpers.tpl (the labels of the gateways Istio installs)',
  severity: 'error',
  check(context) {
    const { graph } = context;
    return graph.istioGateways
      .filter(
        (gateway) =>
          Object.keys(gateway.selector).length > 0 &&
          gateway.workloads.length === 0 &&
          !graph.platformGateways.some((platform) => selects(gateway.selector, platform.labels)),
      )
      .map((gateway) => ({
        rule: gatewayWorkloadRule.id,
        severity: absentSeverity(context),
        object: gateway.ref,
        path: 'spec.selector',
        message: `selector ${describeSelector(gateway.selector)} matches no pod template in the input, and no gateway the platform installs: not Istio's defaults (${WELL_KNOWN_GATEWAYS.map((g) => describeSelector(g.labels)).join('; ')}), nor one an IstioOperator or a Helm release of Istio's gateway chart in the input declares`,
        fix: 'correct the selector to the labels of the gateway pods that run in the cluster, or add what installs them (the gateway Deployment, the IstioOperator entry under spec.components.ingressGateways, or the Helm release of the gateway chart); if the platform installs it outside this input, check with --partial',
        related: [],
      }));
  },
};

export const unknownParentRule: Rule = {
  id: 'route-unknown-parent',
  title: 'GRPCRoute or HTTPRoute attached to a Gateway the input does not have',
  why: 'A route is served only by the Gateways it attaches to (parentRefs): naming one that does not exist leaves the gRPC service unreachable from outside, with nothing in the route saying so until its status is read.',
  source: 'Gateway API v1.6.1 CommonRouteSpec.parentRefs (apis/v1/shared_types.go ParentReference)',
  severity: 'error',
  check(context) {
    return context.graph.routeParents
      .filter((parent) => parent.gateway === undefined)
      .map((parent): Finding => ({
        rule: unknownParentRule.id,
        severity: absentSeverity(context),
        object: parent.route,
        path: parent.path,
        message: `attaches to Gateway ${parent.namespace}/${parent.name}, which is not in the input`,
        fix: `add Gateway ${parent.namespace}/${parent.name}, or name a Gateway that exists (parentRefs[].name and namespace)`,
        related: [],
      }));
  },
};

export const credentialNamespaceRule: Rule = {
  id: 'istio-credential-namespace',
  title: "Istio Gateway credentialName whose Secret is not in the gateway workload's namespace",
  why: "istiod serves a Gateway's credentialName only from the namespace of the gateway pods (not of the Gateway resource): a Secret elsewhere leaves the listener without a certificate, and TLS handshakes for gRPC fail.",
  source:
    "istio/istio 1.30.3 pilot/pkg/xds/sds.go (kubernetes:// Secrets only from the proxy's namespace); pilot/pkg/model/credentials/resource.go",
  severity: 'error',
  check(context) {
    const { graph } = context;
    const findings: Finding[] = [];
    for (const gateway of graph.istioGateways) {
      const workloadNamespaces = [...new Set(gateway.workloads.map((w) => w.namespace))];
      for (const credential of gateway.credentials) {
        const sources = graph.secrets.filter((s) => s.name === credential.name);
        if (sources.length === 0) continue; // Secrets are seldom in manifests: only a misplaced one is a finding.
        const missing = workloadNamespaces.filter((ns) => !sources.some((s) => s.namespace === ns));
        if (missing.length === 0) continue;
        findings.push({
          rule: credentialNamespaceRule.id,
          severity: absentSeverity(context),
          object: gateway.ref,
          path: credential.path,
          message: `credentialName "${credential.name}" is read from the namespace of the gateway pods (${missing.join(', ')}), but the input has it only in ${sources.map((s) => `${s.namespace} (${describe(s.ref)})`).join(', ')}`,
          fix: `create the Secret "${credential.name}" (or the Certificate that writes it) in ${missing.join(' and ')}`,
          related: sources.map((s) => s.ref),
        });
      }
    }
    return findings;
  },
};
