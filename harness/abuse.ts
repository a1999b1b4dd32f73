/**
 * What a hostile client sends, as raw HTTP/2 frames, for the hardening tests and `npm run bench:abuse`, and what
 * new and existing clients get meanwhile. Each attack runs until its budget is spent, every connection has been
 * ended, or `stop()`; the report says what it sent and how the server answered (GOAWAY codes, RST_STREAM codes,
 * connections closed). Attacks answer the server's PINGs, so keepalive never ends them.
 */
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { GreeterClient } from '../app/proto';
import { grpcMessage, sayHelloFrame } from './raw-grpc';
import {
  FRAME,
  SAY_HELLO_HEADERS,
  SETTINGS_INITIAL_WINDOW_SIZE,
  connectRawH2,
  dataFrame,
  frame,
  goawayOf,
  h2ErrorName,
  headersFrame,
  isGoaway,
  malformedPriorityFrame,
  rstCodeOf,
  windowUpdateFrame,
  type RawH2Connection,
  type RawH2Options,
} from './raw-h2';

export interface AttackReport {
  connections: number;
  /** Bytes written to the server. */
  bytesSent: number;
  /** Connections the server ended, by the error of its GOAWAY (`closed`: closed without one). */
  endedByServer: Record<string, number>;
  /** RST_STREAM frames received, by error name. */
  streamsReset: Record<string, number>;
  /** Connections still open when the attack stopped. */
  open: number;
  /** Rounds of connections completed, for attacks that repeat. */
  rounds?: number;
}

