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
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { listeningPort, startProcess, stopProcess, type RunningProcess } from '../harness/processes';
import { sayHelloFrame } from '../harness/raw-grpc';
import { fail, fmtMs, haveCommand, measureShape, table, verifyCalls, type ShapeResult } from './h2load';

const ROOT = path.resolve(__dirname, '..');
const POD = 'bench-pod';
const NAME = 'world';
const EXPECTED_MESSAGE = `Hello ${NAME} from ${POD}`;
const SHAPES = [
  { shape: '-c 1 -m 100', clients: 1, streams: 100 },
  { shape: '-c 4 -m 50', clients: 4, streams: 50 },
];
/** grpc-go helloworld on this machine with this method (h2load -t 1), used when --go is not given. */
const GO_REFERENCE: Record<string, number> = { '-c 1 -m 100': 70_000, '-c 4 -m 50': 88_000 };
// Node keeps speeding up for several seconds (JIT tiers, heap sizing): warm up ~5 s before measuring.
const WARMUP_REQUESTS = 100_000;
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const GOPATH = '/usr/share/gocode';

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
  const options: Options = {
    go: false,
    seconds: 7,
    runs: 1,
    server: path.join(ROOT, 'app', 'server.ts'),
    node: process.execPath,
    nodeArgs: [],
  };
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
  process.stderr.write(
    `bench/server: ${message}\nusage: npm run bench:server -- [--go] [--json PATH] [--seconds N] [--runs N] [--server FILE] [--node PATH] [--node-arg ARG]...\n`,
  );
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------- server process

interface Server {
  label: string;
  proc: RunningProcess;
  port: number;
}

const output = (proc: RunningProcess): string => [...proc.stdout, ...proc.stderr].join('\n');

async function startServer(label: string, command: string, args: string[], cwd: string): Promise<Server> {
  const proc = startProcess(command, args, {
    cwd,
    env: { POD_NAME: POD, LOG_CALLS: 'false', SHUTDOWN_GRACE_MS: '2000' },
  });
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

// ------------------------------------------------------------------------------------------------------ measure

/** Start, check, measure, check again, stop. */
async function measure(
  label: string,
  command: string,
  args: string[],
  cwd: string,
  body: Buffer,
  bodyFile: string,
  workDir: string,
  options: Options,
): Promise<ShapeResult[]> {
  const server = await startServer(label, command, args, cwd);
  const expected = { name: NAME, pods: [POD] };
  try {
    await verifyCalls(server.port, body, `${label} before load`, expected);
    const results: ShapeResult[] = [];
    for (const shape of SHAPES) {
      results.push(
        await measureShape(server.port, bodyFile, workDir, server.label, shape, {
          ...options,
          warmupRequests: WARMUP_REQUESTS,
        }),
      );
    }
    await verifyCalls(server.port, body, `${label} after load`, expected);
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
  if (build.status !== 0)
    fail(`go build failed (${build.error?.message ?? build.status}):\n${build.stdout}${build.stderr}`);
  process.stderr.write('done\n');
  return binary;
}

// ------------------------------------------------------------------------------------------------------ report

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
    const nodeArgs = [
      ...options.nodeArgs,
      ...(isTs ? ['-r', 'ts-node/register'] : []),
      options.server,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
    ];
    const node = await measure('node', options.node, nodeArgs, ROOT, body, bodyFile, workDir, options);
    const go = goBinary
      ? await measure(
          'grpc-go',
          goBinary,
          ['--host', '127.0.0.1', '--port', '0'],
          workDir,
          body,
          bodyFile,
          workDir,
          options,
        )
      : undefined;

    const goRate = (shape: string): number => go?.find((r) => r.shape === shape)?.callsPerSecond ?? GO_REFERENCE[shape];
    const rows = [
      [
        'server',
        'shape',
        'calls/s',
        ...(options.runs > 1 ? ['range'] : []),
        'p50 ms',
        'p99 ms',
        'mean ms',
        'sd ms',
        'max ms',
        '× grpc-go',
      ],
    ];
    const range = (r: ShapeResult): string[] =>
      options.runs > 1 ? [`${Math.round(Math.min(...r.runs))}–${Math.round(Math.max(...r.runs))}`] : [];
    for (const [label, results] of [
      ['node', node],
      ['grpc-go', go],
    ] as const) {
      for (const r of results ?? []) {
        rows.push([
          label,
          r.shape,
          Math.round(r.callsPerSecond).toString(),
          ...range(r),
          fmtMs(r.p50Ms),
          fmtMs(r.p99Ms),
          fmtMs(r.meanMs),
          fmtMs(r.sdMs),
          fmtMs(r.maxMs),
          (r.callsPerSecond / goRate(r.shape)).toFixed(2),
        ]);
      }
    }
    const server = path.relative(ROOT, options.server);
    const nodeVersion = spawnSync(options.node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    process.stdout.write(
      `\ngreeter ${server} (node ${nodeVersion}${options.nodeArgs.length ? ` ${options.nodeArgs.join(' ')}` : ''}), h2load -t 1, ${options.runs > 1 ? `median of ${options.runs} ` : ''}~${options.seconds}s measured run${options.runs > 1 ? 's' : ''} after a ${WARMUP_REQUESTS}-call warm-up\n`,
    );
    process.stdout.write(`${table(rows)}\n`);
    process.stdout.write(
      go
        ? '× grpc-go: measured against grpc-go 1.33 (Debian) in this run.\n'
        : `× grpc-go: against REFERENCE figures, not measured (${Object.entries(GO_REFERENCE)
            .map(([s, v]) => `${s}: ${v / 1000}k/s`)
            .join(', ')}); pass --go to measure.\n`,
    );
    process.stdout.write(
      `checks passed: grpc-status 0, hostname=${POD}, reply "${EXPECTED_MESSAGE}" before and after load; h2load 0 failed/errored, all 2xx\n`,
    );

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
