/**
 * What the proxy hop costs: calls/s and p50/p99 latency of SayHello with h2load, direct to one greeter pod, through
 * nginx as the L7 proxy (grpc_pass, balancing each call over the pods) and as the L4 proxy (stream, balancing
 * connections), over 1 connection and over 4, at 8 and at 64 calls in flight. Prints figures, is not a test.
 * Calls are checked before and after the load through each path (grpc-status 0, hostname, reply).
 *
 *   npm run bench:lb -- [--seconds N] [--runs N] [--pods N] [--json PATH]
 *
 * Exit codes: 0 done, 1 a check failed, 2 a tool is missing or a bad argument.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { integer, setting, text, type Settings } from '../app/config';
import { NGINX, nginxNeeded, startNginx } from '../harness/nginx';
import { startPods, type Pods } from '../harness/pods';
import { runScript } from '../harness/script';
import { sayHelloFrame } from '../harness/raw-grpc';
import { fmtMs, haveCommand, measureShape, table, verifyCalls, type Shape, type ShapeResult } from './h2load';

const ROOT = path.resolve(__dirname, '..');
const NAME = 'world';
/** 1 connection and 4, each with the same calls in flight: 8 (a busy client), then 64 (saturation). */
const SHAPES: Shape[] = [
  { shape: '-c 1 -m 8', clients: 1, streams: 8 },
  { shape: '-c 4 -m 2', clients: 4, streams: 2 },
  { shape: '-c 1 -m 64', clients: 1, streams: 64 },
  { shape: '-c 4 -m 16', clients: 4, streams: 16 },
];
const WARMUP_REQUESTS = 20_000;
/** The issue's target: the L7 proxy's p99 at most twice the direct p99. */
const TARGET_P99_RATIO = 2;

const benchSettings = {
  seconds: setting({
    flag: 'seconds',
    parser: integer(1, 600),
    default: 5,
    help: 'target length of each measured run',
  }),
  runs: setting({
    flag: 'runs',
    parser: integer(1, 20),
    default: 1,
    help: 'measured runs per shape; the median by calls/s is shown',
  }),
  pods: setting({ flag: 'pods', parser: integer(1, 9), default: 3, help: 'greeter pods behind the proxies' }),
  json: setting({
    flag: 'json',
    parser: text,
    default: path.join(ROOT, 'bench', 'results', 'lb.json'),
    help: 'where to write the figures as JSON',
  }),
};
type BenchConfig = Settings<typeof benchSettings>;

interface BenchPath {
  path: 'direct' | 'L7' | 'L4';
  description: string;
  port: number;
  pods: readonly string[];
}

interface PathResult extends ShapeResult {
  path: BenchPath['path'];
  /** This p99 over the direct p99 of the same shape. */
  p99VsDirect: number;
}

function nginxVersion(): string {
  const run = spawnSync(NGINX, ['-v'], { encoding: 'utf8' });
  return (run.stderr || run.stdout).trim().replace(/^nginx version: /, '');
}

async function measurePaths(paths: readonly BenchPath[], config: BenchConfig, workDir: string): Promise<PathResult[]> {
  const body = sayHelloFrame(NAME);
  const bodyFile = path.join(workDir, 'hello-request.bin');
  writeFileSync(bodyFile, body);
  const results: Array<ShapeResult & { path: BenchPath['path'] }> = [];
  for (const benchPath of paths) {
    const expected = { name: NAME, pods: benchPath.pods };
    await verifyCalls(benchPath.port, body, `${benchPath.path} before load`, expected);
    for (const shape of SHAPES) {
      results.push({
        path: benchPath.path,
        ...(await measureShape(benchPath.port, bodyFile, workDir, benchPath.path, shape, {
          ...config,
          warmupRequests: WARMUP_REQUESTS,
        })),
      });
    }
    await verifyCalls(benchPath.port, body, `${benchPath.path} after load`, expected);
  }
  const directP99 = (shape: string) => results.find((r) => r.path === 'direct' && r.shape === shape)!.p99Ms;
  return results.map((r) => ({ ...r, p99VsDirect: r.p99Ms / directP99(r.shape) }));
}

