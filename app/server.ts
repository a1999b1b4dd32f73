/**
 * The greeter server: helloworld.Greeter/SayHello answers `Hello <name> from <pod>` and sends the pod name as
 * response header `hostname`, so clients behind any balancer can count which pod replied. It also serves
 * grpc.health.v1 (Kubernetes gRPC probes, NOT_SERVING while draining) and, unless turned off, server reflection
 * (grpcurl). Its limits (docs/hardening.md) hold whatever clients send.
 */
import { readFileSync } from 'node:fs';
import { constants, hostname } from 'node:os';
import { format } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import {
  ConfigError,
  boolean,
  integer,
  milliseconds,
  optionalFile,
  optionalMilliseconds,
  optionalPort,
  parseSettings,
  port,
  setting,
  text,
  usage,
  type Settings,
} from './config';
import { ConnectionGuard, openFileBudget } from './connection-guard';
import { GreeterHealth } from './health';
import { jsonLogger, type Logger } from './log';
import { greeterService, type HelloReply, type HelloRequest } from './proto';
import { addBoundedReflection } from './reflection';
import { GREETER_DEFAULT_PORT, SERVER_ENV } from './settings';

export const DEFAULT_PORT = GREETER_DEFAULT_PORT;

export const serverSettings = {
  host: setting({ flag: 'host', env: 'HOST', parser: text, default: '0.0.0.0', help: 'address to listen on' }),
  port: setting({
    flag: 'port',
    env: SERVER_ENV.port,
    parser: port,
    default: DEFAULT_PORT,
    help: 'port to listen on; 0 picks a free one',
  }),
  podName: setting({
    flag: 'pod-name',
    env: SERVER_ENV.podName,
    parser: text,
    default: hostname(),
    defaultHelp: 'the host name',
    help: 'name in replies and the `hostname` header',
  }),
  tlsCertFile: setting({
    flag: 'tls-cert-file',
    env: SERVER_ENV.tlsCertFile,
    parser: optionalFile,
    default: undefined,
    help: 'PEM certificate chain; with --tls-key-file serves TLS',
  }),
  tlsKeyFile: setting({
    flag: 'tls-key-file',
    env: SERVER_ENV.tlsKeyFile,
    parser: optionalFile,
    default: undefined,
    help: 'PEM private key for --tls-cert-file',
  }),
  // Kubelet gRPC probes speak no TLS (kubernetes/enhancements keps/sig-node/4939-tls-in-grpc-probe), nor do the gRPC
  // health checks of Google Cloud's load balancers, which GKE's Gateway uses with a HealthCheckPolicy of type GRPC.
  plaintextPort: setting({
    flag: 'plaintext-port',
    env: SERVER_ENV.plaintextPort,
    parser: optionalPort,
    default: undefined,
    help: 'with TLS, also serve without TLS on this port, for health checks and probes that speak no TLS; empty: none',
  }),
  maxConnectionAgeMs: setting({
    flag: 'max-connection-age-ms',
    env: SERVER_ENV.maxConnectionAgeMs,
    parser: optionalMilliseconds,
    default: undefined,
    help: 'send GOAWAY after this age (±10% jitter) so clients behind an L4 balancer reconnect and spread; unset: never',
  }),
  maxConnectionAgeGraceMs: setting({
    flag: 'max-connection-age-grace-ms',
    env: 'MAX_CONNECTION_AGE_GRACE_MS',
    parser: optionalMilliseconds,
    default: undefined,
    help: 'time calls may still run on an aged connection; unset: unlimited',
  }),
  // Well under gRPC's 2 h: the ping also reaps sessions Node never closes (see docs/settings.md, limits).
  keepaliveTimeMs: setting({
    flag: 'keepalive-time-ms',
    env: 'KEEPALIVE_TIME_MS',
    parser: integer(1000),
    default: 60_000,
    help: 'ping every connection this often',
  }),
  keepaliveTimeoutMs: setting({
    flag: 'keepalive-timeout-ms',
    env: 'KEEPALIVE_TIMEOUT_MS',
    parser: integer(1),
    default: 20_000,
    help: 'close a connection whose ping is not answered within this',
  }),
  shutdownGraceMs: setting({
    flag: 'shutdown-grace-ms',
    env: SERVER_ENV.shutdownGraceMs,
    parser: milliseconds,
    default: 20_000,
    help: 'on SIGTERM, how long calls in flight may finish before the server closes them',
  }),
  maxNameBytes: setting({
    flag: 'max-name-bytes',
    env: 'MAX_NAME_BYTES',
    parser: integer(1),
    default: 1024,
    help: 'longest name (UTF-8 bytes); longer is INVALID_ARGUMENT',
  }),
  maxReceiveMessageBytes: setting({
    flag: 'max-receive-message-bytes',
    env: 'MAX_RECEIVE_MESSAGE_BYTES',
    parser: integer(1),
    default: 64 * 1024,
    help: 'largest request message; larger is RESOURCE_EXHAUSTED',
  }),
  // RFC 9113 §6.5.2 recommends no less than 100; grpc-js's default is unlimited (2^32 - 1).
  maxConcurrentStreams: setting({
    flag: 'max-concurrent-streams',
    env: 'MAX_CONCURRENT_STREAMS',
    parser: integer(1, 2 ** 31 - 1),
    default: 100,
    help: 'calls in flight per connection (SETTINGS_MAX_CONCURRENT_STREAMS); clients queue beyond it, a stream that ignores it is refused',
  }),
  // Longer than proxies keep idle connections to pods (nginx: 60 s), so the proxy closes first and never sends a
  // call on a connection the pod is closing; still reaps abandoned and silent connections.
  maxConnectionIdleMs: setting({
    flag: 'max-connection-idle-ms',
    env: 'MAX_CONNECTION_IDLE_MS',
    parser: optionalMilliseconds,
    default: 300_000 as number | undefined,
    help: 'send GOAWAY to a connection with no call for this long, and close it; empty: never',
  }),
  // Sized with MAX_CALLS_IN_FLIGHT so that the pods' 192Mi limit holds whatever clients send (docs/hardening.md).
  maxConnections: setting({
    flag: 'max-connections',
    env: 'MAX_CONNECTIONS',
    parser: integer(1),
    default: 128,
    help: "connections at once; at the cap one is closed to admit a new one (one HTTP/2 has ended, else one whose calls' requests are all stalled, else the longest idle, else one whose requests are all still arriving), and a new one is refused if every connection has a call being served; the process's open-file limit must hold it, or the server does not start",
  }),
  // nginx's client_body_timeout (60 s) bounds the time between two reads; this bounds the whole request, which a
  // gRPC client sends at once. Below SHUTDOWN_GRACE_MS, so that a stalled request does not force a drain.
  requestReadTimeoutMs: setting({
    flag: 'request-read-timeout-ms',
    env: 'REQUEST_READ_TIMEOUT_MS',
    parser: optionalMilliseconds,
    default: 10_000 as number | undefined,
    help: 'time the request of a call whose request is one message (unary and server streaming: SayHello, health Check and Watch; not the reflection stream) may take to arrive, headers to end of stream; then the call is cancelled. Not arrived after 1 s, it is stalled; empty: no limit',
  }),
  maxCallsInFlight: setting({
    flag: 'max-calls-in-flight',
    env: 'MAX_CALLS_IN_FLIGHT',
    parser: integer(1),
    default: 500,
    help: 'calls (HTTP/2 streams) open at once on the whole server; beyond it a new one is refused (REFUSED_STREAM), unless its connection holds less than its share, when the fullest connection gives up its newest call',
  }),
  reflection: setting({
    flag: 'reflection',
    env: SERVER_ENV.reflection,
    parser: boolean,
    default: true,
    help: 'serve grpc.reflection (v1 and v1alpha), for grpcurl; the manifests turn it off',
  }),
  logCalls: setting({
    flag: 'log-calls',
    env: 'LOG_CALLS',
    parser: boolean,
    default: false,
    help: 'log one line per call',
  }),
};

