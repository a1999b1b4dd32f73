/**
 * The greeter server under hostile clients: prints figures and writes bench/results/abuse.json, is not a test.
 *
 *   npm run bench:abuse -- [--seconds N] [--only NAME,NAME] [--server FILE] [--json PATH]
 *
 * Each attack runs against a fresh server process: the compiled server (`npm run build:app`, build/server.js, what
 * the images run) with the environment the manifests render (dist/gke/istio-ilb's greeter Deployment; reflection
 * only where an attack needs it on). Beside the attack, which runs in a process of its own (bench/attacker.ts, or
 * h2load), 4 real calls are kept in flight over one grpc-js channel with 5 s deadlines, from when the attack is
 * under way. Per attack: the server's RSS before and at its peak (sampled every 100 ms) against the pod's memory
 * limit, the real calls' count, failures and p50/p99 while it ran (and for 2 s before it, alone), how the server
 * answered the attacker, and whether it lived (still running, a call answered after, and its SIGTERM drain clean).
 * The attacks on the connection cap also count what clients that connect meanwhile get: one call on each of 50 new
 * channels, and 100 calls on a channel connected before the attack, paced over its first seconds. Then the drains:
 * SIGTERM with only idle connections, with a health Watch open, with a connection HTTP/2 has ended, and with 130
 * requests that never arrive.
 *
 * Exit codes: 0 done (figures written), 1 a check failed, 2 a bad argument or h2load missing.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { text, integer, setting, type Settings } from '../app/config';
import {
  callsOnChannel,
  callsOnNewChannels,
  existingChannel,
  heldStreams,
  idleConnections,
  SERVED_DURING_ATTACK,
  type CallTally,
} from '../harness/abuse';
import { healthClient } from '../harness/greeter';
import { rssMiB, sampleRss, startLoad, type LoadResult } from '../harness/load';
import { containerEnv, readManifestDir } from '../harness/manifests';
import { ROOT, listeningPort, startProcess, startTs, stopProcess, type RunningProcess } from '../harness/processes';
import { sayHelloFrame } from '../harness/raw-grpc';
import {
  SAY_HELLO_HEADERS,
  connectRawH2,
  dataFrame,
  headersFrame,
  isGoaway,
  malformedPriorityFrame,
} from '../harness/raw-h2';
import { runScript } from '../harness/script';
import { READY, type AttackName } from './attacker';
import { haveCommand, sayHelloH2loadArgs, table } from './h2load';

/** The manifests whose greeter Deployment gives the server its environment and the pod its memory limit. */
const MANIFESTS = path.join(ROOT, 'dist', 'gke', 'istio-ilb');
const POD = 'abuse-pod';
const REAL_CALLS_IN_FLIGHT = 4;
const RSS_SAMPLE_MS = 100;
/** How often a client that connects during an attack on the connection cap calls (SERVED_DURING_ATTACK). */
const PROBE_EVERY_MS = 100;
const { newChannels, existingChannel: onExisting } = SERVED_DURING_ATTACK;
/** Issue 26's slow requests: more connections than the cap, each with one call whose request never arrives. */
const SLOW_REQUESTS = { connections: 130, streamsPerConnection: 1 } as const;

const benchSettings = {
  seconds: setting({
    flag: 'seconds',
    parser: integer(1, 600),
    default: 10,
    help: 'longest each attack runs (most end sooner: the server cuts them off)',
  }),
  only: setting({
    flag: 'only',
    parser: text,
    default: undefined as string | undefined,
    help: 'comma-separated attack names to run (default: all)',
  }),
  server: setting({
    flag: 'server',
    parser: text,
    default: undefined as string | undefined,
    help: 'a compiled server entry to run instead of building app/ into build/',
  }),
  json: setting({
    flag: 'json',
    parser: text,
    default: path.join(ROOT, 'bench', 'results', 'abuse.json'),
    help: 'where to write the figures',
  }),
};
type BenchConfig = Settings<typeof benchSettings>;

