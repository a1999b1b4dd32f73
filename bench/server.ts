/**
 * Throughput benchmark of the greeter server (helloworld.Greeter/SayHello) with h2load: prints figures, is not a
 * test. Starts app/server.ts as a child (plain `node -r ts-node/register`, POD_NAME=bench-pod, 127.0.0.1, port 0),
 * checks real calls over node:http2 (grpc-status 0, `hostname` header, decoded reply), then drives it with h2load
 * in two shapes (-c 1 -m 100 and -c 4 -m 50), each a warm-up run then a measured run sized to ~--seconds.
 *
 *   npm run bench:server -- [--go] [--json PATH] [--seconds N] [--runs N] [--server FILE] [--node PATH] [--node-arg ARG]...
 *
 * --go          also build grpc-go's greeter (bench/greeter_server.go; Debian golang-go + golang-google-grpc-dev,
 *               GOPATH mode, offline) and measure it in the same run, so the ratio is measured, not assumed.
 * --json PATH   also write the figures as JSON to PATH.
 * --seconds N   target length of each measured run (default 7).
 * --runs N      measured runs per shape (default 1); the table shows the median run and the calls/s range. This
 *               machine's run-to-run spread is large (±25%), so compare variants with --runs 5 or more.
 * --server FILE the server entry to run (default app/server.ts; a .js file runs without ts-node).
 * --node-arg A  extra node flag for the server process (repeatable), e.g. --node-arg=--cpu-prof.
 * --node PATH   node binary for the server (default: the one running this script), e.g. to compare Node versions.
 *
 * Exit codes: 0 done, 1 a check failed, 2 a tool is missing or a bad argument.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { listeningPort, startProcess, stopProcess, type RunningProcess } from '../test/support/processes';
import { openSayHello, parseSayHelloReply, SAY_HELLO_PATH, sayHelloFrame, type RawCallResult } from '../test/support/raw-grpc';

const ROOT = path.resolve(__dirname, '..');
const POD = 'bench-pod';
const NAME = 'world';
const EXPECTED_MESSAGE = `Hello ${NAME} from ${POD}`;
const SHAPES = [
  { shape: '-c 1 -m 100', clients: 1, streams: 100 },
  { shape: '-c 4 -m 50', clients: 4, streams: 50 },
] as const;
/** grpc-go helloworld on this machine with this method (h2load -t 1), used when --go is not given. */
const GO_REFERENCE: Record<string, number> = { '-c 1 -m 100': 70_000, '-c 4 -m 50': 88_000 };
// Node keeps speeding up for several seconds (JIT tiers, heap sizing): warm up ~5 s before measuring.
const WARMUP_REQUESTS = 100_000;
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const H2LOAD_TIMEOUT_MS = 180_000;
const GOPATH = '/usr/share/gocode';

class BenchFailure extends Error {}

function fail(message: string): never {
  throw new BenchFailure(message);
}

interface Options {
  go: boolean;
  json?: string;
  seconds: number;
  runs: number;
  server: string;
  node: string;
  nodeArgs: string[];
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { go: false, seconds: 7, runs: 1, server: path.join(ROOT, 'app', 'server.ts'), node: process.execPath, nodeArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(argv[i]);
    const flag = match?.[1];
    const value = (): string => {
      if (match?.[2] !== undefined) return match[2];
      const next = argv[++i];
      if (next === undefined) usageExit(`--${flag} needs a value`);
      return next;
    };
    if (flag === 'go') options.go = true;
    else if (flag === 'json') options.json = path.resolve(value());
    else if (flag === 'seconds') {
      options.seconds = Number(value());
      if (!(options.seconds > 0)) usageExit('--seconds must be a positive number');
    } else if (flag === 'runs') {
      options.runs = Number(value());
      if (!Number.isInteger(options.runs) || options.runs < 1) usageExit('--runs must be a positive integer');
    } else if (flag === 'server') options.server = path.resolve(value());
    else if (flag === 'node') options.node = path.resolve(value());
    else if (flag === 'node-arg') options.nodeArgs.push(value());
    else usageExit(`unknown argument ${argv[i]}`);
  }
  return options;
}

function usageExit(message: string): never {
  process.stderr.write(`bench/server: ${message}\nusage: npm run bench:server -- [--go] [--json PATH] [--seconds N] [--runs N] [--server FILE] [--node PATH] [--node-arg ARG]...\n`);
  process.exit(2);
}

function haveCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

// ------------------------------------------------------------------------------------------ correctness check

function call(session: http2.ClientHttp2Session, body: Buffer): Promise<RawCallResult> {
  const { stream, result } = openSayHello(session);
  stream.end(body);
  return result;
}

