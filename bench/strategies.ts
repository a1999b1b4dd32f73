/**
 * Every load-balancing strategy whose data plane runs on this machine, side by side, with the same greeter pods and
 * the same client load: prints figures, is not a test.
 *
 *   npm run bench:strategies -- [--quick] [--paths L4,L7,…] [--concurrency N] [--max-connection-age-ms N]
 *     [--lag-<data plane>-ms N …] [--readiness-ms N] [--time-scale X] [--json PATH]
 *
 * Each path (harness/strategy-paths.ts) runs its strategy's rendered greeter and client (harness/strategy-run.ts:
 * greeter pods on their own loopback addresses, one port; the client's one channel with --concurrency calls in
 * flight back to back, its rendered settings) through two scenarios:
 * - the race, as clusters roll pods: every pod replaced while each data plane (kube-proxy, ingress-nginx, cluster
 *   DNS, the EndpointSlice watch, istiod) learns of each change only after its lag; new pods join after their
 *   readiness period; an old pod leaves the endpoints and its preStop sleep starts at once, then SIGTERM. The race
 *   runs on every path at once: it counts failed calls, not speed, and waits out cluster time that would otherwise
 *   add up to minutes.
 * - today's, one path at a time: steady (calls/s, p50 and p99, how evenly three pods answered), a fourth pod (seconds
 *   until it answers ≥ 20% of the calls in a 1 s window), then every pod replaced at once, each taken out of the
 *   data plane before its SIGTERM, and how many calls failed meanwhile.
 * It stops by itself within 5 minutes (90 s with --quick, which leaves DNS+age and ambient out unless --paths names
 * them and runs the race at a fifth of cluster time) and writes bench/results/strategies.json.
 *
 * Exit codes: 0 done, 1 a path failed or the time ran out, 2 a tool is missing or a bad argument.
 */
// First: grpc-js must read GRPC_NODE_USE_ALTERNATIVE_RESOLVER as it loads, so the DNS paths can name their server.
import '../harness/dns-authority';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import * as path from 'node:path';
import {
  ConfigError,
  INVALID,
  boolean,
  integer,
  setting,
  text,
  type Parser,
  type SettingSpec,
  type Settings,
} from '../app/config';
import { DNSMASQ } from '../harness/dnsmasq';
import { NGINX } from '../harness/nginx';
import { ROOT } from '../harness/processes';
import { runScript } from '../harness/script';
import {
  FAIR_SHARE,
  PathRun,
  RACE_PLACEMENT,
  formatFairShare,
  formatRatio,
  formatRollout,
  type PathFigures,
  type RaceScenario,
  type Scenario,
} from '../harness/strategy-run';
import {
  DATA_PLANES,
  ambientPath,
  dnsPath,
  renderedServer,
  strategyPaths,
  type DataPlaneName,
  type StrategyPath,
} from '../harness/strategy-paths';
import { fmtMs, table } from './h2load';

const DATA_PLANE_NAMES = Object.keys(DATA_PLANES) as DataPlaneName[];
type LagKey = `lag:${DataPlaneName}`;

/** A flag per data plane: its lag in the race, its cluster default and where that comes from. */
const lagSettings = Object.fromEntries(
  DATA_PLANE_NAMES.map((name) => [
    `lag:${name}`,
    setting({
      flag: `lag-${name}-ms`,
      parser: integer(0, 600_000),
      default: DATA_PLANES[name].lagMs as number,
      help: `in the race, ${name} acts on an EndpointSlice change this long after it (${DATA_PLANES[name].source})`,
    }),
  ]),
) as Record<LagKey, SettingSpec<number>>;

/** A number from 0.05 to 1. */
const scale: Parser<number> = {
  expected: 'a number from 0.05 to 1',
  parse: (raw) => {
    const value = Number(raw);
    return /^\d*\.?\d+$/.test(raw.trim()) && value >= 0.05 && value <= 1 ? value : INVALID;
  },
};

