/**
 * Greeter pods on one machine: app/server.ts processes named like a StatefulSet's pods, on 127.0.0.1 ports, or each
 * on its own loopback address on one port (LoopbackPods).
 */
import { parseSettings } from '../app/config';
import type { Logger } from '../app/log';
import { GreeterServer, serverSettings } from '../app/server';
import { SERVER_ENV } from '../app/settings';
import { rollingRestart, type RestartFigures } from './faults';
import type { Load } from './load';
import { startServerProcess, stopProcess, type ServerProcess } from './processes';

export interface Pods {
  names: string[];
  processes: ServerProcess[];
  ports: number[];
  /** Every pod's address as one grpc-js target: what a headless Service's DNS name resolves to. */
  target: string;
  /** SIGTERM to each pod still running; each drains and exits. */
  stop(): Promise<void>;
}

export function podName(index: number, prefix = 'greeter'): string {
  return `${prefix}-${index}`;
}

export function podNames(count: number, prefix = 'greeter'): string[] {
  return Array.from({ length: count }, (_, i) => podName(i, prefix));
}

/** Starts the pods side by side; if one fails to start, stops the others and rethrows. */
export async function startPods(count: number, env: Record<string, string> = {}): Promise<Pods> {
  const names = podNames(count);
  const started = await Promise.allSettled(names.map((name) => startServerProcess(name, env)));
  const processes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const stop = async () => {
    await Promise.all(processes.map((proc) => stopProcess(proc)));
  };
  const failure = started.find((result) => result.status === 'rejected');
  if (failure) {
    await stop();
    throw failure.reason;
  }
  const ports = processes.map((proc) => proc.port);
  return { names, processes, ports, target: `ipv4:${ports.map((port) => `127.0.0.1:${port}`).join(',')}`, stop };
}

/** Where the pods of a LoopbackPods set live: 127.0.0.11, .12, … (127.0.0.1 stays the proxies' and DNS server's). */
const FIRST_POD_OCTET = 11;
const START_ATTEMPTS = 3;
/** A rollout starts many pods: the faster start leaves more of the run to the load. */
const POD_RUNNER = 'swc';

/** The loopback address of pod `index` of a LoopbackPods set. */
export function podHost(index: number): string {
  if (!Number.isInteger(index) || index < 0 || FIRST_POD_OCTET + index > 254)
    throw new Error(`podHost: index must be an integer from 0 to ${254 - FIRST_POD_OCTET}, got ${index}`);
  return `127.0.0.${FIRST_POD_OCTET + index}`;
}

