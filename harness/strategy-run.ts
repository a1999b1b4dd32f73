/**
 * One strategy path (harness/strategy-paths.ts) through the same scenario, for the strategies benchmark: three
 * greeter pods on their own loopback addresses and the app's own client (createGreeterClient, one channel, calls
 * back to back); a warm-up; a steady phase (calls/s, p50 and p99, how evenly the three pods share the calls); a
 * fourth pod added (how long until it gets its fair share); then every pod replaced one by one, as a Deployment
 * rolls out (how many calls fail). The figures are computed by the exported functions below, which the test checks
 * on known counts.
 */
import * as grpc from '@grpc/grpc-js';
import { clientSettings, createGreeterClient } from '../app/client';
import { defaultSettings } from '../app/config';
import { quantile, startLoad, type CallRecord } from './load';
import { LoopbackPods, type PodAddress } from './pods';
import type { RestartFigures } from './faults';
import { spreadOver } from './spread';
import type { StrategyPath } from './strategy-paths';

export interface Scenario {
  /** Calls in flight on the client's one channel. */
  concurrency: number;
  /** Calls before the steady phase, not counted (round_robin connects to every pod meanwhile). */
  warmupMs: number;
  steadyMs: number;
  /** Longest wait for the fourth pod's fair share, from when it listens. */
  fairShareWaitMs: number;
  /** After the rollout's last step, load goes on until no call has failed for this long... */
  settleMs: number;
  /** ...but no longer than this after the last step. */
  recoveryWaitMs: number;
}

export interface FairShareRule {
  share: number;
  windowMs: number;
  minCalls: number;
}

/** A fourth pod has its fair share once it answered at least `share` of the calls that ended in a `windowMs` window. */
export const FAIR_SHARE = {
  share: 0.2,
  windowMs: 1000,
  /** Windows start on these steps: the timeline's bucket. */
  stepMs: 100,
  /** Fewer calls in a window say nothing about shares. */
  minCalls: 10,
};

export interface Evenness {
  byPod: Record<string, number>;
  /** Most calls on one pod over fewest on another; null when a pod got none (infinite). */
  maxMinRatio: number | null;
  coefficientOfVariation: number;
}

/** How evenly `pods` answered: every pod counts, also one that got no call. */
export function evenness(pods: readonly string[], byPod: ReadonlyMap<string, number>): Evenness {
  const counts = new Map(pods.map((pod) => [pod, byPod.get(pod) ?? 0]));
  const replies = [...counts.values()].reduce((sum, count) => sum + count, 0);
  const spread = spreadOver(pods, { calls: replies, failures: 0, byPod: counts, byStatus: new Map() });
  return {
    byPod: Object.fromEntries(counts),
    maxMinRatio: Number.isFinite(spread.maxMinRatio) ? spread.maxMinRatio : null,
    coefficientOfVariation: spread.coefficientOfVariation,
  };
}

interface Bucket {
  calls: number;
  byPod: Map<string, number>;
}

/** Every call's end, by pod, in buckets of `bucketMs` of performance.now(). */
export class CallTimeline {
  private readonly buckets = new Map<number, Bucket>();

  constructor(readonly bucketMs = FAIR_SHARE.stepMs) {}

  record(call: Pick<CallRecord, 'endedAt' | 'pod'>): void {
    const key = Math.floor(call.endedAt / this.bucketMs);
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = { calls: 0, byPod: new Map() }));
    bucket.calls++;
    if (call.pod !== undefined) bucket.byPod.set(call.pod, (bucket.byPod.get(call.pod) ?? 0) + 1);
  }

  /** Calls that ended in the buckets from the one holding `from` up to, not including, the one holding `to`. */
  window(from: number, to: number): { calls: number; byPod: Map<string, number> } {
    const sum = { calls: 0, byPod: new Map<string, number>() };
    for (let key = Math.floor(from / this.bucketMs); key < Math.floor(to / this.bucketMs); key++) {
      const bucket = this.buckets.get(key);
      if (!bucket) continue;
      sum.calls += bucket.calls;
      for (const [pod, count] of bucket.byPod) sum.byPod.set(pod, (sum.byPod.get(pod) ?? 0) + count);
    }
    return sum;
  }
}

/**
 * Seconds from `from` until the start of the first window (whole buckets, the first starting at or after `from`,
 * the last ending by `until`) in which `pod` answered at least FAIR_SHARE.share of the calls; undefined if none did.
 */
