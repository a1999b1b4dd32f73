/**
 * Workloads: the pod template of each kind that has one (containers, ports, probes, env, args), and how many pods it
 * can run (replicas, an HorizontalPodAutoscaler or KEDA ScaledObject over it, a pod per node for a DaemonSet).
 */
import type { KubeObject } from '../input';
import { integer, list, portValue, record, strings, text, type Json } from './json';
import type { PodMesh } from './mesh';
import type { Found, ObjectRef } from './objects';

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
}

export interface ContainerNode {
  readonly name: string;
  readonly image?: string;
  readonly ports: readonly ContainerPort[];
  /** Literal environment (`value`, not `valueFrom`). */
  readonly env: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  /** `command` then `args`. */
  readonly argv: readonly string[];
  /** Ports the container's flags or env say it serves gRPC on (`--grpc-port=9090`, `GRPC_PORT=8080`), with where. */
  readonly grpcListenPorts: ReadonlyArray<{ readonly port: number; readonly where: string }>;
  readonly hasReadinessProbe: boolean;
  /** Ports (number or name) of the container's gRPC probes (liveness, readiness, startup). */
  readonly grpcProbePorts: ReadonlyArray<number | string>;
  /** Seconds of a `preStop` `sleep` (exec `sleep N` or the `sleep` action), if any. */
  readonly preStopSleepSeconds?: number;
  /** The path of the container in its object, e.g. `spec.template.spec.containers[0]`. */
  readonly path: string;
}

export interface PodTemplate {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly containers: readonly ContainerNode[];
  /** @default 30 (the Kubernetes default) */
  readonly terminationGracePeriodSeconds: number;
  readonly terminationGracePeriodSet: boolean;
  /** The path of the pod spec in its object, e.g. `spec.template.spec`. */
  readonly specPath: string;
}

/** How many pods a workload can run at once, and what says so. */
export interface Scale {
  /** `Infinity` for a DaemonSet (a pod per node). */
  readonly maxPods: number;
  readonly because: string;
}

export interface Workload {
  readonly ref: ObjectRef;
  readonly namespace: string;
  readonly pod: PodTemplate;
  readonly mesh: PodMesh;
  scale: Scale;
  /** Set when the pods are an L7 proxy that balances each call itself (a gateway or an ingress controller). */
  l7Proxy?: string;
}

/** Where each workload kind keeps its pod template. */
export const POD_TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
  // Argo Rollouts keeps a Deployment-shaped template.
  Rollout: ['spec', 'template'],
};

function probe(container: Json, kind: string): Json | undefined {
  const value = container[kind];
  return typeof value === 'object' && value !== null ? record(value) : undefined;
}

function preStopSleep(container: Json): number | undefined {
  const preStop = record(record(container.lifecycle).preStop);
  const sleepAction = integer(record(preStop.sleep).seconds);
  if (sleepAction !== undefined) return sleepAction;
  const command = list(record(preStop.exec).command).map(String);
  // `sleep 20`, or a shell running one: the last `sleep N` in the command line.
  const match = /(?:^|\s|;|&)sleep\s+(\d+(?:\.\d+)?)s?(?:\s|;|&|$)/.exec(command.join(' '));
  return match ? Number(match[1]) : undefined;
}

/** A flag or variable name that says gRPC (`--grpc-port`, `GRPC_PORT`, `--grpcport`, `--xds-grpc-server`). */
export const GRPC_NAME = /grpc/i;
/** A name that says it sets where a server listens (port, address, listen, bind, server). */
const LISTEN_NAME = /port|addr|listen|bind|server/i;
/** A port to listen on: `9090`, `:9090`, `0.0.0.0:9090`, `[::]:9090`. Any other host is a target to dial. */
const LISTEN_VALUE = /^(?:(?:0\.0\.0\.0|\[::\]|::|\*)?:)?(\d{1,5})$/;

/** The gRPC ports a container's flags (`--grpc-port=9090`, `--grpc 9090`) and env (`GRPC_PORT=9090`) listen on. */
function grpcListenPorts(argv: readonly string[], env: ContainerNode['env']): ContainerNode['grpcListenPorts'] {
  const settings = [
    ...env.map((e) => ({ name: e.name, value: e.value, where: `env ${e.name}` })),
    ...argv.flatMap((arg, i) => {
      const flag = /^--?([A-Za-z0-9_.-]+)(?:=(.*))?$/.exec(arg);
      if (flag === null) return [];
      const value = flag[2] ?? argv[i + 1];
      return value === undefined ? [] : [{ name: flag[1], value, where: `flag ${arg.split('=')[0]}` }];
    }),
  ];
  return settings.flatMap(({ name, value, where }) => {
    const port = LISTEN_VALUE.exec(value.trim())?.[1];
    return GRPC_NAME.test(name) && LISTEN_NAME.test(name) && port !== undefined && Number(port) <= 65535
      ? [{ port: Number(port), where }]
      : [];
  });
}

