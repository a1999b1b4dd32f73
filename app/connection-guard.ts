/**
 * What grpc-js leaves to the application, enforced on the HTTP/2 servers it listens with: a cap on connections (at
 * the cap, a connection nghttp2 has ended, else one whose calls are stalled, else the longest-idle one, else one
 * whose requests are still arriving makes room), a bound on how long a request may take to arrive, a server-wide
 * cap on streams in flight (a connection holding more than its share gives way), a cut-off for connections that
 * send far more than their calls need (GOAWAY ENHANCE_YOUR_CALM), connections nghttp2 has ended closed at once,
 * sockets destroyed once the server has finished with them instead of waiting for a peer that ignores GOAWAY, and
 * drains that end with the last call.
 */
import { readFileSync, readdirSync } from 'node:fs';
import * as http2 from 'node:http2';
import type * as net from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from './log';

const { NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

export interface GuardLimits {
  /** Connections at once; at the cap one is closed to admit a new one (`evict`), else the new one is. */
  readonly maxConnections: number;
  /** HTTP/2 streams open at once on the whole server. */
  readonly maxStreams: number;
  /** The largest request message: what one stream may legitimately send (MAX_RECEIVE_MESSAGE_BYTES). */
  readonly maxMessageBytes: number;
  /**
   * How long the request of a call whose request is one message (unary, server streaming, an unknown method) may
   * take to arrive, from its HEADERS to its END_STREAM; then the call is reset. Undefined: no bound.
   */
  readonly requestReadTimeoutMs: number | undefined;
}

/**
 * After the server has sent its last byte (FIN) on a connection, how long the peer has to close its side before
 * the socket is destroyed. Node (20.20, lib/internal/http2/core.js `finishSessionClose`) ends the socket of a
 * gracefully closed session and then waits for the peer forever, reading and dropping what it sends.
 */
export const LINGER_MS = 250;
/** How often each connection's spending, its calls' requests and its session are checked. */
const CHECK_MS = 250;
/**
 * A call whose request (one message) has not finished arriving this long after its HEADERS is stalled: at the
 * connection cap, a connection whose every call is stalled is closed before an idle one. Trickling bytes is not
 * progress: what counts is the request arriving whole, so that the server can answer it.
 */
export const STALLED_AFTER_MS = 1000;
/**
 * What a connection may spend per second beyond what its calls need; over it, it is cut off. Node's http2 shows no
 * WINDOW_UPDATE, PRIORITY or unknown frame to JavaScript and nghttp2 1.61 (Node 20.20) limits none of them, so for
 * those the bytes read are what can be counted.
 */
const FLOOD_RATES = {
  /** Bytes read besides what each call may carry: PINGs, SETTINGS, WINDOW_UPDATEs, headers are KiB per second. */
  bytes: 1024 * 1024,
  /** DATA frames besides one per call and one per KiB of its largest message. */
  dataFrames: 1000,
  /**
   * Streams opened while the server refuses them (its stream cap): a client that retries them in a tight loop.
   * Saved up, a full connection's worth (100 streams) may be refused at once; the next is cut off at once.
   */
  refusedStreams: 25,
} as const;
type Spending = keyof typeof FLOOD_RATES;
const SPENDINGS = Object.keys(FLOOD_RATES) as Spending[];
const FLOOD_REASONS: Record<Spending, string> = {
  bytes: 'bytes beyond what its calls carry',
  dataFrames: 'DATA frames beyond what its calls need',
  refusedStreams: 'streams opened while the server refuses them',
};
/** Unused allowance carried from one check to the next is capped at this many seconds' worth. */
const FLOOD_BURST_SECONDS = 4;
/** A new connection's allowance, and the most any may save up. */
const fullAllowance = (): Record<Spending, number> =>
  Object.fromEntries(SPENDINGS.map((spending) => [spending, FLOOD_RATES[spending] * FLOOD_BURST_SECONDS])) as Record<
    Spending,
    number
  >;
/**
 * Connections beyond the cap that Node still accepts, so that one can be admitted by closing an idle one; more
 * arrive at once only in a flood of connections, and those are refused as they are accepted.
 */
const EVICTION_HEADROOM = 16;
/**
 * Descriptors the process may open after start besides its connections: the one Node accepts beyond
 * `maxConnections` only to close it, and a few to spare.
 */
const SPARE_FDS = 8;
/** Headers, trailers and padding a call may send besides its message. */
const HEADER_ALLOWANCE_BYTES = 16 * 1024;
/** While draining, how often streams are checked for the end of their response. */
const DRAIN_CHECK_MS = 25;

interface Call {
  readonly openedAt: number;
  /** Client or bidi streaming (reflection): the client may keep its request open as long as it likes. */
  readonly streamingRequest: boolean;
  /** Its whole request has arrived (END_STREAM). */
  arrived: boolean;
  /** Its request has been arriving for STALLED_AFTER_MS. */
  stalled: boolean;
}

interface Connection {
  /** The socket the session runs on: the TCP one, or the TLS one over it once the handshake is done. */
  socket: net.Socket;
  readonly peer: string;
  session?: http2.ServerHttp2Session;
  /** Its open streams the guard admitted. */
  readonly calls: Map<http2.ServerHttp2Stream, Call>;
  /** When its last stream closed (or it opened). */
  idleSince: number;
  /** socket.bytesRead at the last check. */
  bytesRead: number;
  /** Spent since the last check (bytes are counted at the check). */
  spent: Record<Spending, number>;
  /** Allowance left; below zero the connection is cut off. */
  allowance: Record<Spending, number>;
  closing: boolean;
}

type AnyHttp2Server = http2.Http2Server | http2.Http2SecureServer;
type StreamListener = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  flags: number,
  rawHeaders: string[],
) => void;