export function fairShareAfter(
  timeline: CallTimeline,
  pod: string,
  from: number,
  until: number,
  rule: FairShareRule = FAIR_SHARE,
): number | undefined {
  const step = timeline.bucketMs;
  for (let start = Math.ceil(from / step) * step; start + rule.windowMs <= until; start += step) {
    const { calls, byPod } = timeline.window(start, start + rule.windowMs);
    if (calls >= rule.minCalls && (byPod.get(pod) ?? 0) / calls >= rule.share) return (start - from) / 1000;
  }
  return undefined;
}

/** Calls that ended while a phase ran. */
class Phase {
  calls = 0;
  failures = 0;
  readonly byPod = new Map<string, number>();
  readonly byStatus = new Map<string, number>();
  readonly latencies: number[] = [];
  firstFailureAt?: number;
  lastFailureAt?: number;

  constructor(readonly startedAt = performance.now()) {}

  record(call: CallRecord): void {
    this.calls++;
    this.latencies.push(call.ms);
    if (call.status === grpc.status.OK) {
      this.byPod.set(call.pod!, (this.byPod.get(call.pod!) ?? 0) + 1);
      return;
    }
    this.failures++;
    const status = grpc.status[call.status] ?? String(call.status);
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    this.firstFailureAt ??= call.endedAt;
    this.lastFailureAt = call.endedAt;
  }
}