interface Scenario {
  name: string;
  what: string;
  /** Server settings on top of the rendered ones. */
  env?: Record<string, string>;
  attack: { name: AttackName; options: object } | { h2load: string[] };
  /** Count what clients that connect meanwhile get (SERVED_DURING_ATTACK). */
  probe?: true;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'drip-1x100',
    what: '1 connection × 100 streams, each announcing 64 KiB then sending it 1 byte per DATA frame',
    attack: { name: 'drip', options: { connections: 1, streamsPerConnection: 100 } },
  },
  {
    name: 'drip-7x100',
    what: '7 connections × 100 streams of the same',
    attack: { name: 'drip', options: { connections: 7, streamsPerConnection: 100 } },
  },
  {
    name: 'window-update-flood',
    what: '1 connection of WINDOW_UPDATE +1 frames, 4,096 per write, as fast as it can',
    attack: { name: 'window-update-flood', options: { connections: 1 } },
  },
  {
    name: 'window-update-flood-x8',
    what: '8 connections of the same',
    attack: { name: 'window-update-flood', options: { connections: 8 } },
  },
  {
    name: 'reflection-zero-window',
    what: 'REFLECTION=true; one ServerReflectionInfo stream from a client with a zero receive window, 400,000 file_containing_symbol requests (10 MB)',
    env: { REFLECTION: 'true' },
    attack: { name: 'reflection-zero-window', options: { requests: 400_000, perFrame: 100 } },
  },
  {
    name: 'held-streams-10x100',
    what: '10 connections × 100 streams opened with HEADERS and held',
    attack: { name: 'held-streams', options: { connections: 10, streamsPerConnection: 100 } },
  },
  {
    name: 'slow-requests-130',
    what: '130 connections (beyond the cap), each with one SayHello whose request never arrives (HEADERS only), answering PINGs',
    attack: { name: 'held-streams', options: SLOW_REQUESTS },
    probe: true,
  },
  {
    name: 'failed-connections-140',
    what: '140 connections, each a complete SayHello then a 3-byte PRIORITY frame (GOAWAY FRAME_SIZE_ERROR) then closing; again as soon as the server has closed them all',
    attack: { name: 'failed-connections', options: { connections: 140, rounds: 1_000_000 } },
    probe: true,
  },
  {
    name: 'idle-tcp-2000',
    what: '2,000 TCP connections that never send a byte',
    attack: { name: 'idle', options: { count: 2000, kind: 'tcp' } },
  },
  {
    name: 'idle-h2-2000',
    what: '2,000 HTTP/2 connections that complete the handshake and then idle',
    attack: { name: 'idle', options: { count: 2000, kind: 'h2' } },
  },
  {
    name: 'h2load-128x100',
    what: 'h2load -c 128 -m 100: as many connections as the cap, × 100 SayHello calls in flight',
    attack: { h2load: ['-c', '128', '-m', '100'] },
  },
  {
    name: 'h2load-1000x100',
    what: "h2load -c 1000 -m 100: 1,000 connections (the issue's 2.4 GiB), beyond the cap, × 100 SayHello calls in flight",
    attack: { h2load: ['-c', '1000', '-m', '100'] },
  },
];