/**
 * The HTTP/2 servers grpc-js created in bindAsync. grpc-js 1.14 keeps them in the private map `http2Servers` and
 * handles calls from each one's 'stream' event (src/server.ts `bindOneAddress`, `_setupHandlers`); it offers no
 * public way to see sessions or streams. Checked here, so that a grpc-js that changes this fails at start-up.
 */
function http2ServersOf(server: grpc.Server): AnyHttp2Server[] {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  const found = servers instanceof Map ? [...servers.keys()] : [];
  if (
    found.length === 0 ||
    !found.every((s: AnyHttp2Server) => typeof s?.listeners === 'function' && s.listeners('stream').length === 1)
  ) {
    throw new Error(
      'grpc-js internals changed: expected its bound HTTP/2 servers in Server.http2Servers, each with one stream listener',
    );
  }
  return found;
}

/** grpc-js's handler types whose request is a stream of messages. */
const STREAMING_REQUEST_TYPES = new Set(['clientStream', 'bidi']);
const HANDLER_TYPES = new Set(['unary', 'serverStream', ...STREAMING_REQUEST_TYPES]);

/**
 * The paths of the methods registered on `server` whose request is a stream (client or bidi streaming). grpc-js 1.14
 * keeps each method's handler, with its `type`, in the private map `handlers` (src/server.ts `register`); checked
 * here like http2Servers.
 */
function streamingRequestPaths(server: grpc.Server): Set<string> {
  const handlers = (server as unknown as { handlers?: unknown }).handlers;
  const entries = handlers instanceof Map ? [...(handlers as Map<string, { type?: unknown }>)] : [];
  if (entries.length === 0 || !entries.every(([, handler]) => HANDLER_TYPES.has(handler?.type as string))) {
    throw new Error('grpc-js internals changed: expected its registered methods in Server.handlers, each with a type');
  }
  return new Set(
    entries.filter(([, handler]) => STREAMING_REQUEST_TYPES.has(handler.type as string)).map(([path]) => path),
  );
}