/** Real calls over node:http2 with the exact headers and body h2load sends: sequential, then 50 concurrent. */
async function verifyCalls(port: number, body: Buffer, label: string): Promise<void> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined); // surfaced through the calls
  try {
    const results: RawCallResult[] = [];
    for (let i = 0; i < 3; i++) results.push(await call(session, body));
    results.push(...(await Promise.all(Array.from({ length: 50 }, () => call(session, body)))));
    for (const r of results) {
      if (r.httpStatus !== 200) fail(`${label}: HTTP status ${r.httpStatus}, expected 200`);
      if (r.grpcStatus !== '0') fail(`${label}: grpc-status ${r.grpcStatus} (${r.grpcMessage ?? ''}), expected 0`);
      if (r.hostname !== POD) fail(`${label}: response header hostname=${r.hostname}, expected ${POD}`);
      const message = parseSayHelloReply(r.body);
      if (message !== EXPECTED_MESSAGE) fail(`${label}: reply ${JSON.stringify(message)}, expected ${JSON.stringify(EXPECTED_MESSAGE)}`);
    }
  } finally {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        session.destroy();
        resolve();
      }, 5_000);
      session.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

// ---------------------------------------------------------------------------------------------- server process

interface Server {
  label: string;
  proc: RunningProcess;
  port: number;
}

const output = (proc: RunningProcess): string => [...proc.stdout, ...proc.stderr].join('\n');

