/**
 * The greeter server under load and faults, with real processes on 127.0.0.1: prints figures, is not a test.
 *
 *   npm run bench:soak -- [--seconds N] [--warmup-seconds N] [--concurrency N] [--channels N] [--runs N]
 *                         [--faults false] [--fuzz-cases N] [--fuzz-connections N] [--seed N] [--json PATH]
 *
 * 1. Soak: one server process (app/server.ts, default settings, plus --trace-gc), a warm-up, then --seconds of
 *    closed-loop SayHello from grpc-js (--concurrency calls in flight over --channels connections, a 5 s deadline
 *    on every call): calls, failures, calls/s, p50/p99/max, the server's RSS (after start, after warm-up, at the
 *    end, peak, and the peak of each tenth of the run) and its live heap after each full GC. Real calls over
 *    node:http2 are checked before and after (grpc-status 0, hostname, reply). The memory bounds below are stated
 *    up front and reported as held or not.
 * 2. Rolling restart (unless --faults false): 3 servers under round_robin load, each SIGTERMed in turn and replaced
 *    on its port, with grpc-js's default reconnect backoff; then the same behind nginx as the L7 proxy (3 attempts
 *    per call) when nginx is installed. Failed calls, each drain, and how long until each replacement took calls.
 * 3. Vanish: a server SIGKILLed under a client; how soon calls fail and with what, and how soon after a server
 *    listens on the port again a call succeeds.
 * 4. Fuzz: --fuzz-cases seeded bodies (harness/fuzz.ts) each checked against the model's answer, and
 *    --fuzz-connections connections of random frames; the server must still serve and drain cleanly after.
 *
 * The client shares the two cores with the server, so calls/s here are lower than h2load's in bench:server.
 * Exit codes: 0 done (figures written), 1 a check failed, 2 a bad argument.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { boolean, defaultSettings, integer, setting, text, type Settings } from '../app/config';
import { serverSettings } from '../app/server';
import { nginxMissing, startNginx } from '../harness/nginx';
import { startPods } from '../harness/pods';
import { runScript } from '../harness/script';
import { rollingRestart, vanishAndReturn, type RestartFigures, type VanishFigures } from '../harness/faults';
import { fuzzCases, runFuzzCases, runRandomFrames } from '../harness/fuzz';
import { rssMiB, sampleRss, startLoad, type LoadResult, type LoadOptions } from '../harness/load';
import {
  listeningPort,
  startProcess,
  startServerProcess,
  stopProcess,
  type RunningProcess,
  type ServerProcess,
} from '../harness/processes';
import { sayHelloFrame } from '../harness/raw-grpc';
import { fail, fmtMs, table, verifyCalls } from './h2load';

const ROOT = path.resolve(__dirname, '..');
const POD = 'soak-pod';
const NAME = 'load';
/**
 * The bounds on memory, stated before the run. RSS swings by tens of MiB with each full collection, so it is
 * compared as peaks: the peak of the last 3 tenths of the run may exceed the peak of the first 3 tenths by at most
 * RSS_GROWTH_BOUND_MIB. The live heap after the last full collection may exceed that after the first by at most
 * HEAP_GROWTH_BOUND_MB (a leak of 100 bytes per call would pass it within the first 100,000 calls).
 */
const RSS_GROWTH_BOUND_MIB = 32;
const HEAP_GROWTH_BOUND_MB = 8;
const RSS_SAMPLE_MS = 1000;
const WARMUP_FULL_GCS = 3;
const WARMUP_MAX_SECONDS = 90;