export interface PathFigures {
  path: string;
  stands: string;
  target: string;
  lb: string;
  via: string;
  steady: {
    seconds: number;
    calls: number;
    failures: number;
    callsPerSecond: number;
    p50Ms: number;
    p99Ms: number;
  } & Evenness;
  fourthPod: {
    pod: string;
    /** Seconds from listening until its fair share; null: not within `waitedSeconds`. */
    fairShareAfterSeconds: number | null;
    waitedSeconds: number;
    /** Its share of the calls in the last whole second of the wait. */
    lastSecondShare: number;
  };
  rollout: {
    pods: number;
    /** From the first replacement's start to the end of the settle time. */
    seconds: number;
    calls: number;
    failures: number;
    failedShare: number;
    byStatus: Record<string, number>;
    /** First to last failed call. */
    failingSeconds: number;
    /** Calls still failed within the settle time when the recovery wait ran out. */
    stillFailing: boolean;
    steps: RestartFigures[];
  };
  /** The first few failures, as `STATUS: details`. */
  errors: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const POLL_MS = 100;
const POD_COUNT = 3;

/**
 * Runs the scenario on one path and returns its figures; `progress` gets a line per phase. Everything it starts is
 * stopped before it returns or throws; `stoppers` holds what is running meanwhile, for a caller that must stop it
 * sooner (a time limit).
 */
export async function runStrategyPath(
  path: StrategyPath,
  scenario: Scenario,
  progress: (line: string) => void,
  stoppers = new Set<() => Promise<void>>(),
): Promise<PathFigures> {
  const say = (line: string) => progress(`[${path.name}] ${line}`);
  // The fourth pod and the rollout's replacements of all four start with the first three, before any load.
  const pods = await LoopbackPods.start(POD_COUNT, path.podEnv, { spares: 1 + (POD_COUNT + 1) });
  const stopPods = () => pods.stop();
  stoppers.add(stopPods);
  try {
    const running = await path.start(pods.pods);
    stoppers.add(running.stop);
    try {
      say(`${describePods(pods.pods)} via ${running.via}; client: ${running.lb} to ${running.target}`);
      const timeline = new CallTimeline();
      let phase: Phase | undefined;
      const load = startLoad({
        target: running.target,
        concurrency: scenario.concurrency,
        createClient: (target) => createGreeterClient({ ...defaultSettings(clientSettings), target, lb: running.lb }),
        onCall: (call) => {
          timeline.record(call);
          phase?.record(call);
        },
      });
      const stopLoad = async () => void (await load.stop());
      stoppers.add(stopLoad);
      try {
        await sleep(scenario.warmupMs);
        const steady = (phase = new Phase());
        await sleep(scenario.steadyMs);
        phase = undefined;
        const steadyFigures = steadyOf(
          steady,
          pods.pods.map((pod) => pod.name),
        );
        say(
          `steady ${steadyFigures.seconds.toFixed(1)} s: ${Math.round(steadyFigures.callsPerSecond)} calls/s, p50 ${steadyFigures.p50Ms.toFixed(2)} ms, p99 ${steadyFigures.p99Ms.toFixed(2)} ms, ` +
            `${steadyFigures.failures} failed; per pod ${Object.values(steadyFigures.byPod).join('/')} (max/min ${formatRatio(steadyFigures.maxMinRatio)}, CV ${steadyFigures.coefficientOfVariation.toFixed(2)})`,
        );

        // From the moment it is ready: how fast the path's control plane tells the client is part of the figure.
        const fourth = await pods.add();
        const addedAt = performance.now();
        await running.added(fourth);
        let fairShare: number | undefined;
        while (
          (fairShare = fairShareAfter(timeline, fourth.name, addedAt, performance.now())) === undefined &&
          performance.now() - addedAt < scenario.fairShareWaitMs
        ) {
          await sleep(POLL_MS);
        }
        const waitedMs = performance.now() - addedAt;
        const lastSecond = timeline.window(performance.now() - 1000, performance.now());
        const fourthPod = {
          pod: fourth.name,
          fairShareAfterSeconds: fairShare ?? null,
          waitedSeconds: waitedMs / 1000,
          lastSecondShare: lastSecond.calls === 0 ? 0 : (lastSecond.byPod.get(fourth.name) ?? 0) / lastSecond.calls,
        };
        say(
          `${fourth.name} added at ${fourth.host}: ${formatFairShare(fourthPod.fairShareAfterSeconds, fourthPod.waitedSeconds)} (its share of the last second: ${(fourthPod.lastSecondShare * 100).toFixed(0)}%)`,
        );

        const rolling = (phase = new Phase());
        const rolloutPods = pods.pods.length;
        const steps = await pods.rollOut(load, running);
        const lastStepAt = performance.now();
        const quietFor = () => performance.now() - Math.max(lastStepAt, rolling.lastFailureAt ?? 0);
        while (quietFor() < scenario.settleMs && performance.now() - lastStepAt < scenario.recoveryWaitMs)
          await sleep(POLL_MS);
        phase = undefined;
        const rollout = {
          pods: rolloutPods,
          seconds: (performance.now() - rolling.startedAt) / 1000,
          calls: rolling.calls,
          failures: rolling.failures,
          failedShare: rolling.calls === 0 ? 0 : rolling.failures / rolling.calls,
          byStatus: Object.fromEntries(rolling.byStatus),
          failingSeconds:
            rolling.firstFailureAt === undefined ? 0 : (rolling.lastFailureAt! - rolling.firstFailureAt) / 1000,
          stillFailing: quietFor() < scenario.settleMs,
          steps,
        };
        const statuses =
          rollout.failures === 0
            ? ''
            : `; ${formatStatuses(rollout.byStatus)}, over ${rollout.failingSeconds.toFixed(1)} s`;
        say(
          `rollout of ${rolloutPods} pods in ${rollout.seconds.toFixed(1)} s: failed calls ${formatRollout(rollout)}${statuses}`,
        );
        const { errors } = await load.stop();
        return {
          path: path.name,
          stands: path.stands,
          target: running.target,
          lb: running.lb,
          via: running.via,
          steady: steadyFigures,
          fourthPod,
          rollout,
          errors,
        };
      } finally {
        await stopLoad();
        stoppers.delete(stopLoad);
      }
    } finally {
      await running.stop();
      stoppers.delete(running.stop);
    }
  } finally {
    await stopPods();
    stoppers.delete(stopPods);
  }
}

function steadyOf(steady: Phase, pods: readonly string[]): PathFigures['steady'] {
  const seconds = (performance.now() - steady.startedAt) / 1000;
  const sorted = Float64Array.from(steady.latencies).sort();
  return {
    seconds,
    calls: steady.calls,
    failures: steady.failures,
    callsPerSecond: steady.calls / seconds,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    ...evenness(pods, steady.byPod),
  };
}

function describePods(pods: readonly PodAddress[]): string {
  return `${pods.length} pods on ${pods.map((pod) => pod.host).join(', ')} port ${pods[0].port}`;
}

export function formatRatio(ratio: number | null): string {
  return ratio === null ? '∞' : ratio.toFixed(2);
}

export function formatFairShare(seconds: number | null, waitedSeconds: number): string {
  return seconds === null ? `never within ${waitedSeconds.toFixed(0)} s` : `${seconds.toFixed(1)} s`;
}

/** `12 of 3456 (0.3%)`, and whether calls still failed at the end. */
export function formatRollout(
  rollout: Pick<PathFigures['rollout'], 'failures' | 'calls' | 'failedShare' | 'stillFailing'>,
): string {
  const share =
    rollout.failures === 0 ? '' : ` (${(rollout.failedShare * 100).toFixed(rollout.failedShare < 0.01 ? 2 : 0)}%)`;
  return `${rollout.failures} of ${rollout.calls}${share}${rollout.stillFailing ? ', still failing' : ''}`;
}

function formatStatuses(byStatus: Record<string, number>): string {
  return Object.entries(byStatus)
    .map(([status, count]) => `${status} ${count}`)
    .join(', ');
}
