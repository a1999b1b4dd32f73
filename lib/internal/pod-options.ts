/**
 * The pod options a workload takes from its user (scheduling, volumes, extra ports, image pull secrets, command,
 * probes, autoscaling), each checked as the API server checks it, so a bad value fails at synth, naming the
 * construct, the prop and the value. Field rules are those the Kubernetes 1.32 API definitions document
 * (upstream/schemas/k8s-v1.32.0-definitions.json, as lib/imports/k8s.ts carries them).
 */
import type { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import type { ContainerPort, WorkloadAutoscaling } from '../container';
import {
  dnsLabel,
  dnsSubdomain,
  integerIn,
  invalidProp,
  labelValue,
  listOf,
  metadataMap,
  oneOf,
  port,
  portName,
  unique,
  type ValidationSubject,
} from './validate';

/** The writable directory every workload gets under its read-only root file system, unless it mounts its own. */
const TMP = { volume: 'tmp', mountPath: '/tmp', sizeLimit: '64Mi' } as const;

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
const TOLERATION_OPERATORS = ['Equal', 'Exists'];
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const PROBE_HANDLERS = ['exec', 'grpc', 'httpGet', 'tcpSocket'] as const;

/** Strings, such as a command or its arguments. */
export function stringList(subject: ValidationSubject, prop: string, value: readonly string[], min = 0): string[] {
  if (!Array.isArray(value) || value.length < min)
    throw invalidProp(subject, prop, value, min > 0 ? 'a non-empty list of strings' : 'a list of strings');
  return listOf(subject, prop, value, (entry, entryProp) => {
    if (typeof entry !== 'string') throw invalidProp(subject, entryProp, entry, 'a string');
    return entry;
  });
}

/** Names of `kubernetes.io/dockerconfigjson` Secrets in the pod's namespace, as the pod references them. */
export function imagePullSecrets(
  subject: ValidationSubject,
  prop: string,
  names: readonly string[] | undefined,
): k8s.LocalObjectReference[] | undefined {
  if (names === undefined) return undefined;
  const checked = listOf(subject, prop, names, (name, entryProp) => dnsSubdomain(subject, entryProp, name));
  unique(subject, prop, checked);
  return checked.map((name) => ({ name }));
}

/** Container ports besides the main one, each named and numbered uniquely (the main one included). */
export function extraPorts(
  subject: ValidationSubject,
  prop: string,
  ports: readonly ContainerPort[] | undefined,
  main: { readonly name: string; readonly port: number },
): k8s.ContainerPort[] {
  const checked = listOf(subject, prop, ports ?? [], (entry, entryProp) => ({
    name: portName(subject, `${entryProp}.name`, entry?.name),
    containerPort: port(subject, `${entryProp}.port`, entry.port),
    protocol: oneOf(subject, `${entryProp}.protocol`, entry.protocol ?? 'TCP', PROTOCOLS),
  }));
  checked.forEach((entry, index) => {
    const first = checked.findIndex((other) => other.name === entry.name);
    if (entry.name === main.name || first !== index)
      throw invalidProp(
        subject,
        `${prop}[${index}].name`,
        entry.name,
        `unique among the container's ports (the main one is ${JSON.stringify(main.name)})`,
      );
    const same = checked.findIndex(
      (other) => other.containerPort === entry.containerPort && other.protocol === entry.protocol,
    );
    if ((entry.containerPort === main.port && entry.protocol === 'TCP') || same !== index)
      throw invalidProp(
        subject,
        `${prop}[${index}].port`,
        entry.containerPort,
        `unique among the container's ports (the main one is ${main.port})`,
      );
  });
  return checked;
}

/**
 * Volumes and their mounts in the container, plus an `emptyDir` at /tmp (the root file system is read-only) unless
 * a mount of the user's is there already.
 */
export function volumesAndMounts(
  subject: ValidationSubject,
  props: { readonly volumes?: readonly k8s.Volume[]; readonly volumeMounts?: readonly k8s.VolumeMount[] },
): { volumes: k8s.Volume[]; volumeMounts: k8s.VolumeMount[] } {
  const volumes = listOf(subject, 'volumes', props.volumes ?? [], (volume, prop) => {
    dnsLabel(subject, `${prop}.name`, volume?.name);
    return { ...volume };
  });
  const mounts = listOf(subject, 'volumeMounts', props.volumeMounts ?? [], (mount, prop) => {
    const path = mount?.mountPath;
    // An absolute path without ":" (the API server rejects one, as the field's Windows form would read it).
    if (typeof path !== 'string' || !path.startsWith('/') || path.includes(':'))
      throw invalidProp(subject, `${prop}.mountPath`, path, 'an absolute path without ":"');
    if (!volumes.some((volume) => volume.name === mount.name))
      throw invalidProp(subject, `${prop}.name`, mount.name, `the name of one of the volumes`);
    return { ...mount };
  });
  if (!mounts.some((mount) => mount.mountPath === TMP.mountPath)) {
    volumes.push({ name: TMP.volume, emptyDir: { sizeLimit: k8s.Quantity.fromString(TMP.sizeLimit) } });
    mounts.push({ name: TMP.volume, mountPath: TMP.mountPath });
  }
  unique(
    subject,
    'volumes',
    volumes.map((volume) => volume.name),
  );
  unique(
    subject,
    'volumeMounts',
    mounts.map((mount) => mount.mountPath),
  );
  return { volumes, volumeMounts: mounts };
}

/** Node labels the pods must run on: a map of label keys to values. */
export function nodeSelector(
  subject: ValidationSubject,
  selector: Readonly<Record<string, string>> | undefined,
): Record<string, string> | undefined {
  return selector === undefined ? undefined : metadataMap(subject, 'nodeSelector', selector, 'labels');
}

/**
 * Taints the pods tolerate. As the Toleration fields document: the operator is `Exists` or `Equal`; an empty key
 * needs `Exists`; `Exists` takes no value; the effect is one of the three taint effects; `tolerationSeconds` applies
 * only to `NoExecute`.
 */
export function tolerations(
  subject: ValidationSubject,
  value: readonly k8s.Toleration[] | undefined,
): k8s.Toleration[] | undefined {
  if (value === undefined) return undefined;
  return listOf(subject, 'tolerations', value, (toleration, prop) => {
    const operator = oneOf(subject, `${prop}.operator`, toleration?.operator ?? 'Equal', TOLERATION_OPERATORS);
    if (toleration.key !== undefined && toleration.key !== '')
      metadataMap(subject, `${prop}.key`, { [toleration.key]: '' }, 'labels');
    else if (operator !== 'Exists')
      throw invalidProp(subject, `${prop}.operator`, operator, '"Exists" for a toleration without a key');
    if (operator === 'Exists' && toleration.value !== undefined && toleration.value !== '')
      throw invalidProp(subject, `${prop}.value`, toleration.value, 'empty with operator "Exists"');
    if (toleration.value !== undefined) labelValue(subject, `${prop}.value`, toleration.value);
    if (toleration.effect !== undefined && toleration.effect !== '')
      oneOf(subject, `${prop}.effect`, toleration.effect, TAINT_EFFECTS);
    if (toleration.tolerationSeconds !== undefined) {
      if (toleration.effect !== 'NoExecute')
        throw invalidProp(subject, `${prop}.effect`, toleration.effect, '"NoExecute" where tolerationSeconds is set');
      integerIn(subject, `${prop}.tolerationSeconds`, toleration.tolerationSeconds, Number.MIN_SAFE_INTEGER);
    }
    return { ...toleration };
  });
}

/**
 * A probe: exactly one handler (exec, grpc, httpGet, tcpSocket), positive periods and thresholds; a liveness or
 * startup probe's successThreshold must be 1.
 */
export function probe(
  subject: ValidationSubject,
  prop: string,
  value: k8s.Probe | undefined,
  kind: 'readiness' | 'liveness' | 'startup',
): k8s.Probe | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw invalidProp(subject, prop, value, 'a probe');
  const handlers = PROBE_HANDLERS.filter((handler) => value[handler] !== undefined);
  if (handlers.length !== 1) throw invalidProp(subject, prop, handlers, `exactly one of ${PROBE_HANDLERS.join(', ')}`);
  for (const field of ['periodSeconds', 'timeoutSeconds', 'failureThreshold', 'successThreshold'] as const) {
    if (value[field] !== undefined) integerIn(subject, `${prop}.${field}`, value[field], 1);
  }
  if (value.initialDelaySeconds !== undefined)
    integerIn(subject, `${prop}.initialDelaySeconds`, value.initialDelaySeconds, 0);
  if (kind !== 'readiness' && value.successThreshold !== undefined)
    integerIn(subject, `${prop}.successThreshold`, value.successThreshold, 1, 1);
  return value;
}