const benchSettings = {
  quick: setting({
    flag: 'quick',
    parser: boolean,
    default: false,
    help: 'short phases and the race at a fifth of cluster time: done within 90 s instead of 5 minutes',
  }),
  paths: setting({
    flag: 'paths',
    parser: text,
    default: undefined as string | undefined,
    help: `comma-separated path names (${strategyPaths({ maxConnectionAgeMs: 1 })
      .map((p) => p.name)
      .join(', ')}), or all (the default, but for what --quick leaves out: ${quickLeavesOut().join(', ')})`,
  }),
  concurrency: setting({
    flag: 'concurrency',
    parser: integer(1, 1000),
    default: 16,
    help: "calls in flight on the client's one channel",
  }),
  raceConcurrency: setting({
    flag: 'race-concurrency',
    parser: integer(1, 1000),
    default: 4,
    help: "callers on each path's channel in the race, each pausing --race-pause-ms after each call: every path races at once on the same cores",
  }),
  racePauseMs: setting({
    flag: 'race-pause-ms',
    parser: integer(0, 10_000),
    default: 20,
    help: "each race caller's pause after each call",
  }),
  maxConnectionAgeMs: setting({
    flag: 'max-connection-age-ms',
    parser: integer(100, 60_000),
    default: 500,
    help: 'MAX_CONNECTION_AGE_MS of the pods on the L4+age path: short, so several ages pass within a run',
  }),
  ...lagSettings,
  readinessMs: setting({
    flag: 'readiness-ms',
    parser: integer(0, 600_000),
    default: undefined as number | undefined,
    defaultHelp: "the rendered greeter's readiness probe period",
    help: 'in the race, how long a new pod waits before it joins the endpoints',
  }),
  timeScale: setting({
    flag: 'time-scale',
    parser: scale,
    default: undefined as number | undefined,
    defaultHelp: '1, or 0.2 with --quick',
    help: "multiplies every duration that stands for cluster time in the race (lags, readiness, preStop sleeps, the client's time between DNS resolutions, the headless strategy's max connection age)",
  }),
  withoutFixes: setting({
    flag: 'without-fixes',
    parser: boolean,
    default: false,
    help: "without what the strategies render against the race, to see what it costs: no preStop sleep, and the client's own defaults (one attempt, no waitForReady, grpc-js's 30 s between DNS resolutions)",
  }),
  json: setting({
    flag: 'json',
    parser: text,
    default: path.join(ROOT, 'bench', 'results', 'strategies.json'),
    help: 'where to write the figures as JSON',
  }),
};
type BenchConfig = Settings<typeof benchSettings>;

/** Time left, at the limit, to stop what runs. */
const STOP_GRACE_MS = 5000;
/** Pods in rotation on every path, and the spares each scenario replaces them with. */
const POD_COUNT = 3;
/** Today's scenario adds a fourth pod, then replaces all four. */
const TODAY_SPARES = 1 + (POD_COUNT + 1);

/**
 * What a quick run leaves out unless --paths names it: DNS+age, whose fourth pod waits a max connection age (10 s)
 * that quick phases do not reach, and ambient, whose figures are L7's behind one more hop, so the time goes to the
 * paths that differ.
 */
function quickLeavesOut(): string[] {
  return [dnsPath({ aged: true }).name, ambientPath().name];
}

/**
 * The longest wait for the fourth pod's fair share in a full run: a DNS client learns of it when a connection ages
 * out (the headless strategy's max connection age, grpc-js jitters it by +10%), and the share shows within a window.
 */
function fullFairShareWaitMs(): number {
  return Math.ceil(renderedServer('headless').maxConnectionAgeMs! * 1.1) + 2 * FAIR_SHARE.windowMs;
}

type Mode = {
  scenario: Omit<Scenario, 'concurrency'>;
  race: Omit<RaceScenario, 'concurrency' | 'pauseMs' | 'lagsMs' | 'readinessMs'>;
  timeScale: number;
  leavesOut: readonly string[];
  limitMs: number;
};

/**
 * The race begins once every path's client has answered calls: every path starts its load at once, and an xDS
 * client first needs its resources from the control plane.
 */
const RACE_WARMUP = { calls: 100 };

/** Each mode's phases, the paths it runs when --paths is not given, and the time the whole run must end within. */
function modes(): Record<'full' | 'quick', Mode> {
  return {
    // After a rollout, 2 s without a failed call ends the count, or 35 s.
    full: {
      scenario: {
        warmup: { ms: 1000 },
        steady: { ms: 5000 },
        fourthPod: { ms: fullFairShareWaitMs() },
        settle: { quietMs: 2000, maxMs: 35_000 },
      },
      race: { warmup: RACE_WARMUP, settle: { quietMs: 2000, maxMs: 35_000 } },
      timeScale: 1,
      leavesOut: [],
      limitMs: 300_000,
    },
    // Starting each path's 8 pods takes about 4 s of the 90 on 2 shared cores, and loading grpc-js-xds 1 s more.
    quick: {
      scenario: {
        warmup: { ms: 500 },
        steady: { ms: 1500 },
        fourthPod: { ms: 3000 },
        settle: { quietMs: 500, maxMs: 2000 },
      },
      race: { warmup: RACE_WARMUP, settle: { quietMs: 500, maxMs: 5000 } },
      timeScale: 0.2,
      leavesOut: quickLeavesOut(),
      limitMs: 90_000,
    },
  };
}

