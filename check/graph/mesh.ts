/** Namespaces, and what proxies a pod's calls as far as the input shows: Istio (sidecar, ambient, proxyless) or Linkerd. */
import type { ObjectRef } from './objects';
import type { PodMesh, PodTemplate } from './workloads';

export interface NamespaceNode {
  readonly ref: ObjectRef;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

const ISTIO_INJECT = 'sidecar.istio.io/inject';
const ISTIO_REV = 'istio.io/rev';
const ISTIO_NAMESPACE_INJECTION = 'istio-injection';
const ISTIO_DATAPLANE_MODE = 'istio.io/dataplane-mode';
export const ISTIO_INJECTION_TEMPLATES = 'inject.istio.io/templates';
/** Istio ambient: a Service or namespace with this label has its traffic sent through a waypoint (L7). */
export const ISTIO_USE_WAYPOINT = 'istio.io/use-waypoint';
const LINKERD_INJECT = 'linkerd.io/inject';
export const ISTIO_PROXY_CONTAINER = 'istio-proxy';
export const LINKERD_PROXY_CONTAINER = 'linkerd-proxy';
/**
 * Istio's proxyless injection templates (istio/istio 1.30.3 manifests/charts/istio-control/istio-discovery/files/
 * grpc-agent.yaml and grpc-simple.yaml): the agent runs with DISABLE_ENVOY and the app gets GRPC_XDS_BOOTSTRAP, so its
 * gRPC library resolves xds:/// targets and balances each call itself.
 */
const PROXYLESS_TEMPLATES = ['grpc-agent', 'grpc-simple'];
/** gRPC's xDS bootstrap variable (gRFC A27): a container that has it is an xDS client. */
export const GRPC_XDS_BOOTSTRAP = 'GRPC_XDS_BOOTSTRAP';

/** The pod says `sidecar.istio.io/inject: "false"` (label, or the older annotation). */
export function optsOutOfIstioSidecar(pod: PodTemplate): boolean {
  return pod.labels[ISTIO_INJECT] === 'false' || pod.annotations[ISTIO_INJECT] === 'false';
}

/**
 * Whether Istio injects a sidecar (istio/istio 1.30.3 manifests/charts/istio-control/istio-discovery/templates/
 * mutatingwebhook.yaml): a namespace labelled `istio-injection=enabled`, or `istio.io/rev` without that label,
 * unless the pod says `sidecar.istio.io/inject: "false"`; in an unlabelled namespace, a pod labelled
 * `sidecar.istio.io/inject: "true"` or `istio.io/rev`.
 */
function istioInjection(pod: PodTemplate, namespace: NamespaceNode | undefined): string | undefined {
  const optOut = optsOutOfIstioSidecar(pod);
  const nsInjection = namespace?.labels[ISTIO_NAMESPACE_INJECTION];
  const nsRevision = namespace?.labels[ISTIO_REV];
  if (nsInjection === 'enabled') return optOut ? undefined : `namespace label ${ISTIO_NAMESPACE_INJECTION}=enabled`;
  if (nsInjection === undefined && nsRevision !== undefined)
    return optOut ? undefined : `namespace label ${ISTIO_REV}=${nsRevision}`;
  if (nsInjection === undefined && nsRevision === undefined) {
    if (pod.labels[ISTIO_INJECT] === 'true') return `pod label ${ISTIO_INJECT}=true`;
    if (pod.labels[ISTIO_REV] !== undefined && !optOut) return `pod label ${ISTIO_REV}=${pod.labels[ISTIO_REV]}`;
  }
  return undefined;
}

/**
 * Whether Linkerd injects its proxy (linkerd/linkerd2 version-2.18 pkg/inject/report.go disabledByAnnotation):
 * `linkerd.io/inject: enabled` (or `ingress`) on the pod, or on the namespace unless the pod says `disabled`.
 */
function linkerdInjection(pod: PodTemplate, namespace: NamespaceNode | undefined): string | undefined {
  const injecting = (value: string | undefined) => value === 'enabled' || value === 'ingress';
  const podValue = pod.annotations[LINKERD_INJECT];
  if (injecting(podValue)) return `pod annotation ${LINKERD_INJECT}: ${podValue}`;
  if (podValue === undefined && injecting(namespace?.annotations[LINKERD_INJECT]))
    return `namespace annotation ${LINKERD_INJECT}: ${namespace?.annotations[LINKERD_INJECT]}`;
  return undefined;
}

/** The proxyless template a pod asks Istio for, if any. */
function proxylessTemplate(pod: PodTemplate): string | undefined {
  const templates = (pod.annotations[ISTIO_INJECTION_TEMPLATES] ?? '').split(',').map((t) => t.trim());
  return PROXYLESS_TEMPLATES.find((t) => templates.includes(t));
}

export function podMesh(pod: PodTemplate, namespace: NamespaceNode | undefined): PodMesh {
  const known = namespace !== undefined;
  // The template only means something under Istio injection, which the namespace (often outside the input) turns on.
  const proxyless = proxylessTemplate(pod);
  if (proxyless !== undefined)
    return { kind: 'istio-proxyless', because: `annotation ${ISTIO_INJECTION_TEMPLATES}: ${proxyless}`, known: true };
  // Already injected (istioctl kube-inject, linkerd inject output): the proxy is in the template.
  if (pod.containers.some((c) => c.name === ISTIO_PROXY_CONTAINER && c.image !== 'auto'))
    return { kind: 'istio-sidecar', because: `container ${ISTIO_PROXY_CONTAINER}`, known: true };
  if (pod.containers.some((c) => c.name === LINKERD_PROXY_CONTAINER))
    return { kind: 'linkerd', because: `container ${LINKERD_PROXY_CONTAINER}`, known: true };
  const istio = istioInjection(pod, namespace);
  if (istio !== undefined) return { kind: 'istio-sidecar', because: istio, known };
  const linkerd = linkerdInjection(pod, namespace);
  if (linkerd !== undefined) return { kind: 'linkerd', because: linkerd, known };
  // Istio ambient (istio.io docs, Ambient data plane): the namespace or pod label enrols the pod; `none` opts out.
  const mode = pod.labels[ISTIO_DATAPLANE_MODE] ?? namespace?.labels[ISTIO_DATAPLANE_MODE];
  if (mode === 'ambient') return { kind: 'istio-ambient', because: `label ${ISTIO_DATAPLANE_MODE}=ambient`, known };
  // A sidecar opt-out is known whatever the namespace says.
  const optedOut = optsOutOfIstioSidecar(pod);
  return {
    kind: 'none',
    because: optedOut
      ? `${ISTIO_INJECT}: "false" on the pod`
      : known
        ? `namespace ${namespace.ref.name} has no mesh injection`
        : 'no mesh injection on the pod',
    known: known || optedOut,
  };
}

/** True when the pods balance the calls they receive through a mesh their callers share (a sidecar or xDS mesh). */
export function inCallBalancingMesh(mesh: PodMesh): boolean {
  return mesh.kind === 'istio-sidecar' || mesh.kind === 'linkerd' || mesh.kind === 'istio-proxyless';
}
