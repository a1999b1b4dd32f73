/**
 * `npm run demo:lb`: the problem and the fix on one machine, with real parts. Starts greeter pods from app/ and
 * nginx as an L7 and an L4 proxy, then sends calls through six paths, each over ONE client channel, and prints
 * how they spread over the pods. Flags: `npm run demo:lb -- --help`.
 */
import { constants } from 'node:os';
import { clientSettings, runClient, type ClientConfig, type RunResult } from '../app/client';
import { boolean, defaultSettings, integer, milliseconds, setting, type Settings } from '../app/config';
import { nginxConfigPreview, nginxNeeded, startNginx, type Nginx } from '../harness/nginx';
import { GATEWAY_HOST, type ListenerSpec } from '../harness/nginx-config';
import { startPods, type Pods } from '../harness/pods';
import { runScript } from '../harness/script';
import { formatSpread, spreadOver, type Spread } from '../harness/spread';

const demoSettings = {
  pods: setting({ flag: 'pods', parser: integer(2, 9), default: 3, help: 'greeter pods behind each path' }),
  calls: setting({
    flag: 'calls',
    parser: integer(10, 1_000_000),
    default: 300,
    help: 'calls per path, all over one channel',
  }),
  concurrency: setting({
    flag: 'concurrency',
    parser: integer(1, 100),
    default: 4,
    help: 'calls in flight on that channel',
  }),
  warmupMs: setting({
    flag: 'warmup-ms',
    parser: milliseconds,
    default: 300,
    help: 'round_robin: calls before counting starts, so every subchannel is connected',
  }),
  maxConnectionAgeMs: setting({
    flag: 'max-connection-age-ms',
    parser: integer(100, 60_000),
    default: 500,
    help: "MAX_CONNECTION_AGE_MS of the last path's pods",
  }),
  agePathMs: setting({
    flag: 'age-path-ms',
    parser: integer(100, 600_000),
    default: 3000,
    help: 'the last path spreads its calls over about this long, so connections age',
  }),
  printConfig: setting({
    flag: 'print-config',
    parser: boolean,
    default: false,
    help: 'print the nginx.conf the demo renders (example ports and paths) and exit, starting nothing',
  }),
};

type DemoConfig = Settings<typeof demoSettings>;
type Listener = 'l7' | 'l7Tls' | 'l4' | 'l4Aged';

interface DemoPath {
  title: string;
  /** What the path stands for in a cluster. */
  kubernetes: string;
  /** How the counts were taken, when that matters for reading them. */
  note?: string;
  pods: Pods;
  client: Partial<ClientConfig>;
}

/** nginx's listeners: L7 plaintext and TLS, and L4, in front of the pods; L4 in front of the pods that age connections. */
function demoListeners(podPorts: readonly number[], agedPodPorts: readonly number[]): Record<Listener, ListenerSpec> {
  return {
    l7: { kind: 'grpc', backends: podPorts },
    l7Tls: { kind: 'grpc-tls', backends: podPorts },
    l4: { kind: 'tcp', backends: podPorts },
    l4Aged: { kind: 'tcp', backends: agedPodPorts },
  };
}

/** `--print-config`: the configuration from the same template, with example pod ports, before anything starts. */
function printConfig(config: DemoConfig): number {
  const examplePorts = (first: number) => Array.from({ length: config.pods }, (_, i) => first + i);
  process.stdout.write(nginxConfigPreview(demoListeners(examplePorts(50051), examplePorts(50061))));
  return 0;
}

function demoPaths(config: DemoConfig, pods: Pods, agedPods: Pods, nginx: Nginx<Listener>): DemoPath[] {
  const proxy = (listener: Listener) => `127.0.0.1:${nginx.ports[listener]}`;
  const intervalMs = Math.max(1, Math.round(config.agePathMs / config.calls));
  return [
    {
      title: 'direct, pick_first',
      kubernetes: "a client dialing the pods' addresses (a headless Service) with gRPC's default policy",
      pods,
      client: { target: pods.target, lb: 'pick_first' },
    },
    {
      title: 'L4 proxy (nginx stream)',
      kubernetes: 'a ClusterIP Service: kube-proxy balances connections, and the channel keeps one',
      pods,
      client: { target: proxy('l4') },
    },
    {
      title: 'L7 proxy (nginx grpc_pass)',
      kubernetes: 'ingress-nginx, or an Istio gateway or sidecar: every call is balanced',
      pods,
      client: { target: proxy('l7') },
    },
    {
      title: `L7 proxy with TLS (${GATEWAY_HOST})`,
      kubernetes: "lib/'s Istio ILB gateway, dialed by address with a server-name override",
      pods,
      client: { target: proxy('l7Tls'), caFile: nginx.certificates!.caFile, serverName: GATEWAY_HOST },
    },
    {
      title: 'client-side round_robin',
      kubernetes: 'a headless Service: the client balances every call over all pod addresses',
      note: `counted after a ${config.warmupMs} ms warm-up on the same channel, so every subchannel is connected`,
      pods,
      client: { target: pods.target, lb: 'round_robin', warmupMs: config.warmupMs },
    },
    {
      title: `L4 proxy + server max connection age ${config.maxConnectionAgeMs} ms`,
      kubernetes: 'a ClusterIP Service in front of pods with MAX_CONNECTION_AGE_MS: each reconnect can land elsewhere',
      note: `one call at a time, ${intervalMs} ms apart, so the run outlasts several ${config.maxConnectionAgeMs} ms connection ages`,
      pods: agedPods,
      client: { target: proxy('l4Aged'), concurrency: 1, intervalMs },
    },
  ];
}