/**
 * Whether nghttp2 is done with a session: it neither wants to read nor to write (nghttp2_session_want_read and
 * nghttp2_session_want_write both 0, when, its documentation says, "the application should drop the connection").
 * That is the state after nghttp2 has answered a connection error with GOAWAY (a 3-byte PRIORITY frame:
 * FRAME_SIZE_ERROR; DATA after END_STREAM: STREAM_CLOSED), or after a GOAWAY either way once no stream is open.
 * Node 20.20 shows it no other way. lib/internal/http2/core.js emits 'goaway' only for a GOAWAY received
 * (`onGoawayData`), 'frameError' only for a frame that could not be sent (`onFrameError`; not for frames nghttp2
 * drops because the session is closing), 'error' only for nghttp2's fatal errors (`onSessionInternalError`); and
 * src/node_http2.cc stops reading the socket once nghttp2 wants no more (`MaybeStopReading`), so the peer's FIN
 * ('end'), its 'close' and the end of the session's streams never come. What says it is the native session's
 * `hasPendingData()` (want_write || want_read), which core.js itself calls to finish a graceful close
 * (`kMaybeDestroy`); it is reached through core.js's `kHandle` symbol.
 */
function sessionEnded(session: http2.ServerHttp2Session | undefined): boolean {
  if (session === undefined || session.destroyed) return false;
  const handle = nativeHandleOf(session);
  return handle !== undefined && !handle.hasPendingData();
}

type NativeSession = { hasPendingData(): boolean };
let handleSymbol: symbol | undefined;
function nativeHandleOf(session: http2.ServerHttp2Session): NativeSession | undefined {
  handleSymbol ??= Object.getOwnPropertySymbols(session).find((symbol) => symbol.description === 'kHandle');
  const handle =
    handleSymbol && (session as unknown as Record<symbol, Partial<NativeSession> | undefined>)[handleSymbol];
  return typeof handle?.hasPendingData === 'function' ? (handle as NativeSession) : undefined;
}

export interface OpenFileBudget {
  /** The process's soft RLIMIT_NOFILE. */
  readonly limit: number;
  /** Descriptors open now. */
  readonly inUse: number;
  /** Descriptors kept beyond the connection cap: connections accepted beyond it to evict, and spares. */
  readonly beyondCap: number;
  /** The largest connection cap the limit holds. */
  readonly maxConnections: number;
}

/**
 * What the process's open-file limit leaves for connections, read from /proc/self (Linux, no native addon);
 * undefined where there is no /proc. Every connection is a descriptor: Node accepts up to the cap +
 * EVICTION_HEADROOM, one more only to close it, and the process keeps what it has open now.
 */
