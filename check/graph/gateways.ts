/**
 * Gateways: Istio Gateways and the pods they select, the gateway pods the platform installs from outside the input
 * (Istio's default ingress and egress gateways, an IstioOperator's gateways, a Helm release of Istio's gateway chart),
 * and which pods are an L7 proxy balancing each call themselves.
 */
import { parse as parseYaml } from 'yaml';
import { list, record, strings, text, type Json } from './json';
import type { Found, ObjectRef } from './objects';
import { selects } from './services';
import type { PodTemplate, Workload } from './workloads';

export interface IstioGatewayNode {
  readonly ref: ObjectRef;
  readonly selector: Readonly<Record<string, string>>;
  readonly workloads: Workload[];
  readonly credentials: ReadonlyArray<{ readonly name: string; readonly path: string }>;
}

/** Gateway pods installed by the platform, known by their labels. */
export interface PlatformGateway {
  readonly labels: Readonly<Record<string, string>>;
  /** What installs them, for messages. */
  readonly because: string;
  /** The object of the input that declares them, if one does. */
  readonly ref?: ObjectRef;
}

/**
 * The gateways Istio's install profiles deploy (default and demo): the labels of the istio-ingress and istio-egress
 * charts (istio/istio 1.30.3 manifests/charts/gateways/istio-ingress/values.yaml and istio-egress/values.yaml
 * `gateways.istio-ingressgateway.labels`), which Gateways conventionally select.
 */
const ISTIO_DEFAULT_GATEWAYS: Record<'ingressGateways' | 'egressGateways', Record<string, string>> = {
  ingressGateways: { app: 'istio-ingressgateway', istio: 'ingressgateway' },
  egressGateways: { app: 'istio-egressgateway', istio: 'egressgateway' },
};

export const WELL_KNOWN_GATEWAYS: readonly PlatformGateway[] = Object.values(ISTIO_DEFAULT_GATEWAYS).map((labels) => ({
  labels,
  because: `the ${labels.app} Istio's install profiles deploy`,
}));

/**
 * An IstioOperator's gateways: each enabled entry of spec.components.ingressGateways / egressGateways runs pods with
 * the chart's default labels overlaid with the entry's `label` (istio/istio 1.30.3 operator/pkg/render/manifest.go
 * applyComponentValuesToHelmValues; an entry is enabled unless it says otherwise, operator/pkg/component/component.go).
 */
function istioOperatorGateways(operators: readonly Found[]): PlatformGateway[] {
  return operators.flatMap(({ ref, object }) => {
    const components = record(record(object.spec).components);
    return (['ingressGateways', 'egressGateways'] as const).flatMap((kind) =>
      list(components[kind]).flatMap((entry) => {
        const gateway = record(entry);
        if (gateway.enabled === false) return [];
        const labels = { ...ISTIO_DEFAULT_GATEWAYS[kind], ...strings(gateway.label) };
        return [{ labels, because: `${ref.kind} ${ref.name} (${kind} ${text(gateway.name) ?? ''})`, ref }];
      }),
    );
  });
}

/**
 * Istio's `gateway` Helm chart (istio/istio 1.30.3 manifests/charts/gateway/templates/_helpers.tpl): its pods carry
 * `app: <name>` and `istio: <name without "istio-">` unless values.labels sets them, the name being values.name or the
 * release name.
 */
function gatewayChartLabels(releaseName: string, values: Json): Record<string, string> {
  const name = text(values.name) ?? releaseName;
  const labels = strings(values.labels);
  return { ...labels, app: labels.app ?? name, istio: labels.istio ?? name.replace(/^istio-/, '') };
}

const ISTIO_CHART_REPOSITORY = /istio-release|istio\.io|istio/;

/** Values given as a YAML string (Argo CD `helm.values`), or an object. */
function helmValues(values: unknown): Json {
  if (typeof values !== 'string') return record(values);
  try {
    return record(parseYaml(values));
  } catch {
    return {}; // values that do not parse are Argo CD's to reject
  }
}

