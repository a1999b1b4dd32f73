/**
 * One strategy path (harness/strategy-paths.ts) through two scenarios, for the strategies benchmark and its test:
 * greeter pods on their own loopback addresses, the strategy's rendered client (createGreeterClient with its
 * settings: one channel, calls back to back) and
 * - the rollout race, as clusters do it: every pod replaced while the data plane learns of each change only after
 *   its lag, new pods join after their readiness period, and an old pod gets SIGTERM when its preStop sleep ends
 *   (how many calls fail);
 * - today's scenario: a steady phase (calls/s, p50 and p99, how evenly three pods share the calls), a fourth pod
 *   added (how long until it gets its fair share), then every pod replaced at once, each leaving the data plane
 *   before its SIGTERM (how many calls fail).
 * A phase lasts a time (the benchmark's figures per second) or a number of calls (the test's, which waits for
 * events only). The figures are computed by the exported functions below, which the test checks on known counts.
 */
import * as grpc from '@grpc/grpc-js';
import { clientSettings, createGreeterClient } from '../app/client';
import { defaultSettings } from '../app/config';
import { quantile, startLoad, type CallRecord, type Load } from './load';
import { LoopbackPods, type PodAddress, type PodPlacement, type RaceStep, type RolloutHooks } from './pods';
import type { RestartFigures } from './faults';
import { spreadOver } from './spread';
import {
  DATA_PLANES,
  renderedClient,
  renderedServer,
  type DataPlaneName,
  type RenderedClient,
  type RunningPath,
  type StrategyPath,
} from './strategy-paths';

/** How long a phase lasts: a time, or until this many calls have ended in it. */
export type Until = { readonly ms: number } | { readonly calls: number };

/**
 * When a rollout's count ends: when no call has failed for `quietMs`, but at most `maxMs` after its last step (then
 * calls are "still failing"); or once `calls` more calls have ended after its last step.
 */
export type Settle = { readonly quietMs: number; readonly maxMs: number } | { readonly calls: number };

/** Today's scenario. */
export interface Scenario {
  /** Calls in flight on the client's one channel. */
  concurrency: number;
  /** Calls before the steady phase, not counted (round_robin connects to every pod meanwhile); with calls: successful ones. */
  warmup: Until;
  steady: Until;
  /**
   * The fourth pod: with ms, the longest wait for its fair share from when it joins; with calls, the calls after it
   * joins whose share it answered is its figure.
   */
  fourthPod: Until;
  settle: Settle;
}

/** The rollout race. */
export interface RaceScenario {
  concurrency: number;
  /** Each caller's pause after each call: a paced load, so that every path can race at once on the same cores. */
  pauseMs: number;
  warmup: Until;
  settle: Settle;
  /** Each data plane's lag, in cluster time (DATA_PLANES' by default). */
  lagsMs: Readonly<Record<DataPlaneName, number>>;
  /** A new pod's readiness period, in cluster time. @default the rendered greeter's readiness probe period */
  readinessMs?: number;
}

/**
 * Where the race's pods run: it counts failed calls, not speed, so its greeter servers share this process (each
 * still on its own address, drained by GreeterServer.shutdown as its SIGTERM handler does) instead of starting a
 * process each, which would cost every path seconds of two shared cores.
 */
export const RACE_PLACEMENT: PodPlacement = 'this process';

/** Generous bounds for waits on events: they only catch a hang. */
const CALLS_BOUND_MS = 60_000;

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
  successes = 0;
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
      this.successes++;
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

/** Calls counted while pods were replaced, and whether they still failed at the end. */
export interface RolloutCounts {
  pods: number;
  /** From the first step's start to the end of the settle time. */
  seconds: number;
  calls: number;
  failures: number;
  failedShare: number;
  byStatus: Record<string, number>;
  /** First to last failed call. */
  failingSeconds: number;
  /** Calls failed after the last step, until the settle ended. */
  stillFailing: boolean;
}