const benchSettings = {
  seconds: setting({ flag: 'seconds', parser: integer(1, 3600), default: 60, help: 'length of each soak run' }),
  warmupSeconds: setting({
    flag: 'warmup-seconds',
    parser: integer(0, 90),
    default: 5,
    help: 'least load before the soak is measured; it also lasts until 3 full GCs (V8 sizing its heap), at most 90 s',
  }),
  concurrency: setting({ flag: 'concurrency', parser: integer(1, 5000), default: 100, help: 'calls in flight' }),
  channels: setting({
    flag: 'channels',
    parser: integer(1, 100),
    default: 4,
    help: 'client channels (connections) the calls spread over',
  }),
  runs: setting({
    flag: 'runs',
    parser: integer(1, 20),
    default: 1,
    help: 'soak runs, each against a fresh server process',
  }),
  faults: setting({
    flag: 'faults',
    parser: boolean,
    default: true,
    help: 'also run the rolling restart, vanish and fuzz figures',
  }),
  fuzzCases: setting({
    flag: 'fuzz-cases',
    parser: integer(0, 1_000_000),
    default: 5000,
    help: 'seeded request bodies to fuzz',
  }),
  fuzzConnections: setting({
    flag: 'fuzz-connections',
    parser: integer(0, 100_000),
    default: 1000,
    help: 'connections of random frames',
  }),
  seed: setting({ flag: 'seed', parser: integer(0, 2 ** 32 - 1), default: 20261127, help: 'fuzz seed' }),
  json: setting({
    flag: 'json',
    parser: text,
    default: path.join(ROOT, 'bench', 'results', 'soak.json'),
    help: 'where to write the figures as JSON',
  }),
};
type BenchConfig = Settings<typeof benchSettings>;

const log = (line: string) => process.stderr.write(`${line}\n`);
const mib = (value: number) => value.toFixed(1);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const summary = (r: LoadResult) => ({
  calls: r.calls,
  failures: r.failures,
  byStatus: Object.fromEntries(r.byStatus),
  callsPerSecond: r.callsPerSecond,
  p50Ms: r.p50Ms,
  p99Ms: r.p99Ms,
  maxMs: r.maxMs,
  seconds: r.seconds,
  errors: r.errors,
});

/** Starts each process through `track`, and stops every one of them at the end, whatever happened. */
async function withProcesses<T>(use: (track: (proc: RunningProcess) => void) => Promise<T>): Promise<T> {
  const started: RunningProcess[] = [];
  try {
    return await use((proc) => void started.push(proc));
  } finally {
    await Promise.all(started.map((proc) => stopProcess(proc)));
  }
}

// ----------------------------------------------------------------------------------------------------------- soak

/** V8's --trace-gc line for a full collection: heap before (committed) -> after (committed). */
const FULL_GC = /Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/;

/** The live heap (MB) after each full collection logged in these lines. */
function heapAfterFullGcs(lines: readonly string[]): number[] {
  return lines.flatMap((line) => {
    const match = FULL_GC.exec(line);
    return match ? [Number(match[1])] : [];
  });
}

interface SoakRun {
  load: ReturnType<typeof summary>;
  warmupSeconds: number;
  rss: {
    afterStartMiB: number;
    afterWarmupMiB: number;
    endMiB: number;
    peakMiB: number;
    peakPerTenthMiB: number[];
    firstPeakMiB: number;
    lastPeakMiB: number;
    boundHeld: boolean;
  };
  heap: { fullCollections: number; firstAfterGcMB?: number; lastAfterGcMB?: number; boundHeld: boolean };
}