/** Releases of Istio's gateway chart: a Flux HelmRelease or an Argo CD Application. */
function helmGateways(helmReleases: readonly Found[], applications: readonly Found[]): PlatformGateway[] {
  const fromFlux = helmReleases.flatMap(({ ref, object }) => {
    const spec = record(object.spec);
    if (text(record(record(spec.chart).spec).chart) !== 'gateway') return [];
    const labels = gatewayChartLabels(text(spec.releaseName) ?? ref.name, record(spec.values));
    return [{ labels, because: `${ref.kind} ${ref.name} (Istio's gateway chart)`, ref }];
  });
  const fromArgo = applications.flatMap(({ ref, object }) => {
    const spec = record(object.spec);
    return [record(spec.source), ...list(spec.sources).map(record)].flatMap((source) => {
      if (text(source.chart) !== 'gateway' || !ISTIO_CHART_REPOSITORY.test(text(source.repoURL) ?? '')) return [];
      const helm = record(source.helm);
      const values = { ...helmValues(helm.values), ...record(helm.valuesObject) };
      const labels = gatewayChartLabels(text(helm.releaseName) ?? ref.name, values);
      return [{ labels, because: `${ref.kind} ${ref.name} (Istio's gateway chart)`, ref }];
    });
  });
  return [...fromFlux, ...fromArgo];
}

/** Every gateway the platform provides, as far as the input and Istio's defaults say. */
export function platformGateways(
  operators: readonly Found[],
  helmReleases: readonly Found[],
  applications: readonly Found[],
): PlatformGateway[] {
  return [...WELL_KNOWN_GATEWAYS, ...istioOperatorGateways(operators), ...helmGateways(helmReleases, applications)];
}

export function istioGateways(gateways: readonly Found[], workloads: readonly Workload[]): IstioGatewayNode[] {
  return gateways.map(({ ref, object }) => {
    const spec = record(object.spec);
    const selector = strings(spec.selector);
    const credentials = list(spec.servers).flatMap((server, i) => {
      const tls = record(record(server).tls);
      const names = [text(tls.credentialName), ...list(tls.credentialNames).map(text)];
      return names.flatMap((name, j) =>
        name === undefined
          ? []
          : [{ name, path: `spec.servers[${i}].tls.${j === 0 ? 'credentialName' : `credentialNames[${j - 1}]`}` }],
      );
    });
    // Selectors match pods in every namespace unless istiod scopes them (PILOT_SCOPE_GATEWAY_TO_NAMESPACE; istio/api
    // v1.30.3 networking/v1alpha3/gateway.proto, Gateway.selector).
    const selected = workloads.filter((w) => selects(selector, w.pod.labels));
    for (const w of selected) w.l7Proxy ??= `an Istio gateway (selected by Gateway ${ref.namespace}/${ref.name})`;
    return { ref, selector, workloads: selected, credentials };
  });
}

/** What kind of L7 proxy a pod template is, from the marks its installers leave. */
export function l7ProxyOf(pod: PodTemplate): string | undefined {
  // Istio's `gateway` injection template turns the pod into a gateway proxy.
  if ((pod.annotations['inject.istio.io/templates'] ?? '').split(',').includes('gateway'))
    return 'an Istio gateway (injection template "gateway")';
  if (pod.labels['gateway.networking.k8s.io/gateway-name'] !== undefined)
    return `the Gateway API gateway ${pod.labels['gateway.networking.k8s.io/gateway-name']}`;
  if (pod.labels['gateway.envoyproxy.io/owning-gateway-name'] !== undefined) return 'an Envoy Gateway proxy';
  if (pod.containers.some((c) => c.argv.some((arg) => arg.endsWith('/nginx-ingress-controller'))))
    return 'the ingress-nginx controller';
  // Envoy run as a front proxy: it balances each request over its clusters' endpoints.
  const envoy = pod.containers.find((c) => /(^|\/)envoyproxy\/envoy(-[a-z]+)?(:|@|$)/.test(c.image ?? ''));
  if (envoy !== undefined) return `Envoy (container ${envoy.name})`;
  return undefined;
}