export interface PathFigures {
  path: string;
  stands: string;
  strategy: string;
  target: string;
  lb: string;
  via: string;
  /** The rendered client's settings the load ran with. */
  client: RenderedClient;
  race: RolloutCounts & {
    /** What learns of the changes late, and how late. */
    dataPlane: { name: DataPlaneName; lagMs: number; source: string };
    /** A new pod's readiness period, and an old pod's preStop sleep (the rendered greeter's). */
    readinessMs: number;
    drainDelayMs: number;
    steps: RaceStep[];
  };
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
    /** Seconds from joining until its fair share; null: not within `waitedSeconds`, or its share was counted in calls. */
    fairShareAfterSeconds: number | null;
    waitedSeconds: number;
    /** Its share of the calls that ended in the last whole second of the wait, or of the calls counted. */
    share: number;
  };
  rollout: RolloutCounts & { steps: RestartFigures[] };
  /** The first few failures of each scenario, as `STATUS: details`. */
  errors: { race: string[]; rollout: string[] };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const POLL_MS = 100;
const POD_COUNT = 3;

/**
 * A data plane that acts on each change `lagMs` after it is told, one change after the other in the order told: the
 * returned hooks resolve once the change has reached it.
 */
export function lagged(hooks: RolloutHooks, lagMs: number): RolloutHooks {
  let applied: Promise<void> = Promise.resolve();
  const later = (apply: () => Promise<void>) => sleep(lagMs).then(() => (applied = applied.then(apply, apply)));
  return { added: (pod) => later(() => hooks.added(pod)), removing: (pod) => later(() => hooks.removing(pod)) };
}

export interface PathRunOptions {
  /** Multiplies every duration that stands for cluster time. @default 1 */
  timeScale?: number;
  /**
   * Without what the strategies render against the race: no preStop sleep, and the client's own defaults (one
   * attempt, no waitForReady, grpc-js's 30 s between DNS resolutions) instead of the rendered client's.
   */
  withoutFixes?: boolean;
}

/**
 * One path as it runs: its pods (three in rotation, spares started ahead), its control or data plane, and the
 * strategy's rendered client settings. `timeScale` multiplies every duration that stands for cluster time (the
 * pods' max connection age where the strategy renders one, the client's time between DNS resolutions, and in the
 * race the lags, readiness period and preStop sleep), so a short run keeps the proportions. Everything it starts is
 * stopped by `stop`; `stoppers` holds its stop meanwhile, for a caller that must stop it sooner (a time limit).
 */
export class PathRun {
  private constructor(
    readonly path: StrategyPath,
    private readonly pods: LoopbackPods,
    private readonly running: RunningPath,
    readonly client: RenderedClient,
    private readonly timeScale: number,
    private readonly withoutFixes: boolean,
    private readonly say: (line: string) => void,
    private readonly stoppers: Set<() => Promise<void>>,
  ) {}

  /** Starts the path on pods of its own: three in rotation and `spares`. */
  static async start(
    path: StrategyPath,
    options: PathRunOptions & {
      spares: number;
      /** @default 'processes' (today's rollout restarts processes) */
      placement?: PodPlacement;
    },
    progress: (line: string) => void,
    stoppers = new Set<() => Promise<void>>(),
  ): Promise<PathRun> {
    const timeScale = options.timeScale ?? 1;
    const say = (line: string) => progress(`[${path.name}] ${line}`);
    const pods = await LoopbackPods.start(POD_COUNT, path.podEnv(timeScale), {
      spares: options.spares,
      placement: options.placement,
    });
    const stopPods = () => pods.stop();
    stoppers.add(stopPods);
    let running: RunningPath;
    try {
      running = await path.start(pods.pods);
    } catch (error) {
      await stopPods();
      stoppers.delete(stopPods);
      throw error;
    }
    stoppers.delete(stopPods);
    const withoutFixes = options.withoutFixes ?? false;
    const rendered = renderedClient(path.strategy);
    const { maxAttempts, waitForReady } = defaultSettings(clientSettings);
    const client: RenderedClient = withoutFixes
      ? { target: running.target, lb: running.lb, maxAttempts, waitForReady, dnsMinTimeBetweenResolutionsMs: undefined }
      : {
          ...rendered,
          target: running.target,
          lb: running.lb,
          ...(rendered.dnsMinTimeBetweenResolutionsMs !== undefined && {
            dnsMinTimeBetweenResolutionsMs: Math.round(rendered.dnsMinTimeBetweenResolutionsMs * timeScale),
          }),
        };
    const run = new PathRun(path, pods, running, client, timeScale, withoutFixes, say, stoppers);
    stoppers.add(run.stop);
    say(`${describePods(pods.pods)} via ${running.via}; client: ${describeClient(client)}`);
    return run;
  }

