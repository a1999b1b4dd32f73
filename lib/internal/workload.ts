/**
 * What every workload construct shares: references to namespaces and images, resource sizes, and the
 * Pod Security Standards "restricted" security contexts, so each construct states only what is its own.
 */
import type { Duration } from 'cdk8s';
import * as k8s from '../imports/k8s';
import type { Construct } from 'constructs';
import type { ContainerImage, ContainerResources } from '../container';
import type { MeshIdentity } from '../grpc-backend';
import {
  integerIn,
  invalidProp,
  labelValue,
  milliseconds,
  oneOf,
  quantityAtMost,
  quantityValue,
  type ValidationSubject,
} from './validate';

/** The principal an AuthorizationPolicy names: `<trust domain>/ns/<namespace>/sa/<service account>`. */
export function meshPrincipal(identity: MeshIdentity, trustDomain: string): string {
  return `${trustDomain}/ns/${identity.namespace.name}/sa/${identity.serviceAccountName}`;
}

type ImagePullPolicy = NonNullable<ContainerImage['pullPolicy']>;
const PULL_POLICIES: readonly ImagePullPolicy[] = ['Always', 'IfNotPresent', 'Never'];

// Docker's reference grammar, simplified: lower-case path components separated by "/", an optional registry host:port.
const REPOSITORY = /^([a-zA-Z0-9.-]+(:[0-9]+)?\/)?[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Whether a string is an image repository (`registry.example.com/team/payments`, `payments`). */
export function isImageRepository(value: unknown): value is string {
  return typeof value === 'string' && REPOSITORY.test(value);
}

/** Checks an image prop and returns the container fields it becomes. */
export function containerImage(
  subject: ValidationSubject,
  prop: string,
  image: ContainerImage,
): { image: string; imagePullPolicy: ImagePullPolicy } {
  if (!isImageRepository(image?.repository)) {
    throw invalidProp(
      subject,
      `${prop}.repository`,
      image?.repository,
      'an image repository such as "registry.example.com/team/payments"',
    );
  }
  if (typeof image.tag !== 'string' || !TAG.test(image.tag)) {
    throw invalidProp(
      subject,
      `${prop}.tag`,
      image.tag,
      'an image tag (letters, digits, "_", "." and "-", at most 128 characters)',
    );
  }
  const imagePullPolicy = oneOf(subject, `${prop}.pullPolicy`, image.pullPolicy ?? 'IfNotPresent', PULL_POLICIES);
  return { image: `${image.repository}:${image.tag}`, imagePullPolicy };
}

/**
 * Requests and limits, checked: quantities Kubernetes parses, each limit at least its request (the API server
 * rejects a request above its limit).
 */
export function containerResources(
  subject: ValidationSubject,
  prop: string,
  resources: ContainerResources,
): k8s.ResourceRequirements {
  if (typeof resources !== 'object' || resources === null)
    throw invalidProp(subject, prop, resources, 'requests (cpu, memory) and optional limits');
  const requests: Record<string, k8s.Quantity> = {};
  const limits: Record<string, k8s.Quantity> = {};
  for (const resource of ['cpu', 'memory'] as const) {
    const request = resources.requests?.[resource];
    const requested = quantityValue(subject, `${prop}.requests.${resource}`, request);
    requests[resource] = k8s.Quantity.fromString(request);
    const limit = resources.limits?.[resource];
    if (limit === undefined) continue;
    if (!quantityAtMost(requested, quantityValue(subject, `${prop}.limits.${resource}`, limit))) {
      throw invalidProp(
        subject,
        `${prop}.limits.${resource}`,
        limit,
        `at least ${prop}.requests.${resource} (${JSON.stringify(request)})`,
      );
    }
    limits[resource] = k8s.Quantity.fromString(limit);
  }
  return { requests, limits: Object.keys(limits).length === 0 ? undefined : limits };
}

/** The user the Dockerfile's distroless `nonroot` runtime image runs as. */
export const DISTROLESS_NONROOT_UID = 65532;

/**
 * Pod-level settings of the "restricted" profile: non-root, the runtime's default seccomp profile, and the
 * user the image runs as (distroless `nonroot` is 65532; Istio's proxy is 1337).
 */
export function restrictedPodSecurityContext(
  uid: number,
  extra: Partial<k8s.PodSecurityContext> = {},
): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: 'RuntimeDefault' },
    ...extra,
  };
}