function choosePaths(
  all: readonly StrategyPath[],
  list: string | undefined,
  leavesOut: readonly string[],
): StrategyPath[] {
  if (list === undefined) return all.filter((p) => !leavesOut.includes(p.name));
  if (list === 'all') return [...all];
  return list.split(',').map((name) => {
    const found = all.find((p) => p.name.toLowerCase() === name.trim().toLowerCase());
    if (!found)
      throw new ConfigError('--paths', list, `a comma-separated list of ${all.map((p) => p.name).join(', ')}, or all`);
    return found;
  });
}

function toolVersion(command: string, args: string[], pattern: RegExp): string {
  const run = spawnSync(command, args, { encoding: 'utf8' });
  return pattern.exec(`${run.stdout}${run.stderr}`)?.[1] ?? 'unknown';
}

function versions() {
  const packageVersion = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
  return {
    node: process.version,
    grpcJs: packageVersion('@grpc/grpc-js'),
    grpcJsXds: packageVersion('@grpc/grpc-js-xds'),
    kubernetesClient: packageVersion('@kubernetes/client-node'),
    nginx: toolVersion(NGINX, ['-v'], /nginx\/(\S+)/),
    dnsmasq: toolVersion(DNSMASQ, ['--version'], /Dnsmasq version (\S+)/),
  };
}

function machine() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    loadAverageAtStart: loadavg().map((l) => Number(l.toFixed(2))),
  };
}

/** A path's figures as far as it got. */
type SoFar = Pick<PathFigures, 'path' | 'stands' | 'strategy' | 'target' | 'lb' | 'via' | 'client'> &
  Partial<Pick<PathFigures, 'race' | 'steady' | 'fourthPod' | 'rollout'>> & { errors: Partial<PathFigures['errors']> };