/** A pod as a Service's endpoints list it: its name, its own address, the shared port. */
export interface PodAddress {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** How a rollout goes in a cluster, for the race: how long a new pod waits to be ready, and an old one to be signalled. */
export interface RaceTiming {
  /** From a new pod's start until it is ready and joins the endpoints: its readiness probe period. */
  readinessMs: number;
  /** From an old pod's deletion (it leaves the endpoints) until its SIGTERM: its preStop sleep. */
  drainDelayMs: number;
}

/** One step of a race rollout; times in ms. */
export interface RaceStep {
  pod: string;
  replacement: string;
  /** When the old pod was deleted (its replacement ready), from the rollout's start. */
  deletedAtMs: number;
  /** From its deletion until the data plane had taken it out. */
  dataPlaneAfterMs: number;
  /** From its deletion until its SIGTERM. */
  sigtermAfterMs: number;
  /** From its SIGTERM until it exited. */
  drainMs: number;
  exitCode: number | string;
}

/** What a control plane does as a rollout replaces pods: put the new one in rotation, take the old one out. */
export interface RolloutHooks {
  /** The pod listens (it is ready): its endpoint is added. */
  added(pod: PodAddress): Promise<void>;
  /** The pod is about to get SIGTERM: its endpoint turns not ready and leaves rotation. */
  removing(pod: PodAddress): Promise<void>;
}

/**
 * A started greeter pod: an app/server.ts process, or, for sets that only count failed calls, a GreeterServer in
 * this process (what app/server.ts runs, without a process of its own to start).
 */
interface PodHandle {
  readonly name: string;
  readonly port: number;
  /** The kubelet's SIGTERM: the pod drains (GreeterServer.shutdown, as its SIGTERM handler does) and ends. */
  terminate(): void;
  /** How it ended: a process's exit code, or 0 once an in-process server drained (1 when its grace ran out). */
  readonly ended: Promise<number | string>;
  /** Ends it, whatever it is doing. */
  stop(): Promise<unknown>;
  /** Its process, for rollouts that restart processes. */
  readonly process?: ServerProcess;
}

interface RunningPod extends PodAddress {
  handle: PodHandle;
}

/** Where a set's pods run: each in its own process, or all in this one. */
export type PodPlacement = 'processes' | 'this process';

async function startProcessPod(name: string, env: Record<string, string>): Promise<PodHandle> {
  const proc = await startServerProcess(name, env, POD_RUNNER);
  return {
    name,
    port: proc.port,
    terminate: () => void proc.child.kill('SIGTERM'),
    ended: proc.exited,
    stop: () => stopProcess(proc),
    process: proc,
  };
}

const quiet: Logger = { log: () => undefined };

async function startInProcessPod(name: string, env: Record<string, string>): Promise<PodHandle> {
  const parsed = parseSettings(serverSettings, [], { ...env, [SERVER_ENV.podName]: name });
  if (parsed.help) throw new Error(`pod ${name}: its settings ask for help`);
  const server = await GreeterServer.start(parsed.settings, quiet);
  let draining: Promise<number> | undefined;
  const terminate = () => (draining ??= server.shutdown('SIGTERM').then(({ forced }) => (forced ? 1 : 0)));
  let ended!: (code: number) => void;
  const endedPromise = new Promise<number>((resolve) => (ended = resolve));
  return {
    name,
    port: server.port,
    terminate: () => void terminate().then(ended),
    ended: endedPromise,
    stop: () => terminate().then(ended),
  };
}

/**
 * Greeter pods as a Service sees them: each binds its own loopback address (podHost) on one shared port, so a DNS
 * name, an EndpointSlice or a proxy lists them by address as in a cluster. A pod added or rolled out gets the next
 * address, as a new pod gets a new IP. Spares are pods started ahead and kept out of rotation until `add` or
 * `rollOut` takes them, so what is measured there is the control plane, not how fast a process starts. `stop` ends
 * every pod the set started.
 */
export class LoopbackPods {
  private readonly started: PodHandle[];
  private readonly spares: RunningPod[];

  private constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly placement: PodPlacement,
    private readonly running: RunningPod[],
    spares: RunningPod[],
  ) {
    this.spares = spares;
    this.started = [...running, ...spares].map((pod) => pod.handle);
  }