/** Container-level settings of the "restricted" profile, plus a read-only root file system. */
export function restrictedContainerSecurityContext(uid: number): k8s.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  };
}

/**
 * Labels of the pods a workload owns, from its name (a label value): `app` and `app.kubernetes.io/name`, set once by
 * the construct that owns the pods and selected by everything that targets them.
 */
export function workloadLabels(name: string, extra: Record<string, string> = {}): Record<string, string> {
  labelValue({ construct: 'workloadLabels', id: String(name) }, 'name', name);
  return { app: name, 'app.kubernetes.io/name': name, ...extra };
}

/** Surge one pod at a time and never drop below the desired count: a rollout loses no serving capacity. */
export function zeroDowntimeRollout(): k8s.DeploymentStrategy {
  return {
    type: 'RollingUpdate',
    rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) },
  };
}

/** Spread replicas over nodes where there are several; one node (Docker Desktop) still schedules them all. */
export function spreadOverNodes(selectorLabels: Record<string, string>): k8s.TopologySpreadConstraint[] {
  return [
    {
      maxSkew: 1,
      topologyKey: 'kubernetes.io/hostname',
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: selectorLabels },
    },
  ];
}

/** Voluntary disruptions (node drains, upgrades) take at most one of the selected pods at a time. */
export function oneAtATimeDisruptionBudget(
  scope: Construct,
  metadata: k8s.ObjectMeta,
  selectorLabels: Record<string, string>,
): k8s.KubePodDisruptionBudget {
  return new k8s.KubePodDisruptionBudget(scope, 'DisruptionBudget', {
    metadata,
    spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selectorLabels } },
  });
}

/**
 * The Pod Security Standards "restricted" profile, as the library's own workloads run, for a pod and its containers:
 * non-root as `uid` (default 65532, distroless `nonroot`), the runtime's default seccomp profile, no privilege
 * escalation, every capability dropped and a read-only root file system.
 */
export function restrictedSecurityContext(uid: number = DISTROLESS_NONROOT_UID): {
  pod: k8s.PodSecurityContext;
  container: k8s.SecurityContext;
} {
  integerIn({ construct: 'restrictedSecurityContext', id: String(uid) }, 'uid', uid, 1);
  return { pod: restrictedPodSecurityContext(uid), container: restrictedContainerSecurityContext(uid) };
}

// Termination: the pod keeps serving while the data planes in front of it learn it is gone, then drains.

/** A drain delay, checked: whole seconds (a `sleep` action counts seconds), zero or more. */
export function drainDelayMs(subject: ValidationSubject, prop: string, delay: Duration): number {
  const ms = milliseconds(subject, prop, delay, 0);
  if (ms % 1000 !== 0) throw invalidProp(subject, prop, `${ms} ms`, 'whole seconds (a preStop sleep counts seconds)');
  return ms;
}

/**
 * The preStop hook that holds SIGTERM back for `delaySeconds`: the native `sleep` action, which needs no shell or
 * `sleep` binary in the image (distroless included) and is on by default from Kubernetes 1.30 (PodLifecycleSleepAction
 * beta; alpha 1.29, GA 1.34: KEP-3960, https://kubernetes.io/docs/concepts/containers/container-lifecycle-hooks/).
 * None for zero: a zero sleep needs PodLifecycleSleepActionAllowZero (KEP-4818, on by default only from 1.33).
 */
export function drainDelayHook(delaySeconds: number): k8s.Lifecycle | undefined {
  return delaySeconds === 0 ? undefined : { preStop: { sleep: { seconds: delaySeconds } } };
}

/**
 * The pod's terminationGracePeriodSeconds: the kubelet counts the preStop hook within the grace period and kills
 * whatever still runs when it ends (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination),
 * so it covers the delay, the server's drain and the margin for the process and its sidecar to exit.
 */
export function terminationGraceSeconds(delayMs: number, drainMs: number, marginMs: number): number {
  return Math.ceil((delayMs + drainMs + marginMs) / 1000);
}