interface Figures {
  name: string;
  what: string;
  seconds: number;
  rss: { beforeMiB: number; peakMiB: number; limitMiB: number; underLimit: boolean };
  /** Real calls for 2 s before the attack, and while it ran. */
  realCallsAlone: ReturnType<typeof summary>;
  realCalls: ReturnType<typeof summary>;
  /** What the attacker saw: the server's GOAWAYs and resets (or h2load's counts). */
  answered: unknown;
  /** What clients that connected meanwhile got. */
  probe?: { newChannels: CallTally; existingChannel: CallTally };
  lived: boolean;
  drain: { exitCode: number | string; forced?: boolean };
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The greeter container's env and memory limit, as the manifests render them. */
function renderedServer(): { env: Record<string, string>; limitMiB: number } {
  const objects = readManifestDir(MANIFESTS).flatMap((file) => file.objects);
  const deployment = objects.find((object) => object.kind === 'Deployment' && object.metadata.name === 'greeter');
  if (!deployment) throw new Error(`no greeter Deployment in ${MANIFESTS}`);
  const container = deployment.spec.template.spec.containers[0];
  const limit = /^(\d+)Mi$/.exec(container.resources.limits.memory);
  if (!limit) throw new Error(`unexpected memory limit ${container.resources.limits.memory}`);
  return { env: containerEnv(container), limitMiB: Number(limit[1]) };
}

function serverEntry(config: BenchConfig): string {
  if (config.server) return path.resolve(config.server);
  log('building app/ into build/ (tsc -p tsconfig.app.json)…');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.app.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  return path.join(ROOT, 'build', 'server.js');
}

async function startServer(
  entry: string,
  env: Record<string, string>,
): Promise<{ proc: RunningProcess; port: number }> {
  const proc = startProcess(process.execPath, [entry], {
    env: { ...env, HOST: '127.0.0.1', PORT: '0', POD_NAME: POD },
  });
  return { proc, port: await listeningPort(proc) };
}

/** SayHello on a fresh channel until one is answered as the greeter answers (true), for at most 10 s. */
async function answers(port: number): Promise<boolean> {
  const load = startLoad({ target: `127.0.0.1:${port}`, concurrency: 1, deadlineMs: 3000 });
  try {
    await load.until((counts) => (counts.byPod.get(POD) ?? 0) >= 1, 10_000);
    return true;
  } catch {
    return false;
  } finally {
    await load.stop();
  }
}

/** Starts the attacker and resolves once it is under way, with a promise of its report (it ends by itself or after `seconds`). */
async function startAttack(
  scenario: Scenario,
  port: number,
  seconds: number,
  bodyFile: string,
): Promise<{ report: Promise<unknown> }> {
  const attacker =
    'h2load' in scenario.attack
      ? startProcess('h2load', sayHelloH2loadArgs(port, bodyFile, [...scenario.attack.h2load, '-D', String(seconds)]))
      : startTs('bench/attacker.ts', [String(port), scenario.attack.name, JSON.stringify(scenario.attack.options)]);
  if (!('h2load' in scenario.attack)) await attacker.waitForLine(new RegExp(`^${READY}$`), 60_000);
  // h2load stops itself after -D seconds and then prints its summary; give it time for that.
  const timer = setTimeout(
    () => attacker.child.kill('SIGTERM'),
    ('h2load' in scenario.attack ? seconds + 30 : seconds) * 1000,
  );
  return { report: attacker.exited.then(() => (clearTimeout(timer), reportOf(scenario, attacker))) };
}

function reportOf(scenario: Scenario, attacker: RunningProcess): unknown {
  if ('h2load' in scenario.attack) {
    const line = attacker.stdout.find((l) => l.startsWith('requests:'));
    return { h2load: line ?? attacker.stdout.slice(-3).join(' ') };
  }
  const report = attacker.stdout.at(-1);
  if (!report?.startsWith('{'))
    throw new Error(`attacker ${scenario.name} printed no report: ${attacker.stderr.join('\n')}`);
  return JSON.parse(report);
}

const summary = (r: LoadResult) => ({
  calls: r.calls,
  failures: r.failures,
  byStatus: Object.fromEntries(r.byStatus),
  p50Ms: r.p50Ms,
  p99Ms: r.p99Ms,
});

async function measure(
  scenario: Scenario,
  entry: string,
  rendered: ReturnType<typeof renderedServer>,
  config: BenchConfig,
  bodyFile: string,
): Promise<Figures> {
  log(`${scenario.name}: ${scenario.what}…`);
  const { proc, port } = await startServer(entry, { ...rendered.env, ...scenario.env });
  try {
    const pid = proc.child.pid!;
    // Real calls alone first: warm, and the figures to compare with.
    const alone = startLoad({ target: `127.0.0.1:${port}`, concurrency: REAL_CALLS_IN_FLIGHT, deadlineMs: 5000 });
    await sleep(2000);
    const before = await alone.stop();
    const beforeMiB = rssMiB(pid);
    const target = `127.0.0.1:${port}`;
    const existing = scenario.probe ? await existingChannel(target) : undefined;
    const rss = sampleRss(pid, RSS_SAMPLE_MS);
    const attack = await startAttack(scenario, port, config.seconds, bodyFile);
    const load = startLoad({ target, concurrency: REAL_CALLS_IN_FLIGHT, deadlineMs: 5000 });
    const started = performance.now();
    // Paced over the attack's first seconds, as clients arrive.
    const probing =
      existing &&
      Promise.all([
        callsOnNewChannels(target, { channels: newChannels.of, parallel: 1, pauseMs: PROBE_EVERY_MS }),
        callsOnChannel(existing, { calls: onExisting.of, pauseMs: PROBE_EVERY_MS / 2 }),
      ]);
    const answered = await attack.report;
    const seconds = (performance.now() - started) / 1000;
    const realCalls = await load.stop();
    const probes = probing && (await probing);
    existing?.close();
    const memory = rss.stop();
    const running = proc.child.exitCode === null && proc.child.signalCode === null;
    const lived = running && (await answers(port));
    const exitCode = await stopProcess(proc);
    const stopped = proc.stdout.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'stopped');
    return {
      name: scenario.name,
      what: scenario.what,
      seconds,
      rss: {
        beforeMiB,
        peakMiB: memory.peak,
        limitMiB: rendered.limitMiB,
        underLimit: memory.peak < rendered.limitMiB,
      },
      realCallsAlone: summary(before),
      realCalls: summary(realCalls),
      answered,
      ...(probes && { probe: { newChannels: probes[0], existingChannel: probes[1] } }),
      lived,
      drain: { exitCode, forced: stopped?.forced },
    };
  } finally {
    await stopProcess(proc);
  }
}

