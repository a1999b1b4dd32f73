/**
 * The greeter client: calls SayHello in a loop over ONE channel and logs each reply the way the Go sample does
 * (`2019/10/09 14:21:32 Hello grpc.example.com:443 from greeter-6cbdf6bcf7-7wqg6`), then prints how the calls
 * spread over pods. With an L4 balancer every call lands on one pod; through an L7 proxy or with round_robin
 * they rotate.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import {
  ConfigError,
  boolean,
  integer,
  milliseconds,
  oneOf,
  optionalFile,
  optionalMilliseconds,
  parseSettings,
  setting,
  text,
  usage,
  type Settings,
} from './config';
import { KubernetesTargetError, TARGET_FORM, registerKubernetesResolver } from 'grpc-js-kubernetes-resolver';
import { GREETER_SERVICE, GreeterClient, type HelloReply } from './proto';
import { CLIENT_ENV } from './settings';
import { XDS_BOOTSTRAP_ENV, enableXds, isXdsTarget } from './xds';

export const clientSettings = {
  target: setting({
    flag: 'target',
    env: CLIENT_ENV.target,
    parser: text,
    default: 'localhost:50051',
    help: `host:port or any grpc-js target, e.g. dns:///greeter-headless.testing.svc.cluster.local:50051, or kubernetes:///<service>[.<namespace>]:<port name or number> for the ready pods of a Service, watched through the Kubernetes API (use with --lb round_robin), or xds:///<listener> through an xDS control plane such as Istio's (bootstrap from ${XDS_BOOTSTRAP_ENV}, which Istio's grpc-agent sets; the control plane picks the balancing policy, so --lb does not apply)`,
  }),
  name: setting({
    flag: 'name',
    env: 'NAME',
    parser: text,
    default: undefined as string | undefined,
    help: 'name to greet (default: the target, as the Go sample does)',
  }),
  tls: setting({
    flag: 'tls',
    env: 'TLS',
    parser: boolean,
    default: false,
    help: 'use TLS with the system CAs (implied by --ca-file)',
  }),
  caFile: setting({
    flag: 'ca-file',
    env: CLIENT_ENV.caFile,
    parser: optionalFile,
    default: undefined,
    help: 'PEM CA bundle to verify the server; turns TLS on',
  }),
  serverName: setting({
    flag: 'server-name',
    env: CLIENT_ENV.serverName,
    parser: text,
    default: undefined as string | undefined,
    help: 'TLS server name and :authority when dialing an address, e.g. grpc.example.com',
  }),
  lb: setting({
    flag: 'lb',
    env: CLIENT_ENV.lbPolicy,
    parser: oneOf('pick_first', 'round_robin'),
    default: 'pick_first',
    help: 'client-side load-balancing policy',
  }),
  maxAttempts: setting({
    flag: 'max-attempts',
    env: CLIENT_ENV.maxAttempts,
    parser: integer(1, 5),
    default: 1,
    help: 'attempts per call: above 1, a call that fails UNAVAILABLE before the server answered is retried (safe: SayHello has no side effects)',
  }),
  waitForReady: setting({
    flag: 'wait-for-ready',
    env: CLIENT_ENV.waitForReady,
    parser: boolean,
    default: false,
    help: 'while no server is reachable, a call waits for one (within its deadline) instead of failing UNAVAILABLE at once',
  }),
  dnsMinTimeBetweenResolutionsMs: setting({
    flag: 'dns-min-time-between-resolutions-ms',
    env: CLIENT_ENV.dnsMinTimeBetweenResolutionsMs,
    parser: optionalMilliseconds,
    default: undefined,
    help: "for dns: targets, the shortest time between two resolutions of the name (grpc-js grpc.dns_min_time_between_resolutions_ms); unset: grpc-js's 30 s",
  }),
  count: setting({
    flag: 'count',
    env: 'COUNT',
    parser: integer(0),
    default: 0,
    help: 'calls to make; 0 runs until SIGINT/SIGTERM',
  }),
  intervalMs: setting({
    flag: 'interval-ms',
    env: CLIENT_ENV.intervalMs,
    parser: milliseconds,
    default: 1000,
    help: 'pause after each call, per worker',
  }),
  concurrency: setting({
    flag: 'concurrency',
    env: 'CONCURRENCY',
    parser: integer(1, 10_000),
    default: 1,
    help: 'calls in flight at once',
  }),
  deadlineMs: setting({
    flag: 'deadline-ms',
    env: 'DEADLINE_MS',
    parser: integer(1),
    default: 5000,
    help: 'deadline of each call',
  }),
  warmupMs: setting({
    flag: 'warmup-ms',
    env: 'WARMUP_MS',
    parser: milliseconds,
    default: 0,
    help: 'call for this long before counting, so round_robin has connected every subchannel',
  }),
  summaryEvery: setting({
    flag: 'summary-every',
    env: CLIENT_ENV.summaryEvery,
    parser: integer(0),
    default: 0,
    help: 'print the per-pod summary every N calls; 0: only at the end',
  }),
  quiet: setting({
    flag: 'quiet',
    env: 'QUIET',
    parser: boolean,
    default: false,
    help: 'no line per reply, only summaries and errors',
  }),
};

export type ClientConfig = Settings<typeof clientSettings>;

export interface ClientOutput {
  /** A reply or a summary: stdout in the CLI. */
  info(line: string): void;
  /** A failed call: stderr in the CLI. */
  error(line: string): void;
}