async function soak(config: BenchConfig): Promise<SoakRun> {
  return withProcesses(async (track) => {
    // --trace-gc: one line per collection on stdout, beside the JSON log; the full ones show the live heap.
    const proc = startProcess(
      process.execPath,
      ['--trace-gc', '-r', 'ts-node/register', path.join(ROOT, 'app', 'server.ts')],
      { env: { HOST: '127.0.0.1', PORT: '0', POD_NAME: POD } },
    );
    track(proc);
    const server: ServerProcess = { ...proc, pod: POD, port: await listeningPort(proc) };
    const pid = server.child.pid!;
    const body = sayHelloFrame(NAME);
    const expected = { name: NAME, pods: [POD] };
    await verifyCalls(server.port, body, 'soak before load', expected);
    const afterStart = rssMiB(pid);
    const options: LoadOptions = {
      target: `127.0.0.1:${server.port}`,
      concurrency: config.concurrency,
      channels: config.channels,
      deadlineMs: 5000,
      name: NAME,
    };

    // V8 sizes its old generation over the first full collections under load, and RSS climbs with it: measure
    // from the end of that, not from a cold start.
    log(
      `soak: warm-up of at least ${config.warmupSeconds} s and ${WARMUP_FULL_GCS} full collections (at most ${WARMUP_MAX_SECONDS} s)…`,
    );
    const warmupStart = Date.now();
    const gcLinesBefore = server.stdout.length;
    const warmup = startLoad(options);
    while (Date.now() - warmupStart < WARMUP_MAX_SECONDS * 1000) {
      await sleep(500);
      if (
        Date.now() - warmupStart >= config.warmupSeconds * 1000 &&
        heapAfterFullGcs(server.stdout.slice(gcLinesBefore)).length >= WARMUP_FULL_GCS
      )
        break;
    }
    const warm = await warmup.stop();
    if (warm.failures > 0) fail(`soak warm-up: ${warm.failures} calls failed: ${warm.errors.join('; ')}`);
    const warmupSeconds = (Date.now() - warmupStart) / 1000;

    log(`soak: ${config.seconds} s at ${config.concurrency} in flight over ${config.channels} channels…`);
    const linesAtStart = server.stdout.length;
    const rss = sampleRss(pid, RSS_SAMPLE_MS);
    const load = startLoad(options);
    await sleep(config.seconds * 1000);
    const result = await load.stop();
    const memory = rss.stop();
    const heaps = heapAfterFullGcs(server.stdout.slice(linesAtStart));
    await verifyCalls(server.port, body, 'soak after load', expected);
    if (server.child.exitCode !== null) fail(`soak: the server exited (${server.child.exitCode}) during the run`);

    // Ten slices of the samples, each at least one sample long.
    const at = (i: number) => Math.floor((i * memory.samples.length) / 10);
    const peakPerTenthMiB = Array.from({ length: 10 }, (_, i) =>
      Math.max(...memory.samples.slice(at(i), Math.max(at(i + 1), at(i) + 1))),
    );
    const firstPeakMiB = Math.max(...peakPerTenthMiB.slice(0, 3));
    const lastPeakMiB = Math.max(...peakPerTenthMiB.slice(-3));
    return {
      load: summary(result),
      warmupSeconds,
      rss: {
        afterStartMiB: afterStart,
        afterWarmupMiB: memory.first,
        endMiB: memory.last,
        peakMiB: memory.peak,
        peakPerTenthMiB,
        firstPeakMiB,
        lastPeakMiB,
        boundHeld: lastPeakMiB <= firstPeakMiB + RSS_GROWTH_BOUND_MIB,
      },
      heap: {
        fullCollections: heaps.length,
        firstAfterGcMB: heaps[0],
        lastAfterGcMB: heaps.at(-1),
        boundHeld: heaps.length >= 2 && heaps.at(-1)! <= heaps[0] + HEAP_GROWTH_BOUND_MB,
      },
    };
  });
}

// --------------------------------------------------------------------------------------------------------- faults

interface RestartRun {
  path: string;
  load: ReturnType<typeof summary>;
  restarts: RestartFigures[];
}

async function restartRun(label: string, via: 'round_robin' | 'nginx'): Promise<RestartRun> {
  return withProcesses(async (track) => {
    const pods = await startPods(3);
    pods.processes.forEach(track);
    const nginx = via === 'nginx' ? await startNginx({ l7: { kind: 'grpc', backends: pods.ports } }) : undefined;
    try {
      log(`rolling restart, ${label}…`);
      const target = nginx ? `127.0.0.1:${nginx.ports.l7}` : pods.target;
      const load = startLoad({
        target,
        concurrency: 32,
        deadlineMs: 5000,
        name: NAME,
        ...(nginx ? { maxAttempts: 3 } : { lb: 'round_robin' as const }),
      });
      const restarts = await (async () => {
        await load.until((counts) => pods.names.every((pod) => (counts.byPod.get(pod) ?? 0) >= 100), 30_000);
        const figures = await rollingRestart(pods, load, { readyCalls: 100, timeoutMs: 60_000, track });
        // A little more load on the new set, so calls right after the last restart count too.
        await sleep(1000);
        return figures;
      })().finally(() => load.stop());
      return { path: label, load: summary(await load.stop()), restarts };
    } finally {
      await nginx?.stop();
    }
  });
}

interface FuzzFigures {
  seed: number;
  cases: number;
  byStatus: Record<string, number>;
  mismatches: string[];
  connections: number;
  frameOutcomes: Record<string, number>;
  settingsFirst: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  drainedCleanly: boolean;
}

