/**
 * `npm run demo:lb`: the problem and the fix on one machine, with real parts. Starts greeter pods from app/ and
 * nginx as an L7 and an L4 proxy, then sends calls through six paths, each over ONE client channel, and prints
 * how they spread over the pods. Flags: `npm run demo:lb -- --help`.
 */
import { clientSettings, runClient, type ClientConfig, type RunResult } from '../app/client';
import { boolean, defaultSettings, integer, milliseconds, setting, type Settings } from '../app/config';
import { nginxNeeded, startNginx, type Nginx } from '../harness/nginx';
import { GATEWAY_HOST } from '../harness/nginx-config';
import { startPods, type Pods } from '../harness/pods';
import { runScript } from '../harness/script';
import { formatSpread, spreadOver, type Spread } from '../harness/spread';

const demoSettings = {
  pods: setting({ flag: 'pods', parser: integer(2, 9), default: 3, help: 'greeter pods behind each path' }),
  calls: setting({ flag: 'calls', parser: integer(10, 1_000_000), default: 300, help: 'calls per path, all over one channel' }),
  concurrency: setting({ flag: 'concurrency', parser: integer(1, 100), default: 4, help: 'calls in flight on that channel' }),
  warmupMs: setting({ flag: 'warmup-ms', parser: milliseconds, default: 300, help: 'round_robin: calls before counting starts, so every subchannel is connected' }),
  maxConnectionAgeMs: setting({ flag: 'max-connection-age-ms', parser: integer(100, 60_000), default: 500, help: "MAX_CONNECTION_AGE_MS of the last path's pods" }),
  agePathMs: setting({ flag: 'age-path-ms', parser: integer(100, 600_000), default: 3000, help: 'the last path spreads its calls over about this long, so connections age' }),
  printConfig: setting({ flag: 'print-config', parser: boolean, default: false, help: 'print the rendered nginx.conf first' }),
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
    { ...defaultSettings(clientSettings), quiet: true, intervalMs: 0, count: config.calls, concurrency: config.concurrency, ...path.client },
    { info: () => undefined, error: (line) => errors.push(line) },
    stop,
  );
  for (const line of errors.slice(0, 3)) process.stdout.write(`  ${line}\n`);
  return { path, result, spread: spreadOver(path.pods.names, result), seconds: (Date.now() - started) / 1000 };
}

function printPath({ path, result, spread, seconds }: PathOutcome, index: number, total: number): void {
  const lines = [`\n[${index + 1}/${total}] ${path.title} (${seconds.toFixed(1)} s)`, `  in Kubernetes: ${path.kubernetes}`];
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
  process.stdout.write(`\n${rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd()).join('\n')}\n`);
}

async function demo(config: DemoConfig, stop: AbortSignal): Promise<number> {
  process.stdout.write(`starting ${config.pods} greeter pods, ${config.pods} more with MAX_CONNECTION_AGE_MS=${config.maxConnectionAgeMs}, and nginx…\n`);
  const started = await Promise.allSettled([
    startPods(config.pods),
    // Grace: calls in flight on an aged connection may finish.
    startPods(config.pods, { MAX_CONNECTION_AGE_MS: String(config.maxConnectionAgeMs), MAX_CONNECTION_AGE_GRACE_MS: '5000' }),
  ]);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((result) => result.status === 'fulfilled' && result.value.stop()));
    throw failed.reason;
  }
  const [pods, agedPods] = started.map((result) => (result as PromiseFulfilledResult<Pods>).value);
  let nginx: Nginx<Listener> | undefined;
  try {
    nginx = await startNginx<Listener>({
      l7: { kind: 'grpc', backends: pods.ports },
      l7Tls: { kind: 'grpc-tls', backends: pods.ports },
      l4: { kind: 'tcp', backends: pods.ports },
      l4Aged: { kind: 'tcp', backends: agedPods.ports },
    });
    if (config.printConfig) process.stdout.write(`\n${nginx.config}\n`);
    const paths = demoPaths(config, pods, agedPods, nginx);
    process.stdout.write(`${paths.length} paths, ${config.calls} calls each over ONE client channel (${config.concurrency} in flight unless said)\n`);
    const outcomes: PathOutcome[] = [];
    for (const path of paths) {
      if (stop.aborted) break;
      const outcome = await runPath(path, config, stop);
      printPath(outcome, outcomes.length, paths.length);
      outcomes.push(outcome);
    }
    printOverview(outcomes);
    return outcomes.some(({ result }) => result.failures > 0) ? 1 : 0;
  } finally {
    await Promise.all([nginx?.stop(), pods.stop(), agedPods.stop()]);
  }
}

if (require.main === module) {
  // Exit 0 when every call succeeded, 1 when any failed, 2 on a bad flag or without nginx.
  runScript({
    name: 'demo:lb',
    settings: demoSettings,
    missing: nginxNeeded,
    run: (config) => {
      const stop = new AbortController();
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
      return demo(config, stop.signal);
    },
  });
}