interface DrainFigures {
  what: string;
  ms: number;
  exitCode: number | string;
  forced?: boolean;
  watcher?: { statuses: string[]; endedWith: string };
}

async function drainIdle(entry: string, env: Record<string, string>): Promise<DrainFigures> {
  const { proc, port } = await startServer(entry, env);
  const tcp = idleConnections(port, { count: 5, kind: 'tcp', ignoreClose: true });
  const peers = idleConnections(port, { count: 5, kind: 'h2', ignoreClose: true });
  try {
    await Promise.all([tcp.opened, peers.opened]);
    await sleep(200);
    const signalled = performance.now();
    proc.child.kill('SIGTERM');
    const exitCode = await proc.exited;
    const ms = performance.now() - signalled;
    const stopped = JSON.parse(proc.stdout.at(-1) ?? '{}');
    return {
      what: 'SIGTERM, no call in flight, 5 silent TCP connections and 5 HTTP/2 peers that keep their socket after GOAWAY',
      ms,
      exitCode,
      forced: stopped.forced,
    };
  } finally {
    tcp.close();
    peers.close();
    await stopProcess(proc);
  }
}

async function drainWatch(entry: string, env: Record<string, string>): Promise<DrainFigures> {
  const { proc, port } = await startServer(entry, env);
  const client = healthClient(`127.0.0.1:${port}`);
  try {
    const watch = client.Watch({ service: '' });
    const statuses: string[] = [];
    const ended = new Promise<grpc.StatusObject>((resolve) => watch.on('status', resolve));
    watch.on('error', () => undefined);
    const first = new Promise((resolve) => watch.once('data', resolve));
    watch.on('data', ({ status }: { status: string }) => statuses.push(status));
    await first;
    const signalled = performance.now();
    proc.child.kill('SIGTERM');
    const [status, exitCode] = await Promise.all([ended, proc.exited]);
    const ms = performance.now() - signalled;
    const stopped = JSON.parse(proc.stdout.at(-1) ?? '{}');
    return {
      what: 'SIGTERM with one health Watch open (what client-side health checking holds)',
      ms,
      exitCode,
      forced: stopped.forced,
      watcher: { statuses, endedWith: grpc.status[status.code] },
    };
  } finally {
    client.close();
    await stopProcess(proc);
  }
}

/** SIGTERM and how the drain went: how long to exit, the exit code, and the `stopped` line's `forced`. */
async function sigterm(proc: RunningProcess): Promise<Pick<DrainFigures, 'ms' | 'exitCode' | 'forced'>> {
  const signalled = performance.now();
  proc.child.kill('SIGTERM');
  const exitCode = await proc.exited;
  const ms = performance.now() - signalled;
  return { ms, exitCode, forced: JSON.parse(proc.stdout.at(-1) ?? '{}').forced };
}

async function drainFailed(entry: string, env: Record<string, string>): Promise<DrainFigures> {
  const { proc, port } = await startServer(entry, env);
  const failed = await connectRawH2(port, { answerPings: true, ignoreClose: true });
  try {
    failed.send(headersFrame(1, SAY_HELLO_HEADERS), dataFrame(1, sayHelloFrame('x'), true), malformedPriorityFrame(1));
    await failed.waitFor(isGoaway);
    return {
      what: 'SIGTERM with one connection HTTP/2 has ended (a call, then GOAWAY FRAME_SIZE_ERROR), its peer still there',
      ...(await sigterm(proc)),
    };
  } finally {
    failed.destroy();
    await stopProcess(proc);
  }
}

async function drainSlowRequests(entry: string, env: Record<string, string>): Promise<DrainFigures> {
  const { proc, port } = await startServer(entry, env);
  const slow = await heldStreams(port, SLOW_REQUESTS);
  try {
    await slow.ready;
    return {
      what: `SIGTERM with ${SLOW_REQUESTS.connections} connections each holding a call whose request never arrives`,
      ...(await sigterm(proc)),
    };
  } finally {
    await slow.stop();
    await stopProcess(proc);
  }
}