  /** Starts more spares side by side, for the next scenario. */
  startSpares(count: number): Promise<void> {
    return this.pods.startSpares(count);
  }

  /**
   * The rollout race: every pod in rotation replaced as clusters do it (LoopbackPods.raceRollOut), the path's data
   * plane acting on each change after its lag, and the calls that fail meanwhile.
   */
  async race(scenario: RaceScenario): Promise<PathFigures['race'] & { errors: string[] }> {
    const server = renderedServer(this.path.strategy);
    const scaled = (ms: number) => Math.round(ms * this.timeScale);
    const dataPlane = {
      name: this.path.dataPlane,
      lagMs: scaled(scenario.lagsMs[this.path.dataPlane]),
      source: DATA_PLANES[this.path.dataPlane].source,
    };
    const timing = {
      readinessMs: scaled(scenario.readinessMs ?? server.readinessPeriodMs),
      drainDelayMs: this.withoutFixes ? 0 : scaled(server.drainDelayMs),
    };
    return this.withLoad(scenario.concurrency, scenario.pauseMs, async (load, phases) => {
      await phases.lasting(scenario.warmup, 'warm-up', true);
      const rolling = phases.begin();
      const pods = this.pods.pods.length;
      this.say(
        `race: ${pods} pods replaced, each new one ready after ${seconds(timing.readinessMs)}, each old one signalled ${seconds(timing.drainDelayMs)} after it leaves the endpoints; ${dataPlane.name} acts ${seconds(dataPlane.lagMs)} after each change`,
      );
      const steps = await this.pods.raceRollOut(lagged(this.running, dataPlane.lagMs), timing);
      const counts = await phases.settle(scenario.settle, rolling, pods);
      this.say(`race: ${describeRollout(counts)}`);
      const { errors } = await load.stop();
      return { ...counts, dataPlane, ...timing, steps, errors };
    });
  }

  /** Today's scenario: steady, a fourth pod, every pod replaced at once. */
  async measure(
    scenario: Scenario,
  ): Promise<Pick<PathFigures, 'steady' | 'fourthPod' | 'rollout'> & { errors: string[] }> {
    return this.withLoad(scenario.concurrency, 0, async (load, phases) => {
      await phases.lasting(scenario.warmup, 'warm-up', true);
      const steadyPhase = phases.begin();
      await phases.lasting(scenario.steady, 'steady');
      phases.end();
      const steady = steadyOf(
        steadyPhase,
        this.pods.pods.map((pod) => pod.name),
      );
      this.say(
        `steady ${steady.seconds.toFixed(1)} s, ${steady.calls} calls: ${Math.round(steady.callsPerSecond)} calls/s, p50 ${steady.p50Ms.toFixed(2)} ms, p99 ${steady.p99Ms.toFixed(2)} ms, ` +
          `${steady.failures} failed; per pod ${Object.values(steady.byPod).join('/')} (max/min ${formatRatio(steady.maxMinRatio)}, CV ${steady.coefficientOfVariation.toFixed(2)})`,
      );

      // From the moment it is ready: how fast the path's control plane tells the client is part of the figure.
      const fourth = await this.pods.add();
      const addedAt = performance.now();
      await this.running.added(fourth);
      const fourthPod = await phases.fourthPod(scenario.fourthPod, fourth.name, addedAt);
      this.say(
        `${fourth.name} added at ${fourth.host}: ${formatFairShare(fourthPod.fairShareAfterSeconds, fourthPod.waitedSeconds)} (its share of ${'ms' in scenario.fourthPod ? 'the last second' : `${scenario.fourthPod.calls} calls`}: ${(fourthPod.share * 100).toFixed(0)}%)`,
      );

      const rolling = phases.begin();
      const pods = this.pods.pods.length;
      const steps = await this.pods.rollOut(load, this.running);
      const rollout = { ...(await phases.settle(scenario.settle, rolling, pods)), steps };
      this.say(`rollout of ${pods} pods at once: ${describeRollout(rollout)}`);
      const { errors } = await load.stop();
      return { steady, fourthPod, rollout, errors };
    });
  }