/** What a path's figures start with: what it is and what its client dials. */
function describeRun(run: PathRun): SoFar {
  return {
    path: run.path.name,
    stands: run.path.stands,
    strategy: run.path.strategy,
    target: run.client.target,
    lb: run.client.lb,
    via: run.via,
    client: run.client,
    errors: {},
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;

function raceReport(results: readonly SoFar[]): string {
  const rows = [
    ['path', 'stands for', 'data plane lag', 'readiness', 'preStop sleep', 'race: failed calls'],
    ...results.flatMap((r) =>
      r.race === undefined
        ? []
        : [
            [
              r.path,
              r.stands,
              `${r.race.dataPlane.name} ${seconds(r.race.dataPlane.lagMs)}`,
              seconds(r.race.readinessMs),
              seconds(r.race.drainDelayMs),
              formatRollout(r.race),
            ],
          ],
    ),
  ];
  return table(rows);
}

function todayReport(results: readonly SoFar[]): string {
  const rows = [
    [
      'path',
      'stands for',
      'calls/s',
      'p50 ms',
      'p99 ms',
      'failed',
      'max/min',
      'CV',
      '4th pod fair share',
      'rollout: failed calls',
    ],
    ...results.flatMap((r) =>
      r.steady === undefined || r.fourthPod === undefined || r.rollout === undefined
        ? []
        : [
            [
              r.path,
              r.stands,
              String(Math.round(r.steady.callsPerSecond)),
              fmtMs(r.steady.p50Ms),
              fmtMs(r.steady.p99Ms),
              String(r.steady.failures),
              formatRatio(r.steady.maxMinRatio),
              r.steady.coefficientOfVariation.toFixed(2),
              formatFairShare(r.fourthPod.fairShareAfterSeconds, r.fourthPod.waitedSeconds),
              formatRollout(r.rollout),
            ],
          ],
    ),
  ];
  return table(rows);
}

async function bench(config: BenchConfig): Promise<number> {
  const mode = modes()[config.quick ? 'quick' : 'full'];
  const timeScale = config.timeScale ?? mode.timeScale;
  const lagsMs = Object.fromEntries(DATA_PLANE_NAMES.map((name) => [name, config[`lag:${name}`]])) as Record<
    DataPlaneName,
    number
  >;
  const scenario: Scenario = { ...mode.scenario, concurrency: config.concurrency };
  const race: RaceScenario = {
    ...mode.race,
    concurrency: config.raceConcurrency,
    pauseMs: config.racePauseMs,
    lagsMs,
    ...(config.readinessMs !== undefined && { readinessMs: config.readinessMs }),
  };
  const paths = choosePaths(
    strategyPaths({ maxConnectionAgeMs: config.maxConnectionAgeMs }),
    config.paths,
    mode.leavesOut,
  );
  const missing = paths.flatMap((p) => (p.missing() ? [`${p.name}: ${p.missing()}`] : []));
  if (missing.length > 0) {
    process.stderr.write(`bench:strategies: ${missing.join('\n')}\n`);
    return 2;
  }
  const started = performance.now();
  const machineAtStart = machine();
  const results = new Map<string, SoFar>();
  const log = (line: string) =>
    process.stdout.write(`${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s  ${line}\n`);
  /** The tables and the JSON of what is done so far; `notRun` names the paths without every figure. */
  const finish = () => {
    const done = [...results.values()];
    const notRun = paths
      .map((p) => p.name)
      .filter((name) => results.get(name)?.race === undefined || results.get(name)?.rollout === undefined);
    if (done.some((r) => r.race !== undefined)) process.stdout.write(`\nThe race:\n${raceReport(done)}\n`);
    if (done.some((r) => r.rollout !== undefined))
      process.stdout.write(`\nToday's scenario:\n${todayReport(done)}\n\n`);
    const json = {
      time: new Date().toISOString(),
      command: `npm run bench:strategies --${process.argv
        .slice(2)
        .map((arg) => ` ${arg}`)
        .join('')}`,
      seconds: (performance.now() - started) / 1000,
      machine: machineAtStart,
      versions: versions(),
      scenarios: {
        race: { ...race, pods: POD_COUNT, timeScale, dataPlanes: DATA_PLANES, withoutFixes: config.withoutFixes },
        today: { ...scenario, pods: POD_COUNT, fairShare: FAIR_SHARE, maxConnectionAgeMs: config.maxConnectionAgeMs },
      },
      results: done,
      ...(notRun.length > 0 && { notRun }),
    };
    mkdirSync(path.dirname(config.json), { recursive: true });
    writeFileSync(config.json, `${JSON.stringify(json, null, 2)}\n`);
    log(
      `wrote ${path.relative(process.cwd(), config.json)}${notRun.length > 0 ? ` without every figure of ${notRun.join(', ')}` : ''}`,
    );
  };
  const stoppers = new Set<() => Promise<void>>();
  // The phases are bounded, but a busy machine stretches process starts and drains: the limit (counted from the
  // process's start) holds regardless.
  const watchdog = setTimeout(
    () => {
      log(`out of time: the ${mode.limitMs / 1000} s are up (a busy machine?); stopping what runs`);
      finish();
      const stopped = Promise.allSettled([...stoppers].map((stop) => stop()));
      void Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS))]).then(() =>
        process.exit(1),
      );
    },
    mode.limitMs - STOP_GRACE_MS - process.uptime() * 1000,
  );
  const runs: PathRun[] = [];
  try {
    log(
      `${paths.length} paths (${paths.map((p) => p.name).join(', ')}), ${POD_COUNT} pods each, ${scenario.concurrency} calls in flight on one channel; ` +
        `first the race on every path at once (cluster time × ${timeScale}), then today's scenario one path at a time; done within ${mode.limitMs / 1000} s`,
    );
    // The race on every path at once, its pods in this process (RACE_PLACEMENT): it waits out cluster time.
    const racers = await Promise.all(
      paths.map((strategyPath) =>
        PathRun.start(
          strategyPath,
          { spares: POD_COUNT, placement: RACE_PLACEMENT, timeScale, withoutFixes: config.withoutFixes },
          log,
          stoppers,
        ),
      ),
    );
    runs.push(...racers);
    const raced = await Promise.allSettled(racers.map((run) => run.race(race)));
    await Promise.all(racers.map((run) => run.stop()));
    raced.forEach((outcome, i) => {
      if (outcome.status === 'rejected') throw outcome.reason;
      const { errors, ...figures } = outcome.value;
      results.set(racers[i].path.name, { ...describeRun(racers[i]), race: figures, errors: { race: errors } });
    });
    // Today's scenario, one path at a time, each pod a process of its own.
    for (const strategyPath of paths) {
      const run = await PathRun.start(
        strategyPath,
        { spares: TODAY_SPARES, timeScale, withoutFixes: config.withoutFixes },
        log,
        stoppers,
      );
      runs.push(run);
      const { errors, ...figures } = await run.measure(scenario);
      await run.stop();
      const result = results.get(strategyPath.name)!;
      Object.assign(result, figures);
      result.errors.rollout = errors;
    }
    finish();
    return 0;
  } finally {
    clearTimeout(watchdog);
    await Promise.allSettled(runs.map((run) => run.stop()));
  }
}

if (require.main === module) {
  runScript({
    name: 'bench:strategies',
    settings: benchSettings,
    // Each path says what it needs once the paths are chosen.
    missing: () => undefined,
    run: (config) => bench({ ...config, json: path.resolve(config.json) }),
  });
}