function containerNode(value: unknown, containerPath: string): ContainerNode {
  const container = record(value);
  const probes = ['livenessProbe', 'readinessProbe', 'startupProbe'].map((kind) => probe(container, kind));
  const env = list(container.env)
    .map(record)
    .flatMap((e) =>
      text(e.name) !== undefined && text(e.value) !== undefined
        ? [{ name: e.name as string, value: e.value as string }]
        : [],
    );
  const argv = [...list(container.command), ...list(container.args)].filter((a): a is string => typeof a === 'string');
  return {
    name: text(container.name) ?? '',
    image: text(container.image),
    ports: list(container.ports)
      .map(record)
      .flatMap((p) =>
        integer(p.containerPort) === undefined
          ? []
          : [{ name: text(p.name), containerPort: integer(p.containerPort) as number }],
      ),
    env,
    argv,
    grpcListenPorts: grpcListenPorts(argv, env),
    hasReadinessProbe: probes[1] !== undefined,
    grpcProbePorts: probes.flatMap((p) => {
      const port = p === undefined ? undefined : portValue(record(p.grpc).port);
      return port === undefined ? [] : [port];
    }),
    preStopSleepSeconds: preStopSleep(container),
    path: containerPath,
  };
}

/** The pod template of a workload object, undefined for a kind without one. */
export function podTemplate(object: KubeObject): PodTemplate | undefined {
  const templatePath = POD_TEMPLATE_PATHS[object.kind];
  if (templatePath === undefined) return undefined;
  const template = templatePath.reduce<Json>((node, key) => record(node[key]), object as unknown as Json);
  const metadata = record(template.metadata);
  const spec = record(template.spec);
  const specPath = [...templatePath, 'spec'].join('.');
  // Native sidecars (init containers that keep running) serve traffic like containers.
  const initContainers = list(spec.initContainers);
  return {
    labels: strings(metadata.labels),
    annotations: strings(metadata.annotations),
    containers: [
      ...list(spec.containers).map((c, i) => containerNode(c, `${specPath}.containers[${i}]`)),
      ...initContainers.flatMap((c, i) =>
        record(c).restartPolicy === 'Always' ? [containerNode(c, `${specPath}.initContainers[${i}]`)] : [],
      ),
    ],
    terminationGracePeriodSeconds: integer(spec.terminationGracePeriodSeconds) ?? 30,
    terminationGracePeriodSet: integer(spec.terminationGracePeriodSeconds) !== undefined,
    specPath,
  };
}

/** A container port given by number or name, resolved against a container. */
export function containerPortOf(container: ContainerNode, port: number | string): ContainerPort | undefined {
  return container.ports.find((p) => (typeof port === 'number' ? p.containerPort === port : p.name === port));
}

/** The pods a workload runs by its own spec (before any autoscaler). */
export function ownScale(ref: ObjectRef, object: Json): Scale {
  const spec = record(object.spec);
  switch (ref.kind) {
    case 'Pod':
      return { maxPods: 1, because: 'a single Pod' };
    case 'DaemonSet':
      return { maxPods: Infinity, because: `${ref.kind} ${ref.name} runs a pod on every node` };
    case 'Job':
    case 'CronJob': {
      const parallelism = integer(record(ref.kind === 'Job' ? spec : record(spec.jobTemplate).spec).parallelism) ?? 1;
      return { maxPods: parallelism, because: `parallelism ${parallelism}` };
    }
    default: {
      // apps/v1 DeploymentSpec.replicas and the others: "Defaults to 1".
      const replicas = integer(spec.replicas);
      return replicas === undefined
        ? { maxPods: 1, because: `${ref.kind} ${ref.name} sets no replicas (1)` }
        : { maxPods: replicas, because: `${ref.kind} ${ref.name} has replicas: ${replicas}` };
    }
  }
}

/**
 * What autoscalers allow over the workloads they target: an HorizontalPodAutoscaler's maxReplicas
 * (autoscaling/v2 HorizontalPodAutoscalerSpec), a KEDA ScaledObject's maxReplicaCount (100 when unset,
 * https://keda.sh/docs/2.17/reference/scaledobject-spec/#minreplicacount-maxreplicacount; its scaleTargetRef
 * kind defaults to Deployment).
 */
export function applyAutoscalers(
  workloads: readonly Workload[],
  hpas: readonly Found[],
  scaledObjects: readonly Found[],
) {
  const scalers = [
    ...hpas.map(({ ref, object }) => {
      const spec = record(object.spec);
      const target = record(spec.scaleTargetRef);
      return {
        ref,
        kind: text(target.kind),
        name: text(target.name),
        max: integer(spec.maxReplicas),
        field: 'maxReplicas',
      };
    }),
    ...scaledObjects.map(({ ref, object }) => {
      const spec = record(object.spec);
      const target = record(spec.scaleTargetRef);
      return {
        ref,
        kind: text(target.kind) ?? 'Deployment',
        name: text(target.name),
        max: integer(spec.maxReplicaCount) ?? 100,
        field: 'maxReplicaCount',
      };
    }),
  ];
  for (const scaler of scalers) {
    if (scaler.max === undefined) continue;
    for (const workload of workloads) {
      if (workload.ref.kind !== scaler.kind || workload.ref.name !== scaler.name) continue;
      if (workload.namespace !== scaler.ref.namespace || scaler.max <= workload.scale.maxPods) continue;
      workload.scale = {
        maxPods: scaler.max,
        because: `${scaler.ref.kind} ${scaler.ref.name} has ${scaler.field}: ${scaler.max}`,
      };
    }
  }
}

/** How many pods the workloads can run together, and why, for messages. */
export function combinedScale(workloads: readonly Workload[]): Scale {
  const maxPods = workloads.reduce((sum, w) => sum + w.scale.maxPods, 0);
  const because =
    workloads.length === 1 ? workloads[0].scale.because : workloads.map((w) => w.scale.because).join('; ');
  return { maxPods, because };
}