export interface RunResult {
  calls: number;
  failures: number;
  /** Replies per pod, from the `hostname` response header. */
  byPod: Map<string, number>;
  /** Failures per gRPC status name. */
  byStatus: Map<string, number>;
}

/** A server's status message is printed up to this many characters. */
export const MAX_DETAILS_CHARS = 200;

/**
 * A failed call's status name and the text to print. grpc-js hands over a grpc-status that is not a number as NaN:
 * that is the server's fault, reported as INTERNAL as grpc-go does ("malformed grpc-status"). Long messages are cut.
 */
export function describeFailure(error: Pick<grpc.ServiceError, 'code' | 'details'>): { status: string; text: string } {
  const details =
    error.details.length > MAX_DETAILS_CHARS
      ? `${error.details.slice(0, MAX_DETAILS_CHARS)}… (${error.details.length - MAX_DETAILS_CHARS} more characters)`
      : error.details;
  if (!Number.isInteger(error.code)) {
    return {
      status: 'INTERNAL',
      text: `INTERNAL: malformed grpc-status from the server (not a status code)${details ? `; its message: ${details}` : ''}`,
    };
  }
  const status = grpc.status[error.code] ?? `status ${error.code}`;
  return { status, text: `${status}: ${details}` };
}

/** Go's log timestamp: `2019/10/09 14:21:32` in local time. */
export function goLogTime(date = new Date()): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}/${two(date.getMonth() + 1)}/${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

const BAR_WIDTH = 40;

/** One line per pod, sorted by name: count, share of the replies and a bar scaled so 100% is BAR_WIDTH characters. */
export function formatPodRows(byPod: ReadonlyMap<string, number>, replies: number): string[] {
  const pods = [...byPod.entries()].sort(([a], [b]) => a.localeCompare(b));
  const width = Math.max(3, ...pods.map(([pod]) => pod.length));
  return pods.map(([pod, count]) => {
    const share = replies === 0 ? 0 : count / replies;
    return `  ${pod.padEnd(width)} ${String(count).padStart(7)} ${(share * 100).toFixed(1).padStart(5)}% ${'#'.repeat(Math.round(share * BAR_WIDTH))}`.trimEnd();
  });
}

/** The summary line, then count, share and a bar per pod. */
export function formatSummary(result: RunResult): string {
  const failures = [...result.byStatus.entries()].map(([status, count]) => `${status}=${count}`).join(' ');
  return [
    `summary: ${result.calls} calls, ${result.failures} failed${failures ? ` (${failures})` : ''}, ${result.byPod.size} pods`,
    ...formatPodRows(result.byPod, result.calls - result.failures),
  ].join('\n');
}

/**
 * The client's gRPC service config (https://github.com/grpc/grpc/blob/master/doc/service_config.md): its LB policy,
 * and for SayHello whether calls wait for a connection and, above one attempt, the retry policy of gRFC A6: a call
 * that fails UNAVAILABLE before any response header came back (a connection refused, a draining pod's GOAWAY, a
 * proxy that found no pod) is sent again, to the next pod behind a balancer, after a random backoff (gRPC's retry
 * guide's values, https://grpc.io/docs/guides/retry/). docs/strategies.md has the same for other languages.
 */
export function greeterServiceConfig(config: Pick<ClientConfig, 'lb' | 'maxAttempts' | 'waitForReady'>) {
  return {
    loadBalancingConfig: [{ [config.lb]: {} }],
    methodConfig: [
      {
        name: [{ service: GREETER_SERVICE }],
        waitForReady: config.waitForReady,
        ...(config.maxAttempts > 1 && {
          retryPolicy: {
            maxAttempts: config.maxAttempts,
            initialBackoff: '0.1s',
            maxBackoff: '1s',
            backoffMultiplier: 2,
            retryableStatusCodes: ['UNAVAILABLE'],
          },
        }),
      },
    ],
  };
}

/**
 * grpc-js parses a service config's `waitForReady` but applies only the one in a call's metadata options (@grpc/grpc-js
 * 1.14.7 src/service-config.ts validates it; src/resolving-call.ts and src/load-balancing-call.ts read
 * `metadata.getOptions().waitForReady`): this sets it on every call of the channel.
 */
const waitForReady: grpc.Interceptor = (options, nextCall) =>
  new grpc.InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      metadata.setOptions({ ...metadata.getOptions(), waitForReady: true });
      next(metadata, listener);
    },
  });