async function fuzz(config: BenchConfig): Promise<FuzzFigures> {
  const server = await startServerProcess(POD);
  try {
    const { maxReceiveMessageBytes, maxNameBytes } = defaultSettings(serverSettings);
    const rssBeforeMiB = rssMiB(server.child.pid!);
    log(`fuzz: ${config.fuzzCases} bodies, ${config.fuzzConnections} connections of random frames…`);
    const run = await runFuzzCases(
      server.port,
      fuzzCases(config.seed, config.fuzzCases, { maxReceiveMessageBytes, maxNameBytes, pod: POD }),
    );
    const frames = await runRandomFrames(server.port, config.seed, config.fuzzConnections);
    await verifyCalls(server.port, sayHelloFrame(NAME), 'after fuzz', { name: NAME, pods: [POD] });
    const rssAfterMiB = rssMiB(server.child.pid!);
    const exit = await stopProcess(server);
    const drainedCleanly = exit === 0 && JSON.parse(server.stdout.at(-1)!).forced === false;
    return {
      seed: config.seed,
      cases: config.fuzzCases,
      byStatus: Object.fromEntries([...run.byStatus].sort()),
      mismatches: run.mismatches.slice(0, 20),
      connections: config.fuzzConnections,
      frameOutcomes: Object.fromEntries([...frames.outcomes].sort()),
      settingsFirst: frames.settingsFirst,
      rssBeforeMiB,
      rssAfterMiB,
      drainedCleanly,
    };
  } finally {
    await stopProcess(server);
  }
}

// ---------------------------------------------------------------------------------------------------------- report

function reportSoak(runs: readonly SoakRun[], config: BenchConfig): void {
  process.stdout.write(
    `\nsoak: ${config.seconds} s after the warm-up, ${config.concurrency} calls in flight over ${config.channels} channels, 5 s deadline per call\n`,
  );
  const rows = [
    [
      'run',
      'warm-up s',
      'calls',
      'failed',
      'calls/s',
      'p50 ms',
      'p99 ms',
      'max ms',
      'RSS start',
      'after warm-up',
      'end',
      'peak',
      'heap after GC',
    ],
  ];
  runs.forEach(({ load, rss, heap, warmupSeconds }, i) =>
    rows.push([
      String(i + 1),
      warmupSeconds.toFixed(0),
      String(load.calls),
      String(load.failures),
      String(Math.round(load.callsPerSecond)),
      fmtMs(load.p50Ms),
      fmtMs(load.p99Ms),
      fmtMs(load.maxMs),
      mib(rss.afterStartMiB),
      mib(rss.afterWarmupMiB),
      mib(rss.endMiB),
      mib(rss.peakMiB),
      `${heap.firstAfterGcMB ?? '-'} → ${heap.lastAfterGcMB ?? '-'} (${heap.fullCollections} full GCs)`,
    ]),
  );
  process.stdout.write(`${table(rows)}\n`);
  for (const [i, { rss }] of runs.entries())
    process.stdout.write(
      `run ${i + 1} RSS peak per tenth of the run (MiB): ${rss.peakPerTenthMiB.map(mib).join(' ')}\n`,
    );
  const held = (ok: boolean) => (ok ? 'held' : 'NOT held');
  process.stdout.write(
    `bound: RSS peak of the last 3 tenths ≤ that of the first 3 tenths + ${RSS_GROWTH_BOUND_MIB} MiB: ${held(runs.every(({ rss }) => rss.boundHeld))} ` +
      `(${runs.map(({ rss }) => `${mib(rss.firstPeakMiB)} → ${mib(rss.lastPeakMiB)}`).join(', ')})\n` +
      `bound: live heap after the last full GC ≤ after the first + ${HEAP_GROWTH_BOUND_MB} MB: ${held(runs.every(({ heap }) => heap.boundHeld))}\n`,
  );
}

function reportRestart(run: RestartRun): void {
  process.stdout.write(
    `\nrolling restart, ${run.path}: ${run.load.calls} calls, ${run.load.failures} failed, p99 ${fmtMs(run.load.p99Ms)} ms, max ${fmtMs(run.load.maxMs)} ms\n`,
  );
  const rows = [['pod', 'replacement', 'exit', 'drain ms', 'back in rotation ms']];
  for (const r of run.restarts)
    rows.push([r.pod, r.replacement, String(r.exitCode), String(r.drainMs), String(r.backInRotationMs)]);
  process.stdout.write(`${table(rows)}\n`);
}