export type ServerConfig = Settings<typeof serverSettings>;

/** A started greeter server. Create with GreeterServer.start; stop with shutdown. */
export class GreeterServer {
  private stopping?: Promise<{ forced: boolean }>;

  private constructor(
    private readonly server: grpc.Server,
    private readonly health: GreeterHealth,
    private readonly guard: ConnectionGuard,
    private readonly config: ServerConfig,
    private readonly logger: Logger,
    /** The port actually bound (differs from config.port when that is 0). */
    readonly port: number,
    /** The plaintext port bound beside the TLS one, if any. */
    readonly plaintextPort: number | undefined,
  ) {}

  static async start(config: ServerConfig, logger: Logger = jsonLogger('greeter-server')): Promise<GreeterServer> {
    if ((config.tlsCertFile === undefined) !== (config.tlsKeyFile === undefined)) {
      const [missing, given] =
        config.tlsCertFile === undefined
          ? [SERVER_ENV.tlsCertFile, config.tlsKeyFile]
          : [SERVER_ENV.tlsKeyFile, config.tlsCertFile];
      throw new ConfigError(missing, '', `a file to pair with ${given}`);
    }
    if (config.plaintextPort !== undefined && config.tlsCertFile === undefined) {
      throw new ConfigError(
        SERVER_ENV.plaintextPort,
        String(config.plaintextPort),
        `empty without ${SERVER_ENV.tlsCertFile}: ${SERVER_ENV.port} already serves without TLS`,
      );
    }
    const credentials =
      config.tlsCertFile && config.tlsKeyFile
        ? grpc.ServerCredentials.createSsl(
            null,
            [{ cert_chain: readFileSync(config.tlsCertFile), private_key: readFileSync(config.tlsKeyFile) }],
            false,
          )
        : grpc.ServerCredentials.createInsecure();

    const server = new grpc.Server(serverOptions(config));
    server.addService(checkedGreeterService, { SayHello: sayHelloHandler(config, logger) });
    const health = new GreeterHealth();
    health.addToServer(server);
    if (config.reflection) addBoundedReflection(server);

    const bind = (port: number, portCredentials: grpc.ServerCredentials) =>
      new Promise<number>((resolve, reject) =>
        server.bindAsync(
          config.host.includes(':') ? `[${config.host}]:${port}` : `${config.host}:${port}`,
          portCredentials,
          (error, bound) => (error ? reject(error) : resolve(bound)),
        ),
      );
    const boundPort = await bind(config.port, credentials);
    // The same server on both ports: the guard below covers the connections of each.
    const plaintextPort =
      config.plaintextPort === undefined
        ? undefined
        : await bind(config.plaintextPort, grpc.ServerCredentials.createInsecure());
    // Every connection is a descriptor: a cap the open-file limit cannot hold fails as accept() does, not as the
    // guard's eviction, so a connection flood would lock clients out (docs/hardening.md).
    const files = openFileBudget();
    if (files !== undefined && config.maxConnections > files.maxConnections) {
      server.forceShutdown();
      throw new ConfigError(
        serverSettings.maxConnections.env!,
        String(config.maxConnections),
        `at most ${files.maxConnections} under this process's open-file limit (RLIMIT_NOFILE soft limit ${files.limit}: ${files.inUse} descriptors in use, ${files.beyondCap} kept beyond the cap); raise the limit (ulimit -n) or lower the cap`,
      );
    }
    const guard = ConnectionGuard.attach(
      server,
      {
        maxConnections: config.maxConnections,
        maxStreams: config.maxCallsInFlight,
        maxMessageBytes: config.maxReceiveMessageBytes,
        requestReadTimeoutMs: config.requestReadTimeoutMs,
      },
      logger,
    );
    logger.log('info', 'listening', {
      address: config.host,
      port: boundPort,
      plaintextPort,
      pod: config.podName,
      tls: config.tlsCertFile !== undefined,
      maxConnectionAgeMs: config.maxConnectionAgeMs,
      maxConnectionIdleMs: config.maxConnectionIdleMs,
      maxConcurrentStreams: config.maxConcurrentStreams,
      maxConnections: config.maxConnections,
      maxCallsInFlight: config.maxCallsInFlight,
      requestReadTimeoutMs: config.requestReadTimeoutMs,
      openFileLimit: files?.limit === Infinity ? 'unlimited' : files?.limit,
      reflection: config.reflection,
      shutdownGraceMs: config.shutdownGraceMs,
    });
    return new GreeterServer(server, health, guard, config, logger, boundPort, plaintextPort);
  }