export interface Attack {
  /** Settles once every connection has sent what it opens with and the server has read it. */
  ready: Promise<void>;
  /** Settles when the attack has sent all it meant to, or the server ended every connection. */
  done: Promise<void>;
  /** Stops sending, reports, and closes every connection. */
  stop(): Promise<AttackReport>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const count = (into: Record<string, number>, key: string) => void (into[key] = (into[key] ?? 0) + 1);

function report(connections: readonly RawH2Connection[], bytesSent: number): AttackReport {
  const result: AttackReport = {
    connections: connections.length,
    bytesSent,
    endedByServer: {},
    streamsReset: {},
    open: connections.filter((connection) => !connection.isClosed()).length,
  };
  for (const connection of connections) {
    const goaway = connection.frames.find(isGoaway);
    if (goaway) count(result.endedByServer, goawayOf(goaway).error);
    else if (connection.isClosed()) count(result.endedByServer, 'closed');
    for (const reset of connection.frames.filter((f) => f.type === FRAME.RST_STREAM))
      count(result.streamsReset, h2ErrorName(rstCodeOf(reset)));
  }
  return result;
}

/** Opens the connections, runs `attack` on each, and wraps them up as an Attack; each calls `ready` once under way. */
async function onConnections(
  port: number,
  connections: number,
  options: RawH2Options,
  attack: (
    connection: RawH2Connection,
    send: (bytes: Buffer) => void,
    stopped: () => boolean,
    ready: () => void,
  ) => Promise<void>,
): Promise<Attack> {
  // Frames kept: the GOAWAY and the resets are what the report reads; not every WINDOW_UPDATE of a long attack.
  const opened = await Promise.all(
    Array.from({ length: connections }, () => connectRawH2(port, { answerPings: true, keepFrames: false, ...options })),
  );
  let bytesSent = 0;
  let stopped = false;
  const send = (connection: RawH2Connection) => (bytes: Buffer) => {
    bytesSent += bytes.length;
    connection.send(bytes);
  };
  const readies: Promise<void>[] = [];
  const done = Promise.all(
    opened.map((connection) => {
      let ready!: () => void;
      readies.push(new Promise<void>((resolve) => (ready = resolve)));
      return attack(connection, send(connection), () => stopped || connection.isClosed(), ready).finally(ready);
    }),
  ).then(() => undefined);
  return {
    ready: Promise.all(readies).then(() => undefined),
    done,
    async stop() {
      stopped = true;
      await done;
      const result = report(opened, bytesSent);
      for (const connection of opened) connection.destroy();
      return result;
    },
  };
}

/** Waits (bounded) until the server's flow control lets `bytes` through on the stream and the connection. */
async function windowFor(
  connection: RawH2Connection,
  streamId: number,
  bytes: number,
  stopped: () => boolean,
  timeoutMs = 10_000,
): Promise<boolean> {
  for (let waited = 0; waited < timeoutMs && !stopped(); waited += 5) {
    if (connection.sendWindow(0) >= bytes && connection.sendWindow(streamId) >= bytes) return true;
    await sleep(5);
  }
  return false;
}

export interface DripOptions {
  connections: number;
  streamsPerConnection: number;
  /** The message length each stream's gRPC prefix announces (default 65,536: the greeter's largest). */
  announcedBytes?: number;
}

/**
 * Per connection, many SayHello streams whose gRPC prefix announces a large message that then arrives one byte
 * per DATA frame and never completes or ends: the cheapest way to make a receiver keep a buffer per byte.
 */
export function dripAttack(port: number, options: DripOptions): Promise<Attack> {
  const announced = options.announcedBytes ?? 65_536;
  const perStream = announced - 1;
  const BYTES_PER_WRITE = 1024;
  return onConnections(port, options.connections, {}, async (connection, send, stopped, ready) => {
    const streams = Array.from({ length: options.streamsPerConnection }, (_, i) => 1 + 2 * i);
    for (const id of streams)
      send(
        Buffer.concat([headersFrame(id, SAY_HELLO_HEADERS), dataFrame(id, grpcMessage(Buffer.alloc(0), 0, announced))]),
      );
    ready();
    // A run of one-byte DATA frames per stream, written as often as flow control allows.
    const runs = new Map(
      streams.map((id) => [
        id,
        Buffer.concat(Array.from({ length: BYTES_PER_WRITE }, () => frame(FRAME.DATA, 0, id, Buffer.from('a')))),
      ]),
    );
    const frameBytes = runs.get(streams[0])!.length / BYTES_PER_WRITE;
    for (let sent = 0; sent < perStream && !stopped(); sent += BYTES_PER_WRITE) {
      const bytes = Math.min(BYTES_PER_WRITE, perStream - sent);
      for (const id of streams) {
        if (!(await windowFor(connection, id, bytes, stopped))) return;
        send(runs.get(id)!.subarray(0, bytes * frameBytes));
        await connection.drained();
      }
    }
  });
}

/** WINDOW_UPDATE +1 on the connection, thousands per write, as fast as the socket takes them. */
export function windowUpdateFlood(port: number, { connections = 1, framesPerWrite = 4096 } = {}): Promise<Attack> {
  const burst = Buffer.concat(Array.from({ length: framesPerWrite }, () => windowUpdateFrame(0, 1)));
  return onConnections(port, connections, {}, async (connection, send, stopped, ready) => {
    ready();
    while (!stopped()) {
      send(burst);
      await connection.drained();
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
}

export const REFLECTION_PATH = '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo';

/** ServerReflectionRequest{file_containing_symbol} (field 4, a string), length-prefixed. */
export function fileContainingSymbolRequest(symbol: string): Buffer {
  const name = Buffer.from(symbol);
  return grpcMessage(Buffer.concat([Buffer.from([(4 << 3) | 2, name.length]), name]));
}

/**
 * One ServerReflectionInfo stream from a client whose SETTINGS_INITIAL_WINDOW_SIZE is 0, so no answer can ever
 * reach it, asking `file_containing_symbol` again and again (`requests` times, as flow control allows).
 */
export function reflectionZeroWindow(port: number, { requests = 100_000, perFrame = 40 } = {}): Promise<Attack> {
  const batch = Buffer.concat(
    Array.from({ length: perFrame }, () => fileContainingSymbolRequest('helloworld.Greeter')),
  );
  return onConnections(
    port,
    1,
    { settings: [[SETTINGS_INITIAL_WINDOW_SIZE, 0]] },
    async (connection, send, stopped, ready) => {
      send(headersFrame(1, { ...SAY_HELLO_HEADERS, ':path': REFLECTION_PATH }));
      ready();
      for (
        let sent = 0;
        sent < requests &&
        !stopped() &&
        !connection.frames.some((f) => f.type === FRAME.RST_STREAM && f.streamId === 1);
        sent += perFrame
      ) {
        if (!(await windowFor(connection, 1, batch.length, stopped, 2000))) return;
        send(dataFrame(1, batch));
        await connection.drained();
      }
    },
  );
}

/**
 * Streams opened with HEADERS alone and then held: no message, no END_STREAM, no deadline. With one stream per
 * connection, these are slow requests: each connection holds a call whose request never arrives.
 */
export function heldStreams(port: number, { connections = 1, streamsPerConnection = 100 } = {}): Promise<Attack> {
  return onConnections(port, connections, {}, async (connection, send, stopped, ready) => {
    for (let i = 0; i < streamsPerConnection; i++) send(headersFrame(1 + 2 * i, SAY_HELLO_HEADERS));
    await connection.roundTrip().catch(() => undefined); // closed by the server meanwhile: ready all the same
    ready();
    await Promise.race([connection.closed, untilStopped(stopped)]);
  });
}

/** Resolves once `stopped()` turns true (checked every 50 ms: an attack's own pace, not a test's wait). */
async function untilStopped(stopped: () => boolean): Promise<void> {
  while (!stopped()) await sleep(50);
}

/**
 * Per connection, one complete SayHello and then a malformed PRIORITY frame, a connection error nghttp2 answers
 * with GOAWAY FRAME_SIZE_ERROR; then (with `close`) the client closes its side. Each round waits until the server
 * has closed every connection of the round, then the next round opens as many again.
 */
export function failedConnections(port: number, { connections = 140, rounds = 1, close = true } = {}): Promise<Attack> {
  const opening = Buffer.concat([
    headersFrame(1, SAY_HELLO_HEADERS),
    dataFrame(1, sayHelloFrame('failed'), true),
    malformedPriorityFrame(1),
  ]);
  const all: RawH2Connection[] = [];
  let stopped = false;
  let completed = 0;
  let ready!: () => void;
  const readyOnce = new Promise<void>((resolve) => (ready = resolve));
  const round = async () => {
    const opened = await Promise.all(
      Array.from({ length: connections }, () => connectRawH2(port, { answerPings: true, keepFrames: false })),
    );
    all.push(...opened);
    for (const connection of opened) {
      connection.send(opening);
      if (close) connection.socket.end();
    }
    ready();
    await Promise.all(opened.map((connection) => connection.closed));
  };
  const done = (async () => {
    for (; completed < rounds && !stopped; completed++) await round();
  })().finally(ready);
  return Promise.resolve({
    ready: readyOnce,
    done,
    async stop() {
      stopped = true;
      // A round whose connections the server keeps would never end: report what it has done so far.
      await Promise.race([done, sleep(0)]);
      const result = { ...report(all, all.length * opening.length), rounds: completed };
      for (const connection of all) connection.destroy();
      return result;
    },
  });
}

/**
 * What clients that connect during an attack on the connection cap must get (issue 26): one call on each of 50 new
 * channels, at least 45 answered; 100 calls on a channel connected before, at least 90 answered.
 */
export const SERVED_DURING_ATTACK = {
  newChannels: { of: 50, atLeast: 45 },
  existingChannel: { of: 100, atLeast: 90 },
} as const;

export interface CallTally {
  /** Calls answered OK. */
  ok: number;
  of: number;
  /** The others, by status name. */
  failed: Record<string, number>;
}

/** A client of its own: grpc-js otherwise shares one connection per address among the channels of a process. */
function newClient(target: string): GreeterClient {
  return new GreeterClient(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
}

function sayHello(client: GreeterClient, deadlineMs: number): Promise<grpc.status> {
  return new Promise((resolve) =>
    client.SayHello({ name: 'probe' }, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (error) =>
      resolve(error ? error.code : grpc.status.OK),
    ),
  );
}

function tally(statuses: readonly grpc.status[]): CallTally {
  const failed: Record<string, number> = {};
  for (const status of statuses) if (status !== grpc.status.OK) count(failed, grpc.status[status]);
  return { ok: statuses.filter((status) => status === grpc.status.OK).length, of: statuses.length, failed };
}

/** One SayHello on each of `channels` new channels (each its own connection), `parallel` at a time, `pauseMs` apart. */
export async function callsOnNewChannels(
  target: string,
  { channels = 50, parallel = 10, deadlineMs = 3000, pauseMs = 0 } = {},
): Promise<CallTally> {
  const statuses: grpc.status[] = [];
  for (let from = 0; from < channels; from += parallel) {
    if (from > 0 && pauseMs > 0) await sleep(pauseMs);
    const batch = Array.from({ length: Math.min(parallel, channels - from) }, () => newClient(target));
    statuses.push(...(await Promise.all(batch.map((client) => sayHello(client, deadlineMs)))));
    for (const client of batch) client.close();
  }
  return tally(statuses);
}

/** A channel whose connection is open and has carried a call: an existing client. */
export async function existingChannel(target: string, deadlineMs = 5000): Promise<GreeterClient> {
  const client = newClient(target);
  const status = await sayHello(client, deadlineMs);
  if (status !== grpc.status.OK) {
    client.close();
    throw new Error(`the first call on a new channel to ${target} failed: ${grpc.status[status]}`);
  }
  return client;
}

/** `calls` SayHello calls one after another on one channel, `pauseMs` apart. */
export async function callsOnChannel(
  client: GreeterClient,
  { calls = 100, deadlineMs = 3000, pauseMs = 0 } = {},
): Promise<CallTally> {
  const statuses: grpc.status[] = [];
  for (let i = 0; i < calls; i++) {
    if (i > 0 && pauseMs > 0) await sleep(pauseMs);
    statuses.push(await sayHello(client, deadlineMs));
  }
  return tally(statuses);
}

export interface IdleConnections {
  /**
   * Resolves once every connection is open: for `h2`, once the server has sent its SETTINGS (or closed it), so
   * that it has taken every earlier connection too.
   */
  opened: Promise<void>;
  /** Connections still open. */
  open(): number;
  /** Resolves once at most `count` connections are still open (rejects after timeoutMs). */
  openAtMost(count: number, timeoutMs?: number): Promise<void>;
  close(): void;
}

/**
 * Connections that stay idle: `h2` ones that complete the HTTP/2 handshake (and answer PINGs), or `tcp` ones that
 * never send a byte. `ignoreClose`: keep the socket after the server's GOAWAY and FIN, as a careless peer does.
 */
export function idleConnections(
  port: number,
  { count: total = 100, kind = 'h2' as 'h2' | 'tcp', ignoreClose = false, parallel = 100 } = {},
): IdleConnections {
  const sockets: net.Socket[] = [];
  const closed = new Set<net.Socket>();
  const closeWatchers = new Set<() => void>();
  const onClose = (socket: net.Socket) => {
    closed.add(socket);
    for (const watcher of closeWatchers) watcher();
  };
  const openOne = async () => {
    if (kind === 'tcp') {
      const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: ignoreClose });
      socket.on('error', () => undefined).once('close', () => onClose(socket));
      if (!ignoreClose) socket.resume(); // read, so that the server's FIN is seen
      sockets.push(socket);
      await new Promise((resolve) => socket.once('connect', resolve).once('close', resolve));
      return;
    }
    const connection = await connectRawH2(port, { answerPings: true, keepFrames: false, ignoreClose });
    sockets.push(connection.socket);
    connection.socket.once('close', () => onClose(connection.socket));
    await Promise.race([connection.waitFor((f) => f.type === FRAME.SETTINGS, 60_000), connection.ended]);
  };
  const opened = (async () => {
    for (let from = 0; from < total; from += parallel)
      await Promise.all(Array.from({ length: Math.min(parallel, total - from) }, openOne));
  })();
  const open = () => sockets.length - closed.size;
  return {
    opened,
    open,
    openAtMost: (most, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          closeWatchers.delete(watcher);
          reject(new Error(`${open()} connections still open after ${timeoutMs} ms; expected at most ${most}`));
        }, timeoutMs);
        const watcher = () => {
          if (open() > most) return;
          clearTimeout(timer);
          closeWatchers.delete(watcher);
          resolve();
        };
        closeWatchers.add(watcher);
        watcher();
      }),
    close: () => sockets.forEach((socket) => socket.destroy()),
  };
}