interface PathOutcome {
  path: DemoPath;
  result: RunResult;
  spread: Spread;
  seconds: number;
}

async function runPath(path: DemoPath, config: DemoConfig, stop: AbortSignal): Promise<PathOutcome> {
  const errors: string[] = [];
  const started = Date.now();
  const result = await runClient(
    {
      ...defaultSettings(clientSettings),
      quiet: true,
      intervalMs: 0,
      count: config.calls,
      concurrency: config.concurrency,
      ...path.client,
    },
    { info: () => undefined, error: (line) => errors.push(line) },
    stop,
  );
  for (const line of errors.slice(0, 3)) process.stdout.write(`  ${line}\n`);
  return { path, result, spread: spreadOver(path.pods.names, result), seconds: (Date.now() - started) / 1000 };
}

function printPath({ path, result, spread, seconds }: PathOutcome, index: number, total: number): void {
  const lines = [
    `\n[${index + 1}/${total}] ${path.title} (${seconds.toFixed(1)} s)`,
    `  in Kubernetes: ${path.kubernetes}`,
  ];
  if (path.note) lines.push(`  ${path.note}`);
  process.stdout.write(`${[...lines, formatSpread(spread, result)].join('\n')}\n`);
}

function printOverview(outcomes: readonly PathOutcome[]): void {
  const rows = [
    ['path', 'pods reached', 'max/min', 'failed'],
    ...outcomes.map(({ path, result, spread }) => [
      path.title,
      `${spread.reached}/${spread.pods}`,
      Number.isFinite(spread.maxMinRatio) ? spread.maxMinRatio.toFixed(2) : '∞',
      String(result.failures),
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  process.stdout.write(
    `\n${rows
      .map((row) =>
        row
          .map((cell, column) => cell.padEnd(widths[column]))
          .join('  ')
          .trimEnd(),
      )
      .join('\n')}\n`,
  );
}

/**
 * Runs the demo until it ends or `stop` is aborted (a signal, or stdout closed); either way every greeter and nginx
 * it started is stopped, and nginx's temp dir removed, before it resolves.
 */
async function demo(config: DemoConfig, stop: AbortSignal): Promise<number> {
  process.stdout.write(
    `starting ${config.pods} greeter pods, ${config.pods} more with MAX_CONNECTION_AGE_MS=${config.maxConnectionAgeMs}, and nginx…\n`,
  );
  const started = await Promise.allSettled([
    startPods(config.pods),
    // Grace: calls in flight on an aged connection may finish.
    startPods(config.pods, {
      MAX_CONNECTION_AGE_MS: String(config.maxConnectionAgeMs),
      MAX_CONNECTION_AGE_GRACE_MS: '5000',
    }),
  ]);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((result) => result.status === 'fulfilled' && result.value.stop()));
    throw failed.reason;
  }
  const [pods, agedPods] = started.map((result) => (result as PromiseFulfilledResult<Pods>).value);
  let nginx: Nginx<Listener> | undefined;
  try {
    if (stop.aborted) return 1;
    nginx = await startNginx<Listener>(demoListeners(pods.ports, agedPods.ports));
    const paths = demoPaths(config, pods, agedPods, nginx);
    process.stdout.write(
      `${paths.length} paths, ${config.calls} calls each over ONE client channel (${config.concurrency} in flight unless said)\n`,
    );
    const outcomes: PathOutcome[] = [];
    for (const path of paths) {
      if (stop.aborted) break;
      const outcome = await runPath(path, config, stop);
      if (stop.aborted) break;
      printPath(outcome, outcomes.length, paths.length);
      outcomes.push(outcome);
    }
    if (stop.reason !== STDOUT_CLOSED) printOverview(outcomes);
    return outcomes.some(({ result }) => result.failures > 0) ? 1 : 0;
  } finally {
    await Promise.all([nginx?.stop(), pods.stop(), agedPods.stop()]);
  }
}

/** The abort reason when stdout's reader went away (`npm run demo:lb | head`). */
const STDOUT_CLOSED = 'stdout closed';

/**
 * Stops the demo on SIGINT, SIGTERM or a closed stdout, and says how it ended: a signal's exit code is 128 + its
 * number, as a shell reports it, and a closed stdout's is SIGPIPE's (141). Further signals while it cleans up are
 * taken, not fatal: cleaning up ends by itself (each process gets SIGKILL 10 s after SIGTERM).
 */
async function untilStopped(run: (stop: AbortSignal) => Promise<number>): Promise<number> {
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => stop.abort(signal);
  // EPIPE is what a write gets once the reader closed the pipe; without a listener it would crash the process.
  const onStdoutError = (error: NodeJS.ErrnoException) => stop.abort(error.code === 'EPIPE' ? STDOUT_CLOSED : error);
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  process.stdout.on('error', onStdoutError);
  try {
    const code = await run(stop.signal);
    if (!stop.signal.aborted) return code;
    const reason: unknown = stop.signal.reason;
    if (reason === STDOUT_CLOSED) return 128 + constants.signals.SIGPIPE;
    if (reason === 'SIGINT' || reason === 'SIGTERM') return 128 + constants.signals[reason];
    throw reason;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

if (require.main === module) {
  // Exit 0 when every call succeeded, 1 when any failed or the demo failed, 2 on a bad flag or without nginx,
  // 128 + the signal's number when stopped by SIGINT or SIGTERM, 141 when stdout closed.
  runScript({
    name: 'demo:lb',
    settings: demoSettings,
    missing: nginxNeeded,
    run: (config) =>
      config.printConfig ? Promise.resolve(printConfig(config)) : untilStopped((stop) => demo(config, stop)),
  });
}