  /**
   * Drains: health turns NOT_SERVING and every health Watch ends, the listener closes and every connection gets
   * GOAWAY so no new call starts here, each connection closes as soon as its calls are answered (idle ones at
   * once), and the promise resolves when the last one has. Calls still running after the grace period are
   * cancelled: only then is the drain `forced`.
   */
  shutdown(reason: string): Promise<{ forced: boolean }> {
    this.stopping ??= new Promise((resolve) => {
      this.health.drain();
      this.logger.log('info', 'draining', { reason, shutdownGraceMs: this.config.shutdownGraceMs });
      let done = false;
      const finish = (forced: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        this.guard.stop({ destroy: forced });
        this.logger.log(forced ? 'warn' : 'info', 'stopped', { reason, forced });
        resolve({ forced });
      };
      // forceShutdown cancels what is left but does not call tryShutdown's callback: finish here too.
      const deadline = setTimeout(() => {
        this.server.forceShutdown();
        finish(true);
      }, this.config.shutdownGraceMs);
      // Its callback comes when the listener has closed, and so every connection.
      this.server.tryShutdown(() => finish(false));
      this.guard.drain();
    });
    return this.stopping;
  }
}

function serverOptions(config: ServerConfig): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': config.maxReceiveMessageBytes,
    'grpc.keepalive_time_ms': config.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': config.keepaliveTimeoutMs,
    // channelz bookkeeping costs on every call and the greeter exposes no channelz service.
    'grpc.enable_channelz': 0,
    'grpc.max_concurrent_streams': config.maxConcurrentStreams,
    ...(config.maxConnectionIdleMs !== undefined && { 'grpc.max_connection_idle_ms': config.maxConnectionIdleMs }),
    ...(config.maxConnectionAgeMs !== undefined && { 'grpc.max_connection_age_ms': config.maxConnectionAgeMs }),
    ...(config.maxConnectionAgeGraceMs !== undefined && {
      'grpc.max_connection_age_grace_ms': config.maxConnectionAgeGraceMs,
    }),
  };
}

