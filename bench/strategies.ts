/**
 * Every load-balancing strategy whose data plane runs on this machine, side by side, with the same greeter pods and
 * the same client load: prints figures, is not a test.
 *
 *   npm run bench:strategies -- [--quick] [--paths L4,L7,…] [--concurrency N] [--max-connection-age-ms N] [--json PATH]
 *
 * Each path (harness/strategy-paths.ts) gets the same scenario (harness/strategy-run.ts): three fresh greeter pods
 * (app/server.ts, each on its own loopback address, one port), the app's own client (createGreeterClient: one
 * channel, --concurrency calls in flight back to back, the client's default settings), a warm-up, then
 * - steady: calls/s, p50 and p99, and how evenly the three pods answered (max/min and coefficient of variation);
 * - a fourth pod: seconds from when it listens until it answers ≥ 20% of the calls in a 1 s window;
 * - a rollout: every pod replaced one by one as a Deployment does (maxSurge 1, maxUnavailable 0: the new pod on a
 *   new address first, then the old one out of rotation and SIGTERM), and how many calls failed meanwhile.
 * Paths run one after the other so they do not share the two cores. It stops by itself within 5 minutes (90 s
 * with --quick, which leaves DNS+age and ambient out unless --paths names them) and writes bench/results/strategies.json.
 *
 * Exit codes: 0 done, 1 a path failed or the time ran out, 2 a tool is missing or a bad argument.
 */
// First: grpc-js must read GRPC_NODE_USE_ALTERNATIVE_RESOLVER as it loads, so the DNS paths can name their server.
import '../harness/dns-authority';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import * as path from 'node:path';
import { ConfigError, boolean, integer, setting, text, type Settings } from '../app/config';
import { DNSMASQ } from '../harness/dnsmasq';
import { NGINX } from '../harness/nginx';
import { ROOT } from '../harness/processes';
import { runScript } from '../harness/script';
import {
  FAIR_SHARE,
  formatFairShare,
  formatRatio,
  formatRollout,
  runStrategyPath,
  type PathFigures,
  type Scenario,
} from '../harness/strategy-run';
import { ambientPath, dnsPath, strategyPaths, type StrategyPath } from '../harness/strategy-paths';
import { fmtMs, table } from './h2load';

const benchSettings = {
  quick: setting({
    flag: 'quick',
    parser: boolean,
    default: false,
    help: 'short phases: done within 90 s instead of 5 minutes',
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
  maxConnectionAgeMs: setting({
    flag: 'max-connection-age-ms',
    parser: integer(100, 60_000),
    default: 500,
    help: 'MAX_CONNECTION_AGE_MS of the pods on the +age paths: short, so several ages pass within a run',
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

/**
 * What a quick run leaves out unless --paths names it: DNS+age, whose quick figures are DNS's (the fourth pod waits
 * and the rollout fails until the next resolution, 30 s away), and ambient, whose are L7's behind one more hop, so
 * the time goes to the paths that differ.
 */
function quickLeavesOut(): string[] {
  return [dnsPath({ maxConnectionAgeMs: 1 }).name, ambientPath().name];
}

/** Each mode's phases, the paths it runs when --paths is not given, and the time the whole run must end within. */
const MODES: Record<
  'full' | 'quick',
  { scenario: Omit<Scenario, 'concurrency'>; leavesOut: readonly string[]; limitMs: number }
> = {
  // 35 s: longer than grpc-js's 30 s between DNS resolutions, so a DNS path that re-resolves shows it. Steady 5 s,
  // so that seven paths, three of which wait the 35 s twice or once, end within the 5 minutes.
  full: {
    scenario: { warmupMs: 1000, steadyMs: 5000, fairShareWaitMs: 35_000, settleMs: 2000, recoveryWaitMs: 35_000 },
    leavesOut: [],
    limitMs: 300_000,
  },
  // Starting each path's 8 pods takes about 4 s of the 90 on 2 shared cores, and loading grpc-js-xds 1 s more.
  quick: {
    scenario: { warmupMs: 500, steadyMs: 1500, fairShareWaitMs: 3000, settleMs: 500, recoveryWaitMs: 2000 },
    leavesOut: quickLeavesOut(),
    limitMs: 90_000,
  },
};

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

function report(results: readonly PathFigures[]): string {
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
    ...results.map((r) => [
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
    ]),
  ];
  return table(rows);
}

async function bench(config: BenchConfig): Promise<number> {
  const mode = MODES[config.quick ? 'quick' : 'full'];
  const scenario: Scenario = { ...mode.scenario, concurrency: config.concurrency };
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
  const results: PathFigures[] = [];
  const log = (line: string) =>
    process.stdout.write(`${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s  ${line}\n`);
  /** The table and the JSON of the paths done so far; `notRun` names the others. */
  const finish = () => {
    const notRun = paths.slice(results.length).map((p) => p.name);
    if (results.length > 0) process.stdout.write(`\n${report(results)}\n\n`);
    const json = {
      time: new Date().toISOString(),
      command: `npm run bench:strategies --${process.argv
        .slice(2)
        .map((arg) => ` ${arg}`)
        .join('')}`,
      seconds: (performance.now() - started) / 1000,
      machine: machineAtStart,
      versions: versions(),
      scenario: { ...scenario, pods: 3, fairShare: FAIR_SHARE, maxConnectionAgeMs: config.maxConnectionAgeMs },
      results,
      ...(notRun.length > 0 && { notRun }),
    };
    mkdirSync(path.dirname(config.json), { recursive: true });
    writeFileSync(config.json, `${JSON.stringify(json, null, 2)}\n`);
    log(
      `wrote ${path.relative(process.cwd(), config.json)}${notRun.length > 0 ? ` without ${notRun.join(', ')}` : ''}`,
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
  try {
    log(
      `${paths.length} paths (${paths.map((p) => p.name).join(', ')}), one at a time; each: 3 pods, ${scenario.concurrency} calls in flight on one channel, ` +
        `warm-up ${scenario.warmupMs / 1000} s, steady ${scenario.steadyMs / 1000} s, a 4th pod (fair share: ≥ ${FAIR_SHARE.share * 100}% of the calls in ${FAIR_SHARE.windowMs / 1000} s, waited for ≤ ${scenario.fairShareWaitMs / 1000} s), ` +
        `then a rollout of every pod; done within ${mode.limitMs / 1000} s`,
    );
    for (const strategyPath of paths) results.push(await runStrategyPath(strategyPath, scenario, log, stoppers));
    finish();
    return 0;
  } finally {
    clearTimeout(watchdog);
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
