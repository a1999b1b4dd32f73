/**
 * Faults staged with real server processes, for the fault tests and the soak benchmark: a rolling restart of pods
 * under load, and a server that vanishes and comes back. Each returns what it measured; the caller asserts or
 * prints. Every process started here is handed to `track` first, so the caller can stop it whatever happens.
 */
import * as grpc from '@grpc/grpc-js';
import { clientSettings, createGreeterClient } from '../app/client';
import { defaultSettings } from '../app/config';
import type { Load } from './load';
import { startServerProcess, type ServerProcess } from './processes';

export interface RestartFigures {
  pod: string;
  replacement: string;
  /** SIGTERM to exit: the drain. */
  drainMs: number;
  exitCode: number | string;
  /** SIGTERM until the replacement had served `readyCalls` calls of the load. */
  backInRotationMs: number;
}

export interface RollingRestartOptions {
  /** Calls of the load the replacement must serve before the next pod is restarted; 0: go on once it listens. */
  readyCalls?: number;
  timeoutMs?: number;
  track: (proc: ServerProcess) => void;
  /** Starts the replacement of pod `index` (default: `<pod>-new` on the same port, once the old pod has exited). */
  replace?: (index: number, old: ServerProcess) => Promise<ServerProcess>;
  /**
   * Start each replacement, and put it in rotation, before stopping the old pod, as a Deployment rolls out with
   * maxSurge 1 and maxUnavailable 0 (lib/internal/workload.ts zeroDowntimeRollout). Needs a `replace` that binds elsewhere.
   */
  surge?: boolean;
  /** Before SIGTERM: a control plane taking the pod out of rotation (a terminating pod's endpoint turns not ready). */
  stopping?: (index: number) => Promise<void>;
  /** Once the replacement listens: a control plane putting it in rotation. */
  started?: (index: number, replacement: ServerProcess) => Promise<void>;
}

/**
 * Restarts each pod in turn while `load` runs against them: SIGTERM, wait for the drain to end, start a replacement
 * (named `<pod>-new` on the same port unless `replace` says otherwise, so its replies can be told apart; with
 * `surge`, started first), and wait until it has served `readyCalls`.
 */
export async function rollingRestart(
  pods: { names: readonly string[]; processes: readonly ServerProcess[] },
  load: Load,
  { readyCalls = 50, timeoutMs = 20_000, track, replace, surge = false, stopping, started }: RollingRestartOptions,
): Promise<RestartFigures[]> {
  if (surge && !replace) throw new Error('rollingRestart: surge needs a replace that binds another address or port');
  const figures: RestartFigures[] = [];
  for (const [i, old] of pods.processes.entries()) {
    const startReplacement = async () => {
      const next = await (replace?.(i, old) ?? startServerProcess(`${pods.names[i]}-new`, { PORT: String(old.port) }));
      track(next);
      await started?.(i, next);
      return next;
    };
    const surged = surge ? await startReplacement() : undefined;
    await stopping?.(i);
    const start = Date.now();
    old.child.kill('SIGTERM');
    const exitCode = await old.exited;
    const drainMs = Date.now() - start;
    const replacement = (surged ?? (await startReplacement())).pod;
    if (readyCalls > 0) await load.until((counts) => (counts.byPod.get(replacement) ?? 0) >= readyCalls, timeoutMs);
    figures.push({ pod: pods.names[i], replacement, drainMs, exitCode, backInRotationMs: Date.now() - start });
  }
  return figures;
}

export interface CallOutcome {
  code: grpc.status;
  ms: number;
  pod?: string;
}

export interface VanishFigures {
  /** The first call that failed after SIGKILL, and how long after the kill it ended. */
  firstFailure?: CallOutcome;
  firstFailureAfterMs: number;
  /** Calls made while no server listened, after the first failure. */
  whileDown: CallOutcome[];
  /** The first call that succeeded once a server listened on the port again, and how long after that. */
  recovered?: CallOutcome;
  recoveredAfterMs: number;
}

/**
 * One channel of the app's client (pick_first, grpc-js's default reconnect backoff: 1 s, ×1.6, up to 120 s) calls a
 * server process with `deadlineMs` on every call. The server is SIGKILLed (no GOAWAY, no drain: it vanishes), the
 * client keeps calling every 20 ms, then a new server listens on the same port and the client calls until one
 * succeeds. Each wait is bounded by `boundMs`.
 */
export async function vanishAndReturn({
  deadlineMs = 5000,
  boundMs = 15_000,
  downCalls = 5,
  track,
}: {
  deadlineMs?: number;
  boundMs?: number;
  downCalls?: number;
  track: (proc: ServerProcess) => void;
}): Promise<VanishFigures> {
  const first = await startServerProcess('greeter-before');
  track(first);
  const client = createGreeterClient({ ...defaultSettings(clientSettings), target: `127.0.0.1:${first.port}` });
  const call = () =>
    new Promise<CallOutcome>((resolve) => {
      const start = performance.now();
      let pod: string | undefined;
      const unary = client.SayHello(
        { name: 'vanish' },
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (error) => resolve({ code: error ? error.code : grpc.status.OK, ms: performance.now() - start, pod }),
      );
      unary.on('metadata', (metadata: grpc.Metadata) => (pod = String(metadata.get('hostname')[0])));
    });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /** Calls every 20 ms until one matches, for at most boundMs. */
  const callUntil = async (done: (outcome: CallOutcome) => boolean) => {
    const start = Date.now();
    while (Date.now() - start < boundMs) {
      const outcome = await call();
      if (done(outcome)) return { outcome, afterMs: Date.now() - start };
      await sleep(20);
    }
    return { outcome: undefined, afterMs: Date.now() - start };
  };
  try {
    const before = await call();
    if (before.code !== grpc.status.OK) throw new Error(`the first call failed with ${grpc.status[before.code]}`);
    first.child.kill('SIGKILL');
    await first.exited;
    const failed = await callUntil((outcome) => outcome.code !== grpc.status.OK);
    const whileDown: CallOutcome[] = [];
    for (let i = 0; i < downCalls; i++) whileDown.push(await call());
    const second = await startServerProcess('greeter-after', { PORT: String(first.port) });
    track(second);
    const back = await callUntil((outcome) => outcome.code === grpc.status.OK);
    return {
      firstFailure: failed.outcome,
      firstFailureAfterMs: failed.afterMs,
      whileDown,
      recovered: back.outcome,
      recoveredAfterMs: back.afterMs,
    };
  } finally {
    client.close();
  }
}
