/**
 * Greeter pods on one machine: app/server.ts processes named like a StatefulSet's pods, on 127.0.0.1 ports, or each
 * on its own loopback address on one port (LoopbackPods).
 */
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

/** What a control plane does as a rollout replaces pods: put the new one in rotation, take the old one out. */
export interface RolloutHooks {
  /** The pod listens (it is ready): its endpoint is added. */
  added(pod: PodAddress): Promise<void>;
  /** The pod is about to get SIGTERM: its endpoint turns not ready and leaves rotation. */
  removing(pod: PodAddress): Promise<void>;
}

interface RunningPod extends PodAddress {
  process: ServerProcess;
}

/**
 * Greeter pods as a Service sees them: each binds its own loopback address (podHost) on one shared port, so a DNS
 * name, an EndpointSlice or a proxy lists them by address as in a cluster. A pod added or rolled out gets the next
 * address, as a new pod gets a new IP. Spares are pods started ahead and kept out of rotation until `add` or
 * `rollOut` takes them, so what is measured there is the control plane, not how fast a process starts. `stop` ends
 * every process the set started.
 */
export class LoopbackPods {
  private readonly started: ServerProcess[];
  private readonly spares: RunningPod[];

  private constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly running: RunningPod[],
    spares: RunningPod[],
  ) {
    this.spares = spares;
    this.started = [...running, ...spares].map((pod) => pod.process);
  }

  /**
   * Starts `count` pods and `spares` more side by side: the first picks a free port, the others bind it on their own
   * addresses. A clash with another process on that port starts them again elsewhere; any other failure stops them
   * and rethrows.
   */
  static async start(count: number, env: Record<string, string> = {}, { spares = 0 } = {}): Promise<LoopbackPods> {
    for (let attempt = 1; ; attempt++) {
      const first = await startServerProcess(podName(0), { ...env, HOST: podHost(0), PORT: '0' }, POD_RUNNER);
      const others = await Promise.allSettled(
        Array.from({ length: count + spares - 1 }, (_, i) =>
          startServerProcess(podName(i + 1), { ...env, HOST: podHost(i + 1), PORT: String(first.port) }, POD_RUNNER),
        ),
      );
      const processes = [first, ...others.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))];
      const failure = others.find((result) => result.status === 'rejected');
      if (!failure) {
        const pods = processes.map((proc, index) => ({
          name: proc.pod,
          host: podHost(index),
          port: first.port,
          process: proc,
        }));
        return new LoopbackPods(first.port, env, pods.slice(0, count), pods.slice(count));
      }
      await Promise.all(processes.map((proc) => stopProcess(proc)));
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
   * SIGTERM and drains.
   */
  rollOut(load: Load, hooks: RolloutHooks): Promise<RestartFigures[]> {
    const old = [...this.running];
    return rollingRestart({ names: old.map((pod) => pod.name), processes: old.map((pod) => pod.process) }, load, {
      readyCalls: 0,
      surge: true,
      track: () => undefined, // every process of this set is in `started`, which stop() ends
      replace: async (index) => (this.running[index] = await this.take()).process,
      started: (index) => hooks.added(address(this.running[index])),
      stopping: (index) => hooks.removing(address(old[index])),
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.started.map((proc) => stopProcess(proc)));
  }

  private async take(): Promise<RunningPod> {
    const spare = this.spares.shift();
    if (spare) return spare;
    const index = this.started.length;
    const process = await startServerProcess(
      podName(index),
      { ...this.env, HOST: podHost(index), PORT: String(this.port) },
      POD_RUNNER,
    );
    this.started.push(process);
    return { name: process.pod, host: podHost(index), port: this.port, process };
  }
}

function address({ name, host, port }: PodAddress): PodAddress {
  return { name, host, port };
}