  /** What stands between the client and the pods. */
  get via(): string {
    return this.running.via;
  }

  private stopping?: Promise<void>;

  /** Stops the path's control or data plane and every pod it started; again: the same. */
  readonly stop = (): Promise<void> =>
    (this.stopping ??= (async () => {
      this.stoppers.delete(this.stop);
      try {
        await this.running.stop();
      } finally {
        await this.pods.stop();
      }
    })());

  /** Runs `body` under a fresh load of the path's client, stopped however it ends. */
  private async withLoad<T>(
    concurrency: number,
    pauseMs: number,
    body: (load: Load, phases: Phases) => Promise<T>,
  ): Promise<T> {
    const phases = new Phases();
    const load = startLoad({
      target: this.client.target,
      concurrency,
      pauseMs,
      createClient: (target) => createGreeterClient({ ...defaultSettings(clientSettings), ...this.client, target }),
      onCall: (call) => phases.record(call),
    });
    const stopLoad = async () => void (await load.stop());
    this.stoppers.add(stopLoad);
    try {
      return await body(load, phases);
    } finally {
      await stopLoad();
      this.stoppers.delete(stopLoad);
    }
  }
}

/** The calls of one load: a timeline for windows, the phase that is counting, and waits on the count. */
class Phases {
  readonly timeline = new CallTimeline();
  private current?: Phase;
  private readonly waiters = new Set<() => void>();
  /** Every call of the load so far. */
  private readonly all = new Phase();

  record(call: CallRecord): void {
    this.timeline.record(call);
    this.all.record(call);
    this.current?.record(call);
    for (const waiter of [...this.waiters]) waiter();
  }

  begin(): Phase {
    return (this.current = new Phase());
  }

  end(): void {
    this.current = undefined;
  }

  /** Resolves once `done` holds after a call ended; rejects after the bound, naming `what`. */
  whenCalls(done: () => boolean, what: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `${what}: not within ${CALLS_BOUND_MS / 1000} s (${this.all.calls} calls so far, ${this.all.failures} failed)`,
          ),
        );
      }, CALLS_BOUND_MS);
      this.waiters.add(check);
    });
  }

  /** Lets `until` pass: its time, or its calls in a phase of its own (with `successes`, successful ones). */
  async lasting(until: Until, what: string, successes = false): Promise<void> {
    if ('ms' in until) return void (await sleep(until.ms));
    const phase = this.current ?? new Phase();
    const own = this.current === undefined;
    if (own) this.current = phase;
    try {
      await this.whenCalls(() => (successes ? phase.successes : phase.calls) >= until.calls, what);
    } finally {
      if (own) this.end();
    }
  }

  async fourthPod(until: Until, pod: string, addedAt: number): Promise<PathFigures['fourthPod']> {
    if ('calls' in until) {
      const counted = this.begin();
      await this.whenCalls(() => counted.calls >= until.calls, `${until.calls} calls after ${pod} joined`);
      this.end();
      return {
        pod,
        fairShareAfterSeconds: null,
        waitedSeconds: (performance.now() - addedAt) / 1000,
        share: (counted.byPod.get(pod) ?? 0) / counted.calls,
      };
    }
    let fairShare: number | undefined;
    while (
      (fairShare = fairShareAfter(this.timeline, pod, addedAt, performance.now())) === undefined &&
      performance.now() - addedAt < until.ms
    ) {
      await sleep(POLL_MS);
    }
    const now = performance.now();
    const lastSecond = this.timeline.window(now - 1000, now);
    return {
      pod,
      fairShareAfterSeconds: fairShare ?? null,
      waitedSeconds: (now - addedAt) / 1000,
      share: lastSecond.calls === 0 ? 0 : (lastSecond.byPod.get(pod) ?? 0) / lastSecond.calls,
    };
  }

  /** Counts `rolling` on after the rollout's last step, as `settle` says, and sums it up. */
  async settle(settle: Settle, rolling: Phase, pods: number): Promise<RolloutCounts> {
    const lastStepAt = performance.now();
    if ('calls' in settle) {
      const before = rolling.calls;
      await this.whenCalls(() => rolling.calls - before >= settle.calls, `${settle.calls} calls after the rollout`);
    } else {
      const quietFor = () => performance.now() - Math.max(lastStepAt, rolling.lastFailureAt ?? 0);
      while (quietFor() < settle.quietMs && performance.now() - lastStepAt < settle.maxMs) await sleep(POLL_MS);
    }
    this.end();
    return {
      pods,
      seconds: (performance.now() - rolling.startedAt) / 1000,
      calls: rolling.calls,
      failures: rolling.failures,
      failedShare: rolling.calls === 0 ? 0 : rolling.failures / rolling.calls,
      byStatus: Object.fromEntries(rolling.byStatus),
      failingSeconds:
        rolling.firstFailureAt === undefined ? 0 : (rolling.lastFailureAt! - rolling.firstFailureAt) / 1000,
      stillFailing:
        'calls' in settle
          ? (rolling.lastFailureAt ?? 0) > lastStepAt
          : performance.now() - Math.max(lastStepAt, rolling.lastFailureAt ?? 0) < settle.quietMs,
    };
  }
}