  /**
   * Starts `count` pods and `spares` more side by side: the first picks a free port, the others bind it on their own
   * addresses. A clash with another process on that port starts them again elsewhere; any other failure stops them
   * and rethrows.
   */
  static async start(
    count: number,
    env: Record<string, string> = {},
    { spares = 0, placement = 'processes' as PodPlacement } = {},
  ): Promise<LoopbackPods> {
    for (let attempt = 1; ; attempt++) {
      const first = await startPod(placement, 0, env, 0);
      const others = await Promise.allSettled(
        Array.from({ length: count + spares - 1 }, (_, i) => startPod(placement, i + 1, env, first.port)),
      );
      const handles = [first, ...others.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))];
      const failure = others.find((result) => result.status === 'rejected');
      if (!failure) {
        const pods = handles.map((handle, index) => ({
          name: handle.name,
          host: podHost(index),
          port: first.port,
          handle,
        }));
        return new LoopbackPods(first.port, env, placement, pods.slice(0, count), pods.slice(count));
      }
      await Promise.all(handles.map((handle) => handle.stop()));
      if (attempt === START_ATTEMPTS || !/EADDRINUSE|address already in use/i.test(String(failure.reason)))
        throw failure.reason;
    }
  }

  /** The pods in rotation, oldest first. */
  get pods(): PodAddress[] {
    return this.running.map(address);
  }

  /** Puts a spare in rotation (starting one on the next address if none is left). */
  async add(): Promise<PodAddress> {
    const pod = await this.take();
    this.running.push(pod);
    return address(pod);
  }

  /**
   * Replaces every pod in rotation in turn under `load` as a Deployment's rollout does (maxSurge 1, maxUnavailable
   * 0): a new pod (a spare, else one started on the next address) is added, then the old one is removed, gets
   * SIGTERM and drains. Pods in processes only: the rollout restarts processes.
   */
  rollOut(load: Load, hooks: RolloutHooks): Promise<RestartFigures[]> {
    const old = [...this.running];
    const processOf = (pod: RunningPod) => {
      if (!pod.handle.process) throw new Error(`rollOut: pod ${pod.name} runs in this process, not in its own`);
      return pod.handle.process;
    };
    return rollingRestart({ names: old.map((pod) => pod.name), processes: old.map(processOf) }, load, {
      readyCalls: 0,
      surge: true,
      track: () => undefined, // every pod of this set is in `started`, which stop() ends
      replace: async (index) => processOf((this.running[index] = await this.take())),
      started: (index) => hooks.added(address(this.running[index])),
      stopping: (index) => hooks.removing(address(old[index])),
    });
  }

  /**
   * Replaces every pod in rotation as a Deployment's rollout does in a cluster (maxSurge 1, maxUnavailable 0), where
   * a pod's termination races the data planes: a new pod (a spare) joins once its readiness period has passed; at
   * that moment the old pod is deleted, which takes it out of the endpoints and starts its termination (its preStop
   * sleep, then SIGTERM) at once, and the next new pod starts, as terminating pods do not count against the surge.
   * `hooks` hear of both changes at once; the path's data plane decides when it acts on them. Resolves once every
   * old pod has ended and every change has reached the data plane.
   */
  async raceRollOut(hooks: RolloutHooks, timing: RaceTiming): Promise<RaceStep[]> {
    const started = performance.now();
    const old = [...this.running];
    const changes: Array<Promise<void>> = [];
    const steps: Array<Promise<RaceStep>> = [];
    for (const [index, leaving] of old.entries()) {
      const joining = await this.take();
      await sleep(timing.readinessMs);
      this.running[index] = joining;
      const deletedAt = performance.now();
      const added = hooks.added(address(joining));
      const removed = hooks.removing(address(leaving)).then(() => performance.now());
      const step = terminate(leaving, joining, timing.drainDelayMs, deletedAt, removed, started);
      // Awaited below, after later steps have begun: a failure must not count as unhandled meanwhile.
      for (const pending of [added, removed, step]) pending.catch(() => undefined);
      changes.push(
        added,
        removed.then(() => undefined),
      );
      steps.push(step);
    }
    await Promise.all(changes);
    return Promise.all(steps);
  }

  /** Starts `count` more spares side by side, for later `add`s and rollouts. */
  async startSpares(count: number): Promise<void> {
    const first = this.started.length + this.starting;
    this.starting += count;
    const outcomes = await Promise.allSettled(
      Array.from({ length: count }, (_, i) => startPod(this.placement, first + i, this.env, this.port)),
    );
    this.starting -= count;
    outcomes.forEach((outcome, i) => {
      if (outcome.status !== 'fulfilled') return;
      this.started.push(outcome.value);
      this.spares.push({ name: outcome.value.name, host: podHost(first + i), port: this.port, handle: outcome.value });
    });
    const failure = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failure) throw failure.reason;
  }

  async stop(): Promise<void> {
    await Promise.all(this.started.map((handle) => handle.stop()));
  }

  /** Pods being started by startSpares, whose addresses are taken. */
  private starting = 0;

  private async take(): Promise<RunningPod> {
    const spare = this.spares.shift();
    if (spare) return spare;
    const index = this.started.length + this.starting;
    this.starting++;
    try {
      const handle = await startPod(this.placement, index, this.env, this.port);
      this.started.push(handle);
      return { name: handle.name, host: podHost(index), port: this.port, handle };
    } finally {
      this.starting--;
    }
  }
}

/** Pod `index` of a set: named as a StatefulSet's pod, on its own address and the set's port (0: a free one). */
function startPod(placement: PodPlacement, index: number, env: Record<string, string>, port: number) {
  const podEnv = { ...env, HOST: podHost(index), PORT: String(port) };
  return placement === 'processes'
    ? startProcessPod(podName(index), podEnv)
    : startInProcessPod(podName(index), podEnv);
}

function address({ name, host, port }: PodAddress): PodAddress {
  return { name, host, port };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A deleted pod's end: its preStop sleep, SIGTERM, its drain; with when the data plane took it out. */
async function terminate(
  leaving: RunningPod,
  joining: RunningPod,
  drainDelayMs: number,
  deletedAt: number,
  removed: Promise<number>,
  rolloutStarted: number,
): Promise<RaceStep> {
  await sleep(drainDelayMs);
  const sigtermAt = performance.now();
  leaving.handle.terminate();
  const exitCode = await leaving.handle.ended;
  const exitedAt = performance.now();
  return {
    pod: leaving.name,
    replacement: joining.name,
    deletedAtMs: deletedAt - rolloutStarted,
    dataPlaneAfterMs: (await removed) - deletedAt,
    sigtermAfterMs: sigtermAt - deletedAt,
    drainMs: exitedAt - sigtermAt,
    exitCode,
  };
}