export function createGreeterClient(
  config: Pick<
    ClientConfig,
    | 'target'
    | 'tls'
    | 'caFile'
    | 'serverName'
    | 'lb'
    | 'maxAttempts'
    | 'waitForReady'
    | 'dnsMinTimeBetweenResolutionsMs'
  >,
): GreeterClient {
  const useTls = config.tls || config.caFile !== undefined;
  if (config.serverName !== undefined && !useTls) {
    throw new ConfigError(
      'SERVER_NAME',
      config.serverName,
      'TLS to be on (--tls or --ca-file) for a server-name override',
    );
  }
  const credentials = useTls
    ? grpc.credentials.createSsl(config.caFile === undefined ? null : readFileSync(config.caFile))
    : grpc.credentials.createInsecure();
  const options: grpc.ClientOptions = {
    'grpc.service_config': JSON.stringify(greeterServiceConfig(config)),
    ...(config.serverName !== undefined && {
      'grpc.ssl_target_name_override': config.serverName,
      'grpc.default_authority': config.serverName,
    }),
    ...(config.dnsMinTimeBetweenResolutionsMs !== undefined && {
      'grpc.dns_min_time_between_resolutions_ms': config.dnsMinTimeBetweenResolutionsMs,
    }),
    ...(config.waitForReady && { interceptors: [waitForReady] }),
  };
  registerKubernetesResolver();
  const channelCredentials = isXdsTarget(config.target) ? enableXds(config, credentials) : credentials;
  try {
    return new GreeterClient(config.target, channelCredentials, options);
  } catch (error) {
    // grpc-js parses a kubernetes: target when it makes the channel: a bad one is a bad setting like any other.
    if (error instanceof KubernetesTargetError)
      throw new ConfigError('TARGET', config.target, `${TARGET_FORM} (${error.reason})`);
    throw error;
  }
}

/**
 * The default name is the address the client believes it talks to, as in the Go sample's
 * `Hello grpc.example.com:443`: the server-name override with the target's port, else the target without scheme.
 */