/** Autoscaling, checked, with its defaults. */
export function autoscaling(
  subject: ValidationSubject,
  value: WorkloadAutoscaling,
): { minReplicas: number; maxReplicas: number; targetCpuUtilization: number } {
  if (typeof value !== 'object' || value === null)
    throw invalidProp(subject, 'autoscaling', value, '{ maxReplicas, minReplicas?, targetCpuUtilization? }');
  const minReplicas = integerIn(subject, 'autoscaling.minReplicas', value.minReplicas ?? 2, 1);
  const maxReplicas = integerIn(subject, 'autoscaling.maxReplicas', value.maxReplicas, minReplicas);
  const targetCpuUtilization = integerIn(
    subject,
    'autoscaling.targetCpuUtilization',
    value.targetCpuUtilization ?? 80,
    1,
  );
  return { minReplicas, maxReplicas, targetCpuUtilization };
}

/** A HorizontalPodAutoscaler (autoscaling/v2) that scales a Deployment on its pods' CPU, relative to their request. */
export function cpuAutoscaler(
  scope: Construct,
  metadata: k8s.ObjectMeta,
  deployment: { readonly apiVersion: string; readonly kind: string; readonly name: string },
  scaling: { minReplicas: number; maxReplicas: number; targetCpuUtilization: number },
): k8s.KubeHorizontalPodAutoscalerV2 {
  return new k8s.KubeHorizontalPodAutoscalerV2(scope, 'Autoscaler', {
    metadata,
    spec: {
      scaleTargetRef: { apiVersion: deployment.apiVersion, kind: deployment.kind, name: deployment.name },
      minReplicas: scaling.minReplicas,
      maxReplicas: scaling.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: scaling.targetCpuUtilization } },
        },
      ],
    },
  });
}
