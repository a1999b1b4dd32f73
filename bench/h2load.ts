/**
 * What the benchmark scripts share: h2load runs of SayHello (warm-up, then measured runs sized to a duration, p50
 * and p99 from h2load's per-request log), real calls over node:http2 that check the replies before and after the
 * load, and the table they print. h2load sees only HTTP statuses, so the checks are what prove the calls worked.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import * as http2 from 'node:http2';
import * as path from 'node:path';
import { quantile } from '../harness/load';
import {
  GRPC_REQUEST_HEADERS,
  openSayHello,
  parseSayHelloReply,
  SAY_HELLO_PATH,
  type RawCallResult,
} from '../harness/raw-grpc';

const H2LOAD_TIMEOUT_MS = 180_000;

export class BenchFailure extends Error {}

export function fail(message: string): never {
  throw new BenchFailure(message);
}

export function haveCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

// ------------------------------------------------------------------------------------------ correctness check

function call(session: http2.ClientHttp2Session, body: Buffer): Promise<RawCallResult> {
  const { stream, result } = openSayHello(session);
  stream.end(body);
  return result;
}

/**
 * Real calls over node:http2 with the exact headers and body h2load sends, sequential then 50 concurrent: each must
 * be grpc-status 0 from one of `pods` (the `hostname` header) with the reply `Hello <name> from <that pod>`.
 */
export async function verifyCalls(
  port: number,
  body: Buffer,
  label: string,
  expected: { name: string; pods: readonly string[] },
): Promise<void> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined); // surfaced through the calls
  try {
    const results: RawCallResult[] = [];
    for (let i = 0; i < 3; i++) results.push(await call(session, body));
    results.push(...(await Promise.all(Array.from({ length: 50 }, () => call(session, body)))));
    for (const r of results) {
      if (r.httpStatus !== 200) fail(`${label}: HTTP status ${r.httpStatus}, expected 200`);
      if (r.grpcStatus !== '0') fail(`${label}: grpc-status ${r.grpcStatus} (${r.grpcMessage ?? ''}), expected 0`);
      if (r.hostname === undefined || !expected.pods.includes(r.hostname)) {
        fail(`${label}: response header hostname=${r.hostname}, expected one of ${expected.pods.join(', ')}`);
      }
      const message = parseSayHelloReply(r.body);
      const wanted = `Hello ${expected.name} from ${r.hostname}`;
      if (message !== wanted) fail(`${label}: reply ${JSON.stringify(message)}, expected ${JSON.stringify(wanted)}`);
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
}

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(value);
  if (!match) fail(`cannot parse h2load time ${value}`);
  const n = Number(match[1]);
  return match[2] === 'us' ? n / 1000 : match[2] === 'ms' ? n : n * 1000;
}

export function parseH2load(text: string): H2loadRun {
  const finished = /finished in ([\d.]+)(us|ms|s), ([\d.]+) req\/s/.exec(text);
  const requests =
    /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      text,
    );
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
  const at = (q: number): number => quantile(sorted, q) / 1000;
  return { p50Ms: at(0.5), p99Ms: at(0.99), non200, rows: durations.length };
}

/**
 * h2load's arguments for SayHello calls to 127.0.0.1:`port`: one thread, each request the body in `bodyFile` with a
 * gRPC client's headers, then `options` (how many calls, how long, how many connections and streams), then the URL.
 */
export function sayHelloH2loadArgs(port: number, bodyFile: string, options: readonly string[]): string[] {
  const headers = (['content-type', 'te'] as const).flatMap((name) => ['-H', `${name}: ${GRPC_REQUEST_HEADERS[name]}`]);
  return ['-t', '1', '-d', bodyFile, ...headers, ...options, `http://127.0.0.1:${port}${SAY_HELLO_PATH}`];
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
      if (signal)
        return reject(new BenchFailure(`${label}: h2load killed (${signal}), over ${H2LOAD_TIMEOUT_MS} ms?\n${out}`));
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

/** A load shape: h2load's -c (connections) and -m (streams in flight per connection). */
export interface Shape {
  shape: string;
  clients: number;
  streams: number;
}

export interface ShapeResult {
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

export interface MeasureOptions {
  /** Calls in the warm-up run before the measured ones. */
  warmupRequests: number;
  /** Target length of each measured run. */
  seconds: number;
  /** Measured runs; the median by calls/s is reported. */
  runs: number;
}

/**
 * One shape against `port`: a warm-up run, then `runs` measured runs sized from the warm-up rate to last about
 * `seconds`. Every h2load response must be HTTP 200: a proxy's error (even a 204 carrying a gRPC status) fails it.
 */
export async function measureShape(
  port: number,
  bodyFile: string,
  workDir: string,
  label: string,
  { shape, clients, streams }: Shape,
  options: MeasureOptions,
): Promise<ShapeResult> {
  const shapeArgs = (calls: string[]) =>
    sayHelloH2loadArgs(port, bodyFile, ['-c', String(clients), '-m', String(streams), ...calls]);
  const title = `${label} ${shape}`;
  process.stderr.write(`${title}: warm-up (${options.warmupRequests} calls)… `);
  const warm = await runH2load(shapeArgs(['-n', String(options.warmupRequests)]), `${title} warm-up`);
  // Size the measured run from the warm-up rate so it lasts about `seconds`.
  const requests = Math.max(
    20_000,
    Math.min(2_000_000, Math.round((warm.requestsPerSecond * options.seconds) / 10_000) * 10_000),
  );
  process.stderr.write(`${Math.round(warm.requestsPerSecond)}/s; measured ${options.runs} × ${requests} calls:`);
  const runs: Omit<ShapeResult, 'runs'>[] = [];
  for (let i = 0; i < options.runs; i++) {
    const logFile = path.join(workDir, `h2load-${label.replace(/\W+/g, '_')}-${clients}x${streams}.log`);
    const run = await runH2load(shapeArgs(['-n', String(requests), '--log-file', logFile]), title);
    const log = percentilesFromLog(logFile);
    rmSync(logFile, { force: true });
    if (log.non200 > 0) fail(`${title}: ${log.non200} responses in the h2load log were not HTTP 200`);
    if (log.rows !== requests) fail(`${title}: h2load log has ${log.rows} rows for ${requests} calls`);
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
  return { ...sorted[Math.floor((sorted.length - 1) / 2)], runs: runs.map((r) => r.callsPerSecond) };
}

// ------------------------------------------------------------------------------------------------------ report

export const fmtMs = (ms: number): string => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

/** Columns padded to their widest cell: the first two left-aligned (names), the rest right-aligned (figures). */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows
    .map((row) => row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '))
    .join('\n');
}