/** Today's scenario on a path of its own: starts it, measures, stops it. */
export async function runStrategyPath(
  path: StrategyPath,
  scenario: Scenario,
  progress: (line: string) => void,
): Promise<Pick<PathFigures, 'steady' | 'fourthPod' | 'rollout' | 'client'> & { errors: string[] }> {
  const run = await PathRun.start(path, { spares: 1 + (POD_COUNT + 1) }, progress);
  try {
    return { ...(await run.measure(scenario)), client: run.client };
  } finally {
    await run.stop();
  }
}

/** The rollout race on a path of its own: starts it, races, stops it. */
export async function runRace(
  path: StrategyPath,
  scenario: RaceScenario,
  progress: (line: string) => void,
  timeScale = 1,
): Promise<PathFigures['race'] & Pick<PathFigures, 'client'> & { errors: string[] }> {
  const run = await PathRun.start(path, { spares: POD_COUNT, placement: RACE_PLACEMENT, timeScale }, progress);
  try {
    return { ...(await run.race(scenario)), client: run.client };
  } finally {
    await run.stop();
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

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;

function describePods(pods: readonly PodAddress[]): string {
  return `${pods.length} pods on ${pods.map((pod) => pod.host).join(', ')} port ${pods[0].port}`;
}

function describeClient(client: RenderedClient): string {
  const dns =
    client.dnsMinTimeBetweenResolutionsMs === undefined
      ? ''
      : `, DNS resolved at most every ${seconds(client.dnsMinTimeBetweenResolutionsMs)}`;
  return `${client.lb} to ${client.target}, ${client.maxAttempts} attempts, waitForReady ${client.waitForReady}${dns}`;
}

function describeRollout(counts: RolloutCounts): string {
  const statuses =
    counts.failures === 0
      ? ''
      : `; ${Object.entries(counts.byStatus)
          .map(([status, count]) => `${status} ${count}`)
          .join(', ')}, over ${counts.failingSeconds.toFixed(1)} s`;
  return `${counts.pods} pods in ${counts.seconds.toFixed(1)} s, failed calls ${formatRollout(counts)}${statuses}`;
}

export function formatRatio(ratio: number | null): string {
  return ratio === null ? '∞' : ratio.toFixed(2);
}

export function formatFairShare(seconds: number | null, waitedSeconds: number): string {
  return seconds === null ? `never within ${waitedSeconds.toFixed(0)} s` : `${seconds.toFixed(1)} s`;
}

/** `12 of 3456 (0.3%)`, and whether calls still failed at the end. */
export function formatRollout(
  rollout: Pick<RolloutCounts, 'failures' | 'calls' | 'failedShare' | 'stillFailing'>,
): string {
  const share =
    rollout.failures === 0 ? '' : ` (${(rollout.failedShare * 100).toFixed(rollout.failedShare < 0.01 ? 2 : 0)}%)`;
  return `${rollout.failures} of ${rollout.calls}${share}${rollout.stillFailing ? ', still failing' : ''}`;
}