/** Marks a request whose name arrived as bytes that are not UTF-8. */
const NAME_NOT_UTF8 = Symbol('name not UTF-8');
type CheckedHelloRequest = HelloRequest & { [NAME_NOT_UTF8]?: true };

/**
 * proto3 requires a `string` field to be UTF-8, but protobufjs decodes bytes that are not into U+FFFD and carries on
 * (grpc-go rejects them). Only a name holding U+FFFD needs a look at the raw message: if the message does not
 * contain that name's own UTF-8 bytes, some were replaced.
 */
function checkUtf8(decode: grpc.deserialize<HelloRequest>): grpc.deserialize<CheckedHelloRequest> {
  return (bytes) => {
    const request: CheckedHelloRequest = decode(bytes);
    if (request.name.includes('\uFFFD') && !bytes.includes(Buffer.from(request.name))) request[NAME_NOT_UTF8] = true;
    return request;
  };
}

const checkedGreeterService: grpc.ServiceDefinition = {
  ...greeterService,
  SayHello: { ...greeterService.SayHello, requestDeserialize: checkUtf8(greeterService.SayHello.requestDeserialize) },
};

function sayHelloHandler(config: ServerConfig, logger: Logger): grpc.handleUnaryCall<CheckedHelloRequest, HelloReply> {
  const { podName, maxNameBytes, logCalls } = config;
  // Built once: grpc-js copies header metadata into the response headers and never mutates it.
  const podHeader = new grpc.Metadata();
  podHeader.set('hostname', podName);
  return (call, callback) => {
    const { name } = call.request;
    // A UTF-16 unit is at most 3 UTF-8 bytes: short names skip the byte count.
    const nameBytes = name.length * 3 <= maxNameBytes ? 0 : Buffer.byteLength(name);
    const rejected =
      nameBytes > maxNameBytes
        ? `name is ${nameBytes} bytes; the limit is ${maxNameBytes}`
        : call.request[NAME_NOT_UTF8]
          ? 'name is not valid UTF-8'
          : undefined;
    if (rejected !== undefined) {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: rejected });
      if (logCalls) logger.log('warn', 'call rejected', { method: 'SayHello', reason: rejected, peer: call.getPeer() });
      return;
    }
    call.sendMetadata(podHeader);
    callback(null, { message: `Hello ${name} from ${podName}` });
    if (logCalls) logger.log('info', 'call', { method: 'SayHello', name, peer: call.getPeer() });
  };
}

/** Command-line entry: settings from flags and env, exit 2 on a bad setting, drain on SIGTERM/SIGINT, exit 0. */
export async function main(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  logger: Logger = jsonLogger('greeter-server'),
): Promise<number> {
  try {
    const parsed = parseSettings(serverSettings, argv, env);
    if (parsed.help) {
      process.stdout.write(usage('npm run server --', serverSettings));
      return 0;
    }
    const server = await GreeterServer.start(parsed.settings, logger);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      let draining = false;
      const onSignal = (received: NodeJS.Signals) => {
        if (!draining) {
          draining = true;
          return resolve(received);
        }
        // A second signal (a second Ctrl-C) means "now": skip the rest of the grace period, as a shell would.
        logger.log('warn', 'stopping now', { reason: received });
        process.exit(128 + constants.signals[received]);
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    await server.shutdown(signal);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      logger.log('error', error.message, { setting: error.setting, value: error.value });
      return 2;
    }
    logger.log('error', 'server failed', { error: error instanceof Error ? error.message : String(error) });
    return 1;
  }
}

if (require.main === module) {
  const logger = jsonLogger('greeter-server');
  // grpc-js's own warnings and errors become JSON lines too, instead of plain text on stderr.
  const forward =
    (level: 'info' | 'error') =>
    (...args: unknown[]) =>
      logger.log(level, format(...args), { source: 'grpc-js' });
  grpc.setLogger({ error: forward('error'), info: forward('info'), debug: forward('info') });
  process.on('uncaughtException', (error) => {
    logger.log('error', 'uncaught exception', { error: error.stack ?? String(error) });
    process.exit(1);
  });
  main(process.argv.slice(2), process.env, logger).then((code) => process.exit(code));
}
