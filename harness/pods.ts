/** Greeter pods on one machine: app/server.ts processes named like a StatefulSet's pods, on 127.0.0.1 ports. */
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

export function podNames(count: number, prefix = 'greeter'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
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
