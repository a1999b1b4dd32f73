/**
 * Closed-loop SayHello load for the fault tests and the soak benchmark: `concurrency` workers call back to back,
 * each call with a deadline, over `channels` channels. Every outcome is counted by gRPC status and by pod (the
 * `hostname` header), and every latency is kept, so p50 and p99 are exact. Also: a server's RSS from /proc.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { GREETER_SERVICE, GreeterClient, type HelloReply } from '../app/proto';

export interface LoadOptions {
  /** Any grpc-js target, e.g. `127.0.0.1:50051` or `ipv4:127.0.0.1:1,127.0.0.1:2`. */
  target: string;
  lb?: 'pick_first' | 'round_robin';
  /** Calls in flight at once, spread over the channels. */
  concurrency: number;
  /** Channels, each with its own connections (default 1). */
  channels?: number;
  /** Deadline of every call (default 5000). */
  deadlineMs?: number;
  /** grpc-js's reconnect backoff starts at 1 s; tests that restart servers may start it lower. */
  initialReconnectBackoffMs?: number;
  /** Above 1, a call that fails UNAVAILABLE is resent, as the app's client does with MAX_ATTEMPTS. */
  maxAttempts?: number;
  name?: string;
  /** Makes each channel, e.g. with the app's own createGreeterClient; then lb, maxAttempts and the backoff above are its business. */
  createClient?: (target: string) => GreeterClient;
  /** Told of every call as it ends, for figures over time. */
  onCall?: (call: CallRecord) => void;
  /** Each worker's pause after each call: a paced load instead of back-to-back calls (default 0). */
  pauseMs?: number;
}

export interface CallRecord {
  /** performance.now() when the call ended. */
  endedAt: number;
  ms: number;
  /** The pod that replied; undefined when the call failed. */
  pod?: string;
  status: grpc.status;
}

export interface LoadSnapshot {
  calls: number;
  failures: number;
  /** Failed calls per gRPC status name. */
  byStatus: Map<string, number>;
  /** Replies per pod. */
  byPod: Map<string, number>;
}

export interface LoadResult extends LoadSnapshot {
  seconds: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The first few failures, as `STATUS: details`. */
  errors: string[];
}

export interface Load {
  /** Counts so far. */
  snapshot(): LoadSnapshot;
  /** Resolves once the counts satisfy `ready`; rejects after timeoutMs with the counts it saw. */
  until(ready: (counts: LoadSnapshot) => boolean, timeoutMs: number): Promise<LoadSnapshot>;
  /** Lets the calls in flight finish (each within its deadline), closes the channels and sums up; again: the same result. */
  stop(): Promise<LoadResult>;
}

const KEPT_ERRORS = 20;

/** The q-quantile of sorted values, as the benchmarks compute it (nearest rank). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function startLoad(options: LoadOptions): Load {
  const { concurrency, deadlineMs = 5000, name = 'load' } = options;
  const channelCount = Math.max(1, Math.min(options.channels ?? 1, concurrency));
  const clients = Array.from(
    { length: channelCount },
    () =>
      options.createClient?.(options.target) ??
      new GreeterClient(options.target, grpc.credentials.createInsecure(), {
        'grpc.service_config': JSON.stringify({
          loadBalancingConfig: [{ [options.lb ?? 'pick_first']: {} }],
          ...((options.maxAttempts ?? 1) > 1 && {
            methodConfig: [
              {
                name: [{ service: GREETER_SERVICE }],
                retryPolicy: {
                  maxAttempts: options.maxAttempts,
                  initialBackoff: '0.01s',
                  maxBackoff: '0.1s',
                  backoffMultiplier: 2,
                  retryableStatusCodes: ['UNAVAILABLE'],
                },
              },
            ],
          }),
        }),
        // Without it, channels to the same target share one connection per address.
        'grpc.use_local_subchannel_pool': 1,
        ...(options.initialReconnectBackoffMs !== undefined && {
          'grpc.initial_reconnect_backoff_ms': options.initialReconnectBackoffMs,
        }),
      }),
  );
  const counts: LoadSnapshot = { calls: 0, failures: 0, byStatus: new Map(), byPod: new Map() };
  const errors: string[] = [];
  let latencies = new Float64Array(1 << 16);
  const waiters = new Set<{ ready: (counts: LoadSnapshot) => boolean; resolve: () => void }>();
  const started = performance.now();
  let stopped = false;
  let stopping: Promise<LoadResult> | undefined;

  const record = (ms: number, error: grpc.ServiceError | null, pod: string) => {
    options.onCall?.({
      endedAt: performance.now(),
      ms,
      pod: error ? undefined : pod,
      status: error ? error.code : grpc.status.OK,
    });
    if (counts.calls === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[counts.calls++] = ms;
    if (error) {
      counts.failures++;
      const status = grpc.status[error.code] ?? String(error.code);
      counts.byStatus.set(status, (counts.byStatus.get(status) ?? 0) + 1);
      if (errors.length < KEPT_ERRORS) errors.push(`${status}: ${error.details}`);
    } else {
      counts.byPod.set(pod, (counts.byPod.get(pod) ?? 0) + 1);
    }
    for (const waiter of waiters) {
      if (waiter.ready(counts)) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };

  const callOnce = (client: GreeterClient) =>
    new Promise<void>((resolve) => {
      const start = performance.now();
      let pod = 'unknown';
      const call = client.SayHello(
        { name },
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (error, _reply?: HelloReply) => {
          record(performance.now() - start, error, pod);
          resolve();
        },
      );
      call.on('metadata', (metadata: grpc.Metadata) => {
        pod = String(metadata.get('hostname')[0] ?? pod);
      });
    });

  const workers = Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      const client = clients[i % channelCount];
      while (!stopped) {
        await callOnce(client);
        if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
      }
    }),
  );

  const copy = (): LoadSnapshot => ({ ...counts, byStatus: new Map(counts.byStatus), byPod: new Map(counts.byPod) });
  return {
    snapshot: copy,
    until(ready, timeoutMs) {
      if (ready(counts)) return Promise.resolve(copy());
      return new Promise((resolve, reject) => {
        const waiter = {
          ready,
          resolve: () => {
            clearTimeout(timer);
            resolve(copy());
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const seen = copy();
          reject(
            new Error(
              `load did not get there within ${timeoutMs} ms: ${seen.calls} calls, ${seen.failures} failed, by pod ${JSON.stringify([...seen.byPod])}`,
            ),
          );
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    stop() {
      stopped = true;
      stopping ??= workers.then(() => {
        const seconds = (performance.now() - started) / 1000;
        for (const client of clients) client.close();
        const sorted = latencies.slice(0, counts.calls).sort();
        return {
          ...copy(),
          seconds,
          callsPerSecond: counts.calls / seconds,
          p50Ms: quantile(sorted, 0.5),
          p99Ms: quantile(sorted, 0.99),
          maxMs: quantile(sorted, 1),
          errors: [...errors],
        };
      });
      return stopping;
    },
  };
}

/** Resident set size of a process in MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) / 1024;
}

export interface RssSamples {
  first: number;
  last: number;
  peak: number;
  samples: number[];
}

/** Samples a process's RSS now and every everyMs until `stop`. */
export function sampleRss(pid: number, everyMs: number): { stop(): RssSamples } {
  const samples = [rssMiB(pid)];
  const sample = () => {
    try {
      samples.push(rssMiB(pid));
    } catch {
      // The process has gone: the caller finds out from its exit, not from here.
    }
  };
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { first: samples[0], last: samples[samples.length - 1], peak: Math.max(...samples), samples };
    },
  };
}