function report(results: readonly PathResult[], paths: readonly BenchPath[], config: BenchConfig): void {
  const range = (r: ShapeResult): string[] =>
    config.runs > 1 ? [`${Math.round(Math.min(...r.runs))}–${Math.round(Math.max(...r.runs))}`] : [];
  const rows = [
    ['path', 'shape', 'calls/s', ...(config.runs > 1 ? ['range'] : []), 'p50 ms', 'p99 ms', 'p99 × direct'],
    ...results.map((r) => [
      r.path,
      r.shape,
      Math.round(r.callsPerSecond).toString(),
      ...range(r),
      fmtMs(r.p50Ms),
      fmtMs(r.p99Ms),
      r.p99VsDirect.toFixed(2),
    ]),
  ];
  const runs = config.runs > 1 ? `median of ${config.runs} ` : '';
  process.stdout.write(`\n${paths.map((p) => `${p.path}: ${p.description}`).join('\n')}\n`);
  process.stdout.write(
    `h2load -t 1, ${runs}~${config.seconds} s measured runs after a ${WARMUP_REQUESTS}-call warm-up; ${cpus().length} cores, ${nginxVersion()}, node ${process.version}\n`,
  );
  process.stdout.write(`${table(rows)}\n`);
  const l7 = results.filter((r) => r.path === 'L7');
  const met = l7.filter((r) => r.p99VsDirect <= TARGET_P99_RATIO).map((r) => r.shape);
  process.stdout.write(
    `target L7 p99 ≤ ${TARGET_P99_RATIO}× direct p99: met for ${met.length} of ${l7.length} shapes${met.length ? ` (${met.join(', ')})` : ''}\n`,
  );
}

async function bench(config: BenchConfig): Promise<void> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'bench-lb-'));
  let pods: Pods | undefined;
  let stopNginx: (() => Promise<void>) | undefined;
  try {
    pods = await startPods(config.pods);
    const nginx = await startNginx({
      l7: { kind: 'grpc', backends: pods.ports },
      l4: { kind: 'tcp', backends: pods.ports },
    });
    stopNginx = nginx.stop;
    const paths: BenchPath[] = [
      {
        path: 'direct',
        description: `h2load to ${pods.names[0]}, no proxy`,
        port: pods.ports[0],
        pods: [pods.names[0]],
      },
      {
        path: 'L7',
        description: `nginx grpc_pass over ${config.pods} pods (each call balanced)`,
        port: nginx.ports.l7,
        pods: pods.names,
      },
      {
        path: 'L4',
        description: `nginx stream over ${config.pods} pods (each connection balanced)`,
        port: nginx.ports.l4,
        pods: pods.names,
      },
    ];
    const results = await measurePaths(paths, config, workDir);
    report(results, paths, config);
    const json = {
      time: new Date().toISOString(),
      cores: cpus().length,
      node: process.version,
      nginx: nginxVersion(),
      pods: config.pods,
      method: `h2load -t 1, ${WARMUP_REQUESTS}-call warm-up then ${config.runs} measured run(s) of ~${config.seconds} s, median reported`,
      targetP99VsDirect: TARGET_P99_RATIO,
      paths: paths.map(({ path: name, description }) => ({ path: name, description })),
      results,
    };
    mkdirSync(path.dirname(config.json), { recursive: true });
    writeFileSync(config.json, `${JSON.stringify(json, null, 2)}\n`);
    process.stdout.write(`wrote ${path.relative(process.cwd(), config.json)}\n`);
  } finally {
    await Promise.all([stopNginx?.(), pods?.stop()]);
    rmSync(workDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runScript({
    name: 'bench:lb',
    settings: benchSettings,
    missing: () =>
      nginxNeeded() ??
      (haveCommand('h2load') ? undefined : 'needs h2load; install it with: apt-get install -y nghttp2-client'),
    run: async (config) => {
      await bench({ ...config, json: path.resolve(config.json) });
      return 0;
    },
  });
}