export function openFileBudget(): OpenFileBudget | undefined {
  let limits: string;
  let inUse: number;
  try {
    limits = readFileSync('/proc/self/limits', 'utf8');
    // Less the descriptor readdirSync opens on the directory itself.
    inUse = readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
  if (soft === undefined) return undefined;
  const limit = soft === 'unlimited' ? Infinity : Number(soft);
  const beyondCap = EVICTION_HEADROOM + SPARE_FDS;
  return { limit, inUse, beyondCap, maxConnections: limit - inUse - beyondCap };
}

function keyOf(socket: { remoteAddress?: string; remotePort?: number }): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

/** True once the server has sent END_STREAM: its response is complete, whatever the client still sends. */
function responded(stream: http2.ServerHttp2Stream): boolean {
  return stream.destroyed || stream.state?.localClose === 1;
}

/** True once the client has sent END_STREAM: its whole request has arrived. */
function requestArrived(stream: http2.ServerHttp2Stream): boolean {
  return stream.destroyed || stream.endAfterHeaders || stream.state?.remoteClose === 1;
}

/** Closing a stream with an error code emits 'error', which must have a listener. */
function reset(stream: http2.ServerHttp2Stream, code: number): void {
  if (!stream.destroyed) stream.on('error', () => undefined).close(code);
}

/** Once the server has written its last byte (its FIN), the peer has LINGER_MS to close before the socket goes. */
function destroyAfterLastByte(socket: net.Socket): void {
  socket.once('finish', () => setTimeout(() => socket.destroy(), LINGER_MS).unref());
}

export class ConnectionGuard {
  private readonly byKey = new Map<string, Connection>();
  private readonly bySession = new WeakMap<http2.ServerHttp2Session, Connection>();
  private openStreams = 0;
  /** Connections with at least one open stream. */
  private busyConnections = 0;
  private draining = false;
  /** What happened since the last check, logged once per check, not once each. */
  private readonly since = { refused: 0, stalled: 0, timedOut: 0, ended: 0 };
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly perStreamBytes: number;
  private readonly perStreamFrames: number;
  /** A request is looked at once it is this old: when it may be stalled or out of time. */
  private readonly requestCheckAfterMs: number;
  private warnedNoHandle = false;

  private constructor(
    private readonly limits: GuardLimits,
    private readonly streamingRequestPaths: ReadonlySet<string>,
    private readonly logger: Logger,
  ) {
    this.perStreamBytes = limits.maxMessageBytes + HEADER_ALLOWANCE_BYTES;
    this.perStreamFrames = 1 + Math.ceil(limits.maxMessageBytes / 1024);
    this.requestCheckAfterMs = Math.min(STALLED_AFTER_MS, limits.requestReadTimeoutMs ?? Infinity);
  }

  /** Guards every HTTP/2 server `server` is bound with; call after bindAsync, with every service added. */
  static attach(server: grpc.Server, limits: GuardLimits, logger: Logger): ConnectionGuard {
    const guard = new ConnectionGuard(limits, streamingRequestPaths(server), logger);
    for (const http2Server of http2ServersOf(server)) guard.watch(http2Server);
    const check = setInterval(() => guard.check(CHECK_MS / 1000), CHECK_MS);
    check.unref();
    guard.timers.push(check);
    return guard;
  }

  private watch(http2Server: AnyHttp2Server): void {
    // Beyond the cap and what evicted connections may still hold while they linger, Node refuses a connection as
    // it accepts it (net.Server `maxConnections`), before any session is made for it.
    http2Server.maxConnections = this.limits.maxConnections + EVICTION_HEADROOM;
    http2Server.on('drop', () => this.since.refused++);
    // Before Node's own listener, which creates the session (synchronously, for h2c) that `session` maps back here.
    http2Server.prependListener('connection', (socket: net.Socket) => this.onConnection(socket));
    http2Server.on('secureConnection', (socket: net.Socket) => this.onTls(socket));
    http2Server.on('session', (session: http2.ServerHttp2Session) => this.onSession(session));
    const [grpcStreamListener] = http2Server.listeners('stream') as StreamListener[];
    http2Server.removeListener('stream', grpcStreamListener);
    const guarded: StreamListener = (stream, headers, flags, rawHeaders) => {
      if (!this.admit(stream, headers)) return;
      grpcStreamListener.call(http2Server, stream, headers, flags, rawHeaders);
      // After grpc-js's listener, which pauses the stream: a 'data' listener added before would start it flowing.
      const connection = this.bySession.get(stream.session as http2.ServerHttp2Session);
      if (connection) stream.on('data', () => connection.spent.dataFrames++);
    };
    http2Server.on('stream', guarded);
  }

  private onConnection(socket: net.Socket): void {
    if (socket.remoteAddress === undefined) return; // already gone
    if (this.byKey.size >= this.limits.maxConnections && !this.evict()) {
      this.since.refused++;
      // After Node's own listeners have taken the socket, which they expect open.
      process.nextTick(() => socket.destroy());
      return;
    }
    const now = Date.now();
    const connection: Connection = {
      socket,
      peer: `${socket.remoteAddress}:${socket.remotePort}`,
      calls: new Map(),
      idleSince: now,
      bytesRead: socket.bytesRead,
      spent: { bytes: 0, dataFrames: 0, refusedStreams: 0 },
      allowance: fullAllowance(),
      closing: false,
    };
    const key = keyOf(socket);
    this.byKey.set(key, connection);
    socket.once('close', () => {
      if (this.byKey.get(key) === connection) this.byKey.delete(key);
    });
    destroyAfterLastByte(socket);
  }

  /** TLS takes over the TCP socket: from now on the TLS socket is what is read, ended and destroyed. */
  private onTls(socket: net.Socket): void {
    const connection = this.byKey.get(keyOf(socket));
    if (!connection) return;
    connection.socket = socket;
    connection.bytesRead = socket.bytesRead;
    destroyAfterLastByte(socket);
  }

  private onSession(session: http2.ServerHttp2Session): void {
    // session.socket is a proxy to the socket the session runs on, whose address is the connection's.
    const connection = this.byKey.get(keyOf(session.socket));
    if (!connection) return;
    connection.session = session;
    this.bySession.set(session, connection);
    if (nativeHandleOf(session) === undefined && !this.warnedNoHandle) {
      this.warnedNoHandle = true;
      this.logger.log('error', 'Node internals changed: no http2 session handle with hasPendingData()', {
        effect: 'connections nghttp2 has ended are closed by keepalive only, and hold a drain',
        node: process.version,
      });
    }
    if (this.draining) this.closeWhenDone(connection);
  }

  /**
   * Makes room for a new connection by closing the one that costs others most and loses least: one nghttp2 has
   * ended (it can carry no call), else one whose every call is stalled, stalled longest, else the one idle longest,
   * else one whose every call's request is still arriving, the oldest (the server has not begun to serve any of
   * them). False if every connection has a call the server is serving or that streams its request.
   */
  private evict(): boolean {
    let stalled: Connection | undefined;
    let stalledSince = Infinity;
    let idle: Connection | undefined;
    let victim: Connection | undefined;
    const busy: Connection[] = [];
    for (const connection of this.byKey.values()) {
      if (connection.closing) continue;
      if (sessionEnded(connection.session)) {
        victim = connection;
        break;
      }
      if (connection.calls.size === 0) {
        if (idle === undefined || connection.idleSince < idle.idleSince) idle = connection;
        continue;
      }
      const since = waitingSinceOf(connection, true);
      if (since < stalledSince) [stalled, stalledSince] = [connection, since];
      else if (since === Infinity) busy.push(connection);
    }
    victim ??= stalled ?? idle;
    let arrivingSince = Infinity;
    if (victim === undefined)
      for (const connection of busy) {
        const since = waitingSinceOf(connection, false);
        if (since < arrivingSince) [victim, arrivingSince] = [connection, since];
      }
    if (victim === undefined) return false;
    this.byKey.delete(keyOf(victim.socket));
    victim.closing = true;
    // Its place is freed now, not after a linger: with no call on it that could still be answered, nothing is lost
    // should its client miss the GOAWAY (NO_ERROR); it reconnects for its next call. A connection that never sent a
    // byte gets no GOAWAY.
    if (victim.session && !victim.session.destroyed && victim.socket.bytesRead > 0) victim.session.destroy();
    else victim.socket.destroy();
    return true;
  }

  /**
   * Admits a new stream while the server holds fewer than maxStreams. At the cap, a connection below its fair
   * share (the cap over the connections with streams) gets the newest stream of the connection holding the most;
   * otherwise the new stream is refused (REFUSED_STREAM: never processed, safe for the client to retry).
   */
  private admit(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean {
    const connection = this.bySession.get(stream.session as http2.ServerHttp2Session);
    if (!connection) return true;
    if (this.openStreams >= this.limits.maxStreams && !this.makeRoomFor(connection)) {
      reset(stream, NGHTTP2_REFUSED_STREAM);
      // Each refused stream costs Node a stream's objects: a client retrying in a loop is cut off now, not at the
      // next check.
      connection.spent.refusedStreams++;
      if (connection.spent.refusedStreams > connection.allowance.refusedStreams)
        this.cutOff(connection, 'refusedStreams');
      return false;
    }
    if (connection.calls.size === 0) this.busyConnections++;
    connection.calls.set(stream, {
      openedAt: Date.now(),
      streamingRequest: this.streamingRequestPaths.has(String(headers[':path'])),
      arrived: false,
      stalled: false,
    });
    this.openStreams++;
    connection.allowance.bytes += this.perStreamBytes;
    connection.allowance.dataFrames += this.perStreamFrames;
    stream.once('close', () => this.release(connection, stream));
    return true;
  }

  /** Stops counting a stream against its connection and the server; false if it was not counted. */
  private release(connection: Connection, stream: http2.ServerHttp2Stream): boolean {
    if (!connection.calls.delete(stream)) return false;
    this.openStreams--;
    if (connection.calls.size === 0) {
      this.busyConnections--;
      connection.idleSince = Date.now();
    }
    return true;
  }

  private makeRoomFor(connection: Connection): boolean {
    const share = Math.max(
      1,
      Math.floor(this.limits.maxStreams / (this.busyConnections + (connection.calls.size === 0 ? 1 : 0))),
    );
    if (connection.calls.size >= share) return false;
    let heaviest: Connection | undefined;
    for (const other of this.byKey.values())
      if (heaviest === undefined || other.calls.size > heaviest.calls.size) heaviest = other;
    if (heaviest === undefined || heaviest.calls.size <= share) return false;
    const newest = [...heaviest.calls.keys()].at(-1)!;
    this.release(heaviest, newest);
    reset(newest, NGHTTP2_CANCEL);
    return true;
  }

  /**
   * Every CHECK_MS: closes connections nghttp2 has ended, resets requests out of time and marks stalled ones,
   * cuts off connections over their allowance (GOAWAY ENHANCE_YOUR_CALM), and logs what it did.
   */
  private check(seconds: number): void {
    const now = Date.now();
    let stalledConnections = 0;
    for (const connection of this.byKey.values()) {
      if (sessionEnded(connection.session)) {
        this.since.ended++;
        connection.closing = true;
        connection.session!.destroy();
        continue;
      }
      this.checkRequests(connection, now);
      if (waitingSinceOf(connection, true) < Infinity) stalledConnections++;
      this.checkFlood(connection, seconds);
    }
    this.report(stalledConnections);
  }

  /**
   * Marks the calls whose request (one message) has been arriving for STALLED_AFTER_MS, and resets those past
   * requestReadTimeoutMs: CANCEL, or NO_ERROR where the server has already answered (RFC 9113 §8.1).
   */
  private checkRequests(connection: Connection, now: number): void {
    const timeout = this.limits.requestReadTimeoutMs ?? Infinity;
    for (const [stream, call] of connection.calls) {
      if (call.arrived || call.streamingRequest || now - call.openedAt < this.requestCheckAfterMs) continue;
      if (requestArrived(stream)) {
        call.arrived = true;
        call.stalled = false;
      } else if (now - call.openedAt >= timeout) {
        this.since.timedOut++;
        this.release(connection, stream);
        reset(stream, responded(stream) ? NGHTTP2_NO_ERROR : NGHTTP2_CANCEL);
      } else if (!call.stalled && now - call.openedAt >= STALLED_AFTER_MS) {
        this.since.stalled++;
        call.stalled = true;
      }
    }
  }

  /** The connection's reading since the last check against its allowance; over it, GOAWAY ENHANCE_YOUR_CALM. */
  private checkFlood(connection: Connection, seconds: number): void {
    connection.spent.bytes = connection.socket.bytesRead - connection.bytesRead;
    connection.bytesRead = connection.socket.bytesRead;
    const perSecond = Object.fromEntries(
      SPENDINGS.map((spending) => [spending, Math.round(connection.spent[spending] / seconds)]),
    );
    for (const spending of SPENDINGS) {
      const rate = FLOOD_RATES[spending];
      connection.allowance[spending] = Math.min(
        connection.allowance[spending] + rate * seconds - connection.spent[spending],
        rate * FLOOD_BURST_SECONDS,
      );
      connection.spent[spending] = 0;
    }
    const over = SPENDINGS.find((spending) => connection.allowance[spending] < 0);
    if (over !== undefined) this.cutOff(connection, over, perSecond);
  }

  private report(stalledConnections: number): void {
    const { refused, stalled, timedOut, ended } = this.since;
    if (refused > 0)
      this.logger.log('warn', 'connections refused', {
        reason: 'connection cap: every connection has a call in flight, or too many arrived at once',
        count: refused,
        maxConnections: this.limits.maxConnections,
      });
    if (ended > 0)
      this.logger.log('warn', 'connections closed', {
        reason: 'nghttp2 ended them (a connection error, answered with GOAWAY)',
        count: ended,
      });
    if (stalled > 0)
      this.logger.log('warn', 'requests stalled', {
        reason: `requests not arrived ${STALLED_AFTER_MS} ms after their headers`,
        count: stalled,
        connections: stalledConnections,
      });
    if (timedOut > 0)
      this.logger.log('warn', 'requests timed out', {
        reason: 'requests not arrived within the request read timeout: reset',
        count: timedOut,
        requestReadTimeoutMs: this.limits.requestReadTimeoutMs,
      });
    Object.assign(this.since, { refused: 0, stalled: 0, timedOut: 0, ended: 0 });
  }

  private cutOff(connection: Connection, over: Spending, perSecond: Record<string, number> = {}): void {
    if (connection.closing) return;
    connection.closing = true;
    this.logger.log('warn', 'connection cut', {
      reason: FLOOD_REASONS[over],
      peer: connection.peer,
      streams: connection.calls.size,
      ...perSecond,
    });
    this.cut(connection);
  }

  /**
   * GOAWAY ENHANCE_YOUR_CALM, its streams reset, and the session closed: Node then stops handing its frames to
   * nghttp2 and reads and drops what it still sends while the socket lingers. Destroying at once would make the
   * kernel answer that unread data with a reset, which can make the client lose the GOAWAY.
   */
  private cut(connection: Connection): void {
    const { session } = connection;
    if (!session || session.destroyed) return void connection.socket.destroy();
    session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
    for (const stream of connection.calls.keys()) reset(stream, NGHTTP2_CANCEL);
    session.close();
    // Should a stream the guard never admitted keep the session open, it goes all the same.
    setTimeout(() => session.destroy(), LINGER_MS).unref();
  }

  /**
   * From now on every connection is closed as soon as the server has answered all its streams (grpc-js's
   * tryShutdown has sent GOAWAY, so no new one starts): idle ones at once, and one nghttp2 has ended, which can
   * answer nothing more, at once too. A stream the server has answered but the client keeps open (it never ended
   * its request) does not hold the drain.
   */
  drain(): void {
    this.draining = true;
    for (const connection of this.byKey.values()) this.closeWhenDone(connection);
  }

  private closeWhenDone(connection: Connection): void {
    const check = () => {
      if (sessionEnded(connection.session)) {
        connection.closing = true;
        connection.session!.destroy();
        return true;
      }
      const open = [...connection.calls.keys()];
      if (!open.every(responded)) return false;
      connection.closing = true;
      // Reset what the client still holds open after its answer (NO_ERROR: RFC 9113 §8.1 lets a server do so once
      // its response is complete, and the client keeps the response). The session, closed with GOAWAY, then ends
      // itself as its last stream closes, after what it has queued, and its socket lingers LINGER_MS at most.
      for (const stream of open) reset(stream, NGHTTP2_NO_ERROR);
      if (!connection.session) connection.socket.destroy();
      else if (!connection.session.closed) connection.session.close();
      return true;
    };
    if (check()) return;
    const timer = setInterval(() => check() && clearInterval(timer), DRAIN_CHECK_MS);
    timer.unref();
    connection.socket.once('close', () => clearInterval(timer));
  }

  /** Stops checking, and with `destroy` (the grace period is over) destroys every connection now. */
  stop({ destroy }: { destroy: boolean }): void {
    for (const timer of this.timers) clearInterval(timer);
    if (destroy) for (const connection of this.byKey.values()) connection.socket.destroy();
  }
}

/**
 * When the connection's calls all began waiting for their request (its newest call's start), if every one does:
 * with `stalledOnly` every call a check has marked stalled, else every call whose request (one message) has not
 * arrived now. Infinity otherwise, as for a connection with no call.
 */
function waitingSinceOf(connection: Connection, stalledOnly: boolean): number {
  let since = -Infinity;
  for (const [stream, call] of connection.calls) {
    const waiting = stalledOnly ? call.stalled : !call.arrived && !call.streamingRequest && !requestArrived(stream);
    if (!waiting) return Infinity;
    since = Math.max(since, call.openedAt);
  }
  return connection.calls.size === 0 ? Infinity : since;
}