export function defaultName(config: { target: string; serverName?: string }): string {
  const address = config.target.replace(/^[a-z0-9+.-]+:\/\/[^/]*\//i, '');
  if (config.serverName === undefined) return address;
  const port = /:(\d+)$/.exec(address)?.[1] ?? '443';
  return `${config.serverName}:${port}`;
}

/**
 * Runs the call loop until `count` calls are done or `stop` is aborted, then resolves with what happened.
 * A failed call never throws: it is counted and reported. Bad settings throw a ConfigError before any call.
 */
export async function runClient(config: ClientConfig, output: ClientOutput, stop?: AbortSignal): Promise<RunResult> {
  const client = createGreeterClient(config);
  const name = config.name ?? defaultName(config);
  const result: RunResult = { calls: 0, failures: 0, byPod: new Map(), byStatus: new Map() };
  let issued = 0;
  const more = () => !stop?.aborted && (config.count === 0 || issued < config.count);

  // Stopping cancels the calls in flight, so that it never waits out a deadline.
  const inFlight = new Set<grpc.ClientUnaryCall>();
  const cancelAll = () => inFlight.forEach((call) => call.cancel());
  stop?.addEventListener('abort', cancelAll);
  const callOnce = (counted: boolean) =>
    new Promise<void>((resolve) => {
      let pod = 'unknown';
      const call = client.SayHello(
        { name },
        new grpc.Metadata(),
        { deadline: Date.now() + config.deadlineMs },
        (error, reply?: HelloReply) => {
          inFlight.delete(call);
          if (!counted || (stop?.aborted && error?.code === grpc.status.CANCELLED)) return resolve();
          result.calls++;
          if (error) {
            result.failures++;
            const { status, text } = describeFailure(error);
            result.byStatus.set(status, (result.byStatus.get(status) ?? 0) + 1);
            output.error(`${goLogTime()} call failed: ${text}`);
          } else {
            result.byPod.set(pod, (result.byPod.get(pod) ?? 0) + 1);
            if (!config.quiet) output.info(`${goLogTime()} ${reply!.message}`);
          }
          if (config.summaryEvery > 0 && result.calls % config.summaryEvery === 0) output.info(formatSummary(result));
          resolve();
        },
      );
      inFlight.add(call);
      call.on('metadata', (metadata: grpc.Metadata) => {
        pod = String(metadata.get('hostname')[0] ?? pod);
      });
    });

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms === 0 || stop?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        stop?.removeEventListener('abort', done);
        resolve();
      }
      stop?.addEventListener('abort', done);
    });

  const warmupEnd = Date.now() + config.warmupMs;
  const warmupWorker = async () => {
    while (!stop?.aborted && Date.now() < warmupEnd) await callOnce(false);
  };
  const worker = async () => {
    while (more()) {
      issued++;
      await callOnce(true);
      if (more()) await sleep(config.intervalMs);
    }
  };
  const workers = (run: () => Promise<void>) => Promise.all(Array.from({ length: config.concurrency }, run));
  try {
    if (config.warmupMs > 0) {
      await workers(warmupWorker);
      output.info(`warm-up: calls in the first ${config.warmupMs} ms are not counted`);
    }
    await workers(worker);
  } finally {
    stop?.removeEventListener('abort', cancelAll);
    client.close();
  }
  return result;
}

/** Command-line entry: exit 0 when every call succeeded, 1 when any failed, 2 on a bad setting. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const output: ClientOutput = {
    info: (line) => process.stdout.write(line + '\n'),
    error: (line) => process.stderr.write(line + '\n'),
  };
  try {
    const parsed = parseSettings(clientSettings, argv, env);
    if (parsed.help) {
      output.info(usage('npm run client --', clientSettings));
      return 0;
    }
    const stop = new AbortController();
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
    const { summaryEvery } = parsed.settings;
    const result = await runClient(parsed.settings, output, stop.signal);
    const justPrinted = summaryEvery > 0 && result.calls > 0 && result.calls % summaryEvery === 0;
    if (!justPrinted) output.info(formatSummary(result));
    return result.failures > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      output.error(`greeter-client: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).then((code) => process.exit(code));
}