function reportVanish(v: VanishFigures): void {
  const status = (code?: grpc.status) => (code === undefined ? 'none' : grpc.status[code]);
  process.stdout.write(
    `\nvanish (SIGKILL, client pick_first, 5 s deadlines): first failure ${status(v.firstFailure?.code)} ${Math.round(v.firstFailureAfterMs)} ms after the kill (call took ${fmtMs(v.firstFailure?.ms ?? NaN)} ms); ` +
      `while down: ${v.whileDown.map((c) => `${status(c.code)} in ${fmtMs(c.ms)} ms`).join(', ')}; ` +
      `a server back on the port answered ${Math.round(v.recoveredAfterMs)} ms after it listened (${status(v.recovered?.code)} from ${v.recovered?.pod ?? '-'})\n`,
  );
}

function reportFuzz(f: FuzzFigures): void {
  process.stdout.write(
    `\nfuzz (seed ${f.seed}): ${f.cases} bodies, ${f.mismatches.length} answered otherwise than the model; answers: ${Object.entries(
      f.byStatus,
    )
      .map(([s, n]) => `${s} ${n}`)
      .join(', ')}\n`,
  );
  process.stdout.write(
    `random frames: ${f.connections} connections, ${f.settingsFirst} answered with SETTINGS; outcomes: ${Object.entries(
      f.frameOutcomes,
    )
      .map(([s, n]) => `${s} ${n}`)
      .join(', ')}\n`,
  );
  process.stdout.write(
    `server after fuzz: RSS ${mib(f.rssBeforeMiB)} → ${mib(f.rssAfterMiB)} MiB, still serving, SIGTERM drain ${f.drainedCleanly ? 'clean' : 'NOT clean'}\n`,
  );
  for (const line of f.mismatches) process.stdout.write(`  mismatch: ${line}\n`);
}

async function bench(config: BenchConfig): Promise<number> {
  const soakRuns: SoakRun[] = [];
  for (let i = 0; i < config.runs; i++) soakRuns.push(await soak(config));
  reportSoak(soakRuns, config);

  const restarts: RestartRun[] = [];
  let vanish: VanishFigures | undefined;
  let fuzzFigures: FuzzFigures | undefined;
  if (config.faults) {
    restarts.push(await restartRun('client round_robin over 3 addresses', 'round_robin'));
    if (nginxMissing() === undefined) restarts.push(await restartRun('behind nginx L7, 3 attempts per call', 'nginx'));
    else log(`skipping the rolling restart behind nginx: ${nginxMissing()}`);
    restarts.forEach(reportRestart);
    log('vanish…');
    vanish = await withProcesses((track) => vanishAndReturn({ track }));
    reportVanish(vanish);
    fuzzFigures = await fuzz(config);
    reportFuzz(fuzzFigures);
  }

  const json = {
    time: new Date().toISOString(),
    cores: cpus().length,
    node: process.version,
    method: `grpc-js client in this process, closed loop, ${config.concurrency} in flight over ${config.channels} channels, 5 s deadlines; warm-up of at least ${config.warmupSeconds} s and ${WARMUP_FULL_GCS} full GCs, then ${config.seconds} s`,
    bounds: { rssPeakGrowthMiB: RSS_GROWTH_BOUND_MIB, heapAfterGcGrowthMB: HEAP_GROWTH_BOUND_MB },
    soak: soakRuns,
    restarts,
    vanish,
    fuzz: fuzzFigures,
  };
  mkdirSync(path.dirname(config.json), { recursive: true });
  writeFileSync(config.json, `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(`wrote ${path.relative(process.cwd(), config.json)}\n`);

  const problems = [
    ...soakRuns.flatMap(({ load }, i) =>
      load.failures > 0 ? [`soak run ${i + 1}: ${load.failures} failed calls`] : [],
    ),
    ...restarts.flatMap((r) =>
      r.load.failures > 0 ? [`rolling restart ${r.path}: ${r.load.failures} failed calls`] : [],
    ),
    ...(vanish && vanish.recovered?.code !== grpc.status.OK
      ? ['vanish: no call succeeded after the server came back']
      : []),
    ...(fuzzFigures && (fuzzFigures.mismatches.length > 0 || !fuzzFigures.drainedCleanly)
      ? ['fuzz: answers differ from the model or the drain was not clean']
      : []),
  ];
  for (const problem of problems) process.stderr.write(`CHECK FAILED: ${problem}\n`);
  return problems.length > 0 ? 1 : 0;
}

if (require.main === module) {
  runScript({
    name: 'bench:soak',
    settings: benchSettings,
    missing: () => undefined,
    run: (config) => bench({ ...config, json: path.resolve(config.json) }),
  });
}