function report(figures: Figures[], drains: DrainFigures[]): void {
  const rows = [
    [
      'attack',
      's',
      'RSS before',
      'RSS peak',
      'real calls',
      'failed',
      'p50 ms',
      'p99 ms',
      'p99 alone',
      'lived',
      'new channels',
      'existing channel',
      'server answered',
    ],
  ];
  for (const f of figures) {
    rows.push([
      f.name,
      f.seconds.toFixed(1),
      `${f.rss.beforeMiB.toFixed(0)} MiB`,
      `${f.rss.peakMiB.toFixed(0)} MiB${f.rss.underLimit ? '' : ' (over the limit)'}`,
      String(f.realCalls.calls),
      String(f.realCalls.failures),
      f.realCalls.p50Ms.toFixed(1),
      f.realCalls.p99Ms.toFixed(1),
      f.realCallsAlone.p99Ms.toFixed(1),
      f.lived && f.drain.exitCode === 0 && f.drain.forced === false ? 'yes' : `NO (${JSON.stringify(f.drain)})`,
      f.probe ? `${f.probe.newChannels.ok}/${f.probe.newChannels.of}` : '',
      f.probe ? `${f.probe.existingChannel.ok}/${f.probe.existingChannel.of}` : '',
      JSON.stringify(f.answered).slice(0, 110),
    ]);
  }
  process.stdout.write(`\n${table(rows)}\n`);
  for (const d of drains)
    process.stdout.write(
      `drain: ${d.what}: exit ${d.exitCode} after ${d.ms.toFixed(0)} ms, forced ${d.forced}${d.watcher ? `; the watcher saw ${d.watcher.statuses.join(' → ')}, then ${d.watcher.endedWith}` : ''}\n`,
    );
}

async function bench(config: BenchConfig): Promise<number> {
  const only = config.only?.split(',').map((name) => name.trim());
  const unknown = only?.filter((name) => !SCENARIOS.some((s) => s.name === name)) ?? [];
  if (unknown.length > 0)
    throw new Error(`unknown attack ${unknown.join(', ')}; one of ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const scenarios = SCENARIOS.filter((s) => only === undefined || only.includes(s.name));
  const entry = serverEntry(config);
  const rendered = renderedServer();
  const work = mkdtempSync(path.join(tmpdir(), 'bench-abuse-'));
  try {
    const bodyFile = path.join(work, 'hello-request.bin');
    writeFileSync(bodyFile, sayHelloFrame('world'));
    const figures: Figures[] = [];
    for (const scenario of scenarios) figures.push(await measure(scenario, entry, rendered, config, bodyFile));
    const drains =
      only === undefined
        ? [
            await drainIdle(entry, rendered.env),
            await drainWatch(entry, rendered.env),
            await drainFailed(entry, rendered.env),
            await drainSlowRequests(entry, rendered.env),
          ]
        : [];
    report(figures, drains);
    const json = {
      time: new Date().toISOString(),
      cores: cpus().length,
      node: process.version,
      server: path.relative(ROOT, entry),
      settings: rendered.env,
      memoryLimitMiB: rendered.limitMiB,
      method: `one fresh server process per attack, the attack in a process of its own for at most ${config.seconds} s, ${REAL_CALLS_IN_FLIGHT} real SayHello calls in flight beside it (grpc-js, 5 s deadlines), RSS sampled every ${RSS_SAMPLE_MS} ms`,
      attacks: figures,
      drains,
    };
    mkdirSync(path.dirname(config.json), { recursive: true });
    writeFileSync(config.json, `${JSON.stringify(json, null, 2)}\n`);
    process.stdout.write(`wrote ${path.relative(process.cwd(), config.json)}\n`);
    const problems = [
      ...figures
        .filter((f) => !f.lived || f.drain.exitCode !== 0 || f.drain.forced !== false)
        .map((f) => `${f.name}: the server did not live through it and drain cleanly`),
      ...figures
        .filter(
          (f) =>
            f.probe &&
            (f.probe.newChannels.ok < newChannels.atLeast || f.probe.existingChannel.ok < onExisting.atLeast),
        )
        .map((f) => `${f.name}: clients that connected meanwhile were not served (${JSON.stringify(f.probe)})`),
      ...figures
        .filter((f) => !f.rss.underLimit)
        .map((f) => `${f.name}: RSS peaked at ${f.rss.peakMiB.toFixed(0)} MiB, over the pod's ${f.rss.limitMiB} MiB`),
      ...drains
        .filter((d) => d.exitCode !== 0 || d.forced !== false)
        .map((d) => `drain (${d.what}): exit ${d.exitCode}, forced ${d.forced}`),
    ];
    for (const problem of problems) process.stderr.write(`CHECK FAILED: ${problem}\n`);
    return problems.length > 0 ? 1 : 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runScript({
    name: 'bench:abuse',
    settings: benchSettings,
    missing: () =>
      SCENARIOS.some((s) => 'h2load' in s.attack) && !haveCommand('h2load')
        ? 'h2load not found: apt-get install -y nghttp2-client'
        : undefined,
    run: (config) => bench({ ...config, json: path.resolve(config.json) }),
  });
}