async function startServer(label: string, command: string, args: string[], cwd: string): Promise<Server> {
  const proc = startProcess(command, args, { cwd, env: { POD_NAME: POD, LOG_CALLS: 'false', SHUTDOWN_GRACE_MS: '2000' } });
  proc.child.once('error', () => undefined); // a spawn failure shows as an exit before the listening line
  try {
    return { label, proc, port: await listeningPort(proc, START_TIMEOUT_MS) };
  } catch (error) {
    await stopProcess(proc);
    fail(`${label}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** SIGTERM, bounded wait, SIGKILL if it does not stop; a non-zero exit is reported, not fatal. */
async function stopServer(server: Server): Promise<void> {
  const result = await stopProcess(server.proc, STOP_TIMEOUT_MS);
  if (result !== 0) process.stderr.write(`warning: ${server.label} exited with ${result}\n${output(server.proc)}\n`);
}

// ------------------------------------------------------------------------------------------------------- h2load

interface H2loadRun {
  seconds: number;
  requestsPerSecond: number;
  total: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  status2xx: number;
  meanMs: number;
  sdMs: number;
  minMs: number;
  maxMs: number;
  p50Ms?: number;
  p99Ms?: number;
}

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(value);
  if (!match) fail(`cannot parse h2load time ${value}`);
  const n = Number(match[1]);
  return match[2] === 'us' ? n / 1000 : match[2] === 'ms' ? n : n * 1000;
}

export function parseH2load(text: string): H2loadRun {
  const finished = /finished in ([\d.]+)(us|ms|s), ([\d.]+) req\/s/.exec(text);
  const requests = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(text);
  const codes = /status codes: (\d+) 2xx/.exec(text);
  const times = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)/.exec(text);
  if (!finished || !requests || !codes || !times) fail(`cannot parse h2load output:\n${text}`);
  return {
    seconds: toMs(`${finished[1]}${finished[2]}`) / 1000,
    requestsPerSecond: Number(finished[3]),
    total: Number(requests[1]),
    succeeded: Number(requests[2]),
    failed: Number(requests[3]),
    errored: Number(requests[4]),
    timeout: Number(requests[5]),
    status2xx: Number(codes[1]),
    minMs: toMs(times[1]),
    maxMs: toMs(times[2]),
    meanMs: toMs(times[3]),
    sdMs: toMs(times[4]),
  };
}

/** p50/p99 from h2load --log-file rows: start µs, HTTP status, µs until end of response. */
function percentilesFromLog(file: string): { p50Ms: number; p99Ms: number; non200: number; rows: number } {
  const durations: number[] = [];
  let non200 = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const columns = line.split('\t');
    if (columns.length < 3) continue;
    if (columns[1] !== '200') non200++;
    durations.push(Number(columns[2]));
  }
  if (durations.length === 0) fail(`h2load log ${file} is empty`);
  const sorted = Float64Array.from(durations).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] / 1000;
  return { p50Ms: at(0.5), p99Ms: at(0.99), non200, rows: durations.length };
}

function runH2load(args: string[], label: string): Promise<H2loadRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), H2LOAD_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (signal) return reject(new BenchFailure(`${label}: h2load killed (${signal}), over ${H2LOAD_TIMEOUT_MS} ms?\n${out}`));
      try {
        const run = parseH2load(out);
        const problems = [
          run.failed && `${run.failed} failed`,
          run.errored && `${run.errored} errored`,
          run.timeout && `${run.timeout} timed out`,
          run.succeeded !== run.total && `${run.succeeded}/${run.total} succeeded`,
          run.status2xx !== run.total && `${run.status2xx}/${run.total} 2xx`,
          code !== 0 && `exit code ${code}`,
        ].filter(Boolean);
        if (problems.length > 0) fail(`${label}: h2load reported ${problems.join(', ')}\n${out}`);
        resolve(run);
      } catch (error) {
        reject(error);
      }
    });
  });
}

interface ShapeResult {
  shape: string;
  requests: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  sdMs: number;
  maxMs: number;
  seconds: number;
  /** calls/s of every measured run; the other fields are from the median one. */
  runs: number[];
}

async function benchShapes(server: Server, bodyFile: string, workDir: string, options: Options): Promise<ShapeResult[]> {
  const url = `http://127.0.0.1:${server.port}${SAY_HELLO_PATH}`;
  const common = ['-t', '1', '-d', bodyFile, '-H', 'content-type: application/grpc', '-H', 'te: trailers'];
  const results: ShapeResult[] = [];
  for (const { shape, clients, streams } of SHAPES) {
    const shapeArgs = ['-c', String(clients), '-m', String(streams), ...common];
    const label = `${server.label} ${shape}`;
    process.stderr.write(`${label}: warm-up (${WARMUP_REQUESTS} calls)… `);
    const warm = await runH2load([...shapeArgs, '-n', String(WARMUP_REQUESTS), url], `${label} warm-up`);
    // Size the measured run from the warm-up rate so it lasts about `seconds`.
    const requests = Math.max(20_000, Math.min(2_000_000, Math.round((warm.requestsPerSecond * options.seconds) / 10_000) * 10_000));
    process.stderr.write(`${Math.round(warm.requestsPerSecond)}/s; measured ${options.runs} × ${requests} calls:`);
    const runs: Omit<ShapeResult, 'runs'>[] = [];
    for (let i = 0; i < options.runs; i++) {
      const logFile = path.join(workDir, `h2load-${server.label}-${clients}x${streams}.log`);
      const run = await runH2load([...shapeArgs, '-n', String(requests), '--log-file', logFile, url], label);
      const log = percentilesFromLog(logFile);
      rmSync(logFile, { force: true });
      if (log.non200 > 0) fail(`${label}: ${log.non200} responses in the h2load log were not HTTP 200`);
      if (log.rows !== requests) fail(`${label}: h2load log has ${log.rows} rows for ${requests} calls`);
      process.stderr.write(` ${Math.round(run.requestsPerSecond)}/s`);
      runs.push({
        shape,
        requests,
        callsPerSecond: run.requestsPerSecond,
        p50Ms: log.p50Ms,
        p99Ms: log.p99Ms,
        meanMs: run.meanMs,
        sdMs: run.sdMs,
        maxMs: run.maxMs,
        seconds: run.seconds,
      });
    }
    process.stderr.write('\n');
    const sorted = [...runs].sort((a, b) => a.callsPerSecond - b.callsPerSecond);
    results.push({ ...sorted[Math.floor((sorted.length - 1) / 2)], runs: runs.map((r) => r.callsPerSecond) });
  }
  return results;
}

/** Start, check, measure, check again, stop. */
async function measure(label: string, command: string, args: string[], cwd: string, body: Buffer, bodyFile: string, workDir: string, options: Options): Promise<ShapeResult[]> {
  const server = await startServer(label, command, args, cwd);
  try {
    await verifyCalls(server.port, body, `${label} before load`);
    const results = await benchShapes(server, bodyFile, workDir, options);
    await verifyCalls(server.port, body, `${label} after load`);
    if (server.proc.child.exitCode !== null) fail(`${label}: server exited during the run\n${output(server.proc)}`);
    return results;
  } finally {
    await stopServer(server);
  }
}

// ----------------------------------------------------------------------------------------------------- grpc-go

function buildGoServer(workDir: string): string {
  const source = path.join(__dirname, 'greeter_server.go');
  if (!haveCommand('go') || !existsSync(path.join(GOPATH, 'src', 'google.golang.org', 'grpc', 'server.go'))) {
    process.stdout.write('--go needs Go and grpc-go: apt-get install -y golang-go golang-google-grpc-dev\n');
    process.exit(2);
  }
  const dir = path.join(workDir, 'go');
  mkdirSync(dir, { recursive: true });
  copyFileSync(source, path.join(dir, 'main.go'));
  const binary = path.join(dir, 'greeter');
  process.stderr.write('building grpc-go greeter (GOPATH mode, offline)… ');
  const build = spawnSync('go', ['build', '-o', binary, 'main.go'], {
    cwd: dir,
    env: {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH,
      GOFLAGS: '',
      GOPROXY: 'off',
      GOCACHE: path.join(tmpdir(), 'bench-server-gocache'),
    },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (build.status !== 0) fail(`go build failed (${build.error?.message ?? build.status}):\n${build.stdout}${build.stderr}`);
  process.stderr.write('done\n');
  return binary;
}

// ------------------------------------------------------------------------------------------------------ report

const fmtMs = (ms: number): string => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')).join('\n');
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  if (!haveCommand('h2load')) {
    process.stdout.write('h2load not found: apt-get install -y nghttp2-client\n');
    return 2;
  }
  const workDir = mkdtempSync(path.join(tmpdir(), 'bench-server-'));
  try {
    const body = sayHelloFrame(NAME);
    const bodyFile = path.join(workDir, 'hello-request.bin');
    writeFileSync(bodyFile, body);
    const goBinary = options.go ? buildGoServer(workDir) : undefined;

    const isTs = options.server.endsWith('.ts');
    const nodeArgs = [...options.nodeArgs, ...(isTs ? ['-r', 'ts-node/register'] : []), options.server, '--host', '127.0.0.1', '--port', '0'];
    const node = await measure('node', options.node, nodeArgs, ROOT, body, bodyFile, workDir, options);
    const go = goBinary ? await measure('grpc-go', goBinary, ['--host', '127.0.0.1', '--port', '0'], workDir, body, bodyFile, workDir, options) : undefined;

    const goRate = (shape: string): number => go?.find((r) => r.shape === shape)?.callsPerSecond ?? GO_REFERENCE[shape];
    const rows = [['server', 'shape', 'calls/s', ...(options.runs > 1 ? ['range'] : []), 'p50 ms', 'p99 ms', 'mean ms', 'sd ms', 'max ms', '× grpc-go']];
    const range = (r: ShapeResult): string[] =>
      options.runs > 1 ? [`${Math.round(Math.min(...r.runs))}–${Math.round(Math.max(...r.runs))}`] : [];
    for (const [label, results] of [['node', node], ['grpc-go', go]] as const) {
      for (const r of results ?? []) {
        rows.push([label, r.shape, Math.round(r.callsPerSecond).toString(), ...range(r), fmtMs(r.p50Ms), fmtMs(r.p99Ms), fmtMs(r.meanMs), fmtMs(r.sdMs), fmtMs(r.maxMs), (r.callsPerSecond / goRate(r.shape)).toFixed(2)]);
      }
    }
    const server = path.relative(ROOT, options.server);
    const nodeVersion = spawnSync(options.node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    process.stdout.write(`\ngreeter ${server} (node ${nodeVersion}${options.nodeArgs.length ? ` ${options.nodeArgs.join(' ')}` : ''}), h2load -t 1, ${options.runs > 1 ? `median of ${options.runs} ` : ''}~${options.seconds}s measured run${options.runs > 1 ? 's' : ''} after a ${WARMUP_REQUESTS}-call warm-up\n`);
    process.stdout.write(`${table(rows)}\n`);
    process.stdout.write(
      go
        ? '× grpc-go: measured against grpc-go 1.33 (Debian) in this run.\n'
        : `× grpc-go: against REFERENCE figures, not measured (${Object.entries(GO_REFERENCE).map(([s, v]) => `${s}: ${v / 1000}k/s`).join(', ')}); pass --go to measure.\n`,
    );
    process.stdout.write(`checks passed: grpc-status 0, hostname=${POD}, reply "${EXPECTED_MESSAGE}" before and after load; h2load 0 failed/errored, all 2xx\n`);

    if (options.json) {
      const report = {
        time: new Date().toISOString(),
        node: nodeVersion,
        nodeArgs: options.nodeArgs,
        server,
        method: `h2load -t 1, warm-up then ${options.runs} measured run(s), median reported`,
        grpcGo: go ? 'measured' : 'reference',
        results: [
          ...node.map((r) => ({ server: 'node', ...r, ratioToGrpcGo: r.callsPerSecond / goRate(r.shape) })),
          ...(go ?? []).map((r) => ({ server: 'grpc-go', ...r })),
        ],
        ...(go ? {} : { grpcGoReference: GO_REFERENCE }),
      };
      mkdirSync(path.dirname(options.json), { recursive: true });
      writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(`wrote ${options.json}\n`);
    }
    return 0;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`\nBENCH FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
