/**
 * What grpc-js leaves to the application, enforced on the HTTP/2 servers it listens with: a cap on connections
 * (the longest-idle one makes room), a server-wide cap on streams in flight (a connection holding more than its
 * share gives way), a cut-off for connections that send far more than their calls need (GOAWAY
 * ENHANCE_YOUR_CALM), sockets destroyed once the server has finished with them instead of waiting for a peer that
 * ignores GOAWAY, and drains that end with the last call.
 */
import * as http2 from 'node:http2';
import type * as net from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from './log';

const { NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

export interface GuardLimits {
  /** Connections at once; at the cap the longest-idle one is closed to admit a new one, else the new one is. */
  readonly maxConnections: number;
  /** HTTP/2 streams open at once on the whole server. */
  readonly maxStreams: number;
  /** The largest request message: what one stream may legitimately send (MAX_RECEIVE_MESSAGE_BYTES). */
  readonly maxMessageBytes: number;
}

/**
 * After the server has sent its last byte (FIN) on a connection, how long the peer has to close its side before
 * the socket is destroyed. Node (20.20, lib/internal/http2/core.js `finishSessionClose`) ends the socket of a
 * gracefully closed session and then waits for the peer forever, reading and dropping what it sends.
 */
export const LINGER_MS = 250;
/** How often each connection's spending is checked against its allowance. */
const FLOOD_CHECK_MS = 250;
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
/** Headers, trailers and padding a call may send besides its message. */
const HEADER_ALLOWANCE_BYTES = 16 * 1024;
/** While draining, how often streams are checked for the end of their response. */
const DRAIN_CHECK_MS = 25;

interface Connection {
  /** The socket the session runs on: the TCP one, or the TLS one over it once the handshake is done. */
  socket: net.Socket;
  readonly peer: string;
  session?: http2.ServerHttp2Session;
  readonly streams: Set<http2.ServerHttp2Stream>;
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

function keyOf(socket: { remoteAddress?: string; remotePort?: number }): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

/** True once the server has sent END_STREAM: its response is complete, whatever the client still sends. */
function responded(stream: http2.ServerHttp2Stream): boolean {
  return stream.destroyed || stream.state?.localClose === 1;
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
  /** Connections refused since the last check: logged once per check, not once each. */
  private refused = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly perStreamBytes: number;
  private readonly perStreamFrames: number;

  private constructor(
    private readonly limits: GuardLimits,
    private readonly logger: Logger,
  ) {
    this.perStreamBytes = limits.maxMessageBytes + HEADER_ALLOWANCE_BYTES;
    this.perStreamFrames = 1 + Math.ceil(limits.maxMessageBytes / 1024);
  }

  /** Guards every HTTP/2 server `server` is bound with; call after bindAsync. */
  static attach(server: grpc.Server, limits: GuardLimits, logger: Logger): ConnectionGuard {
    const guard = new ConnectionGuard(limits, logger);
    for (const http2Server of http2ServersOf(server)) guard.watch(http2Server);
    const check = setInterval(() => guard.checkFloods(FLOOD_CHECK_MS / 1000), FLOOD_CHECK_MS);
    check.unref();
    guard.timers.push(check);
    return guard;
  }

  private watch(http2Server: AnyHttp2Server): void {
    // Beyond the cap and what evicted connections may still hold while they linger, Node refuses a connection as
    // it accepts it (net.Server `maxConnections`), before any session is made for it.
    http2Server.maxConnections = this.limits.maxConnections + EVICTION_HEADROOM;
    http2Server.on('drop', () => this.refused++);
    // Before Node's own listener, which creates the session (synchronously, for h2c) that `session` maps back here.
    http2Server.prependListener('connection', (socket: net.Socket) => this.onConnection(socket));
    http2Server.on('secureConnection', (socket: net.Socket) => this.onTls(socket));
    http2Server.on('session', (session: http2.ServerHttp2Session) => this.onSession(session));
    const [grpcStreamListener] = http2Server.listeners('stream') as StreamListener[];
    http2Server.removeListener('stream', grpcStreamListener);
    const guarded: StreamListener = (stream, headers, flags, rawHeaders) => {
      if (!this.admit(stream)) return;
      grpcStreamListener.call(http2Server, stream, headers, flags, rawHeaders);
      // After grpc-js's listener, which pauses the stream: a 'data' listener added before would start it flowing.
      const connection = this.bySession.get(stream.session as http2.ServerHttp2Session);
      if (connection) stream.on('data', () => connection.spent.dataFrames++);
    };
    http2Server.on('stream', guarded);
  }

  private onConnection(socket: net.Socket): void {
    if (socket.remoteAddress === undefined) return; // already gone
    if (this.byKey.size >= this.limits.maxConnections && !this.evictIdle()) {
      this.refused++;
      // After Node's own listeners have taken the socket, which they expect open.
      process.nextTick(() => socket.destroy());
      return;
    }
    const now = Date.now();
    const connection: Connection = {
      socket,
      peer: `${socket.remoteAddress}:${socket.remotePort}`,
      streams: new Set(),
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
    if (this.draining) this.closeWhenDone(connection);
  }

  /** Closes the connection idle the longest, to make room for a new one; false if every connection has a call. */
  private evictIdle(): boolean {
    let oldest: Connection | undefined;
    for (const connection of this.byKey.values()) {
      if (
        connection.streams.size === 0 &&
        !connection.closing &&
        (oldest === undefined || connection.idleSince < oldest.idleSince)
      )
        oldest = connection;
    }
    if (oldest === undefined) return false;
    this.byKey.delete(keyOf(oldest.socket));
    oldest.closing = true;
    // Its place is freed now, not after a linger: with no call on it, nothing is lost should its client miss the
    // GOAWAY (NO_ERROR); it reconnects for its next call. A connection that never sent a byte gets no GOAWAY.
    if (oldest.session && !oldest.session.destroyed && oldest.socket.bytesRead > 0) oldest.session.destroy();
    else oldest.socket.destroy();
    return true;
  }

  /**
   * Admits a new stream while the server holds fewer than maxStreams. At the cap, a connection below its fair
   * share (the cap over the connections with streams) gets the newest stream of the connection holding the most;
   * otherwise the new stream is refused (REFUSED_STREAM: never processed, safe for the client to retry).
   */
  private admit(stream: http2.ServerHttp2Stream): boolean {
    const connection = this.bySession.get(stream.session as http2.ServerHttp2Session);
    if (!connection) return true;
    if (this.openStreams >= this.limits.maxStreams && !this.makeRoomFor(connection)) {
      // Closing with an error code emits 'error', which must have a listener.
      stream.on('error', () => undefined).close(NGHTTP2_REFUSED_STREAM);
      // Each refused stream costs Node a stream's objects: a client retrying in a loop is cut off now, not at the
      // next check.
      connection.spent.refusedStreams++;
      if (connection.spent.refusedStreams > connection.allowance.refusedStreams)
        this.cutOff(connection, 'refusedStreams');
      return false;
    }
    if (connection.streams.size === 0) this.busyConnections++;
    connection.streams.add(stream);
    this.openStreams++;
    connection.allowance.bytes += this.perStreamBytes;
    connection.allowance.dataFrames += this.perStreamFrames;
    stream.once('close', () => {
      if (!connection.streams.delete(stream)) return;
      this.openStreams--;
      if (connection.streams.size === 0) {
        this.busyConnections--;
        connection.idleSince = Date.now();
      }
    });
    return true;
  }

  private makeRoomFor(connection: Connection): boolean {
    const share = Math.max(
      1,
      Math.floor(this.limits.maxStreams / (this.busyConnections + (connection.streams.size === 0 ? 1 : 0))),
    );
    if (connection.streams.size >= share) return false;
    let heaviest: Connection | undefined;
    for (const other of this.byKey.values())
      if (heaviest === undefined || other.streams.size > heaviest.streams.size) heaviest = other;
    if (heaviest === undefined || heaviest.streams.size <= share) return false;
    const newest = [...heaviest.streams].at(-1)!;
    heaviest.streams.delete(newest);
    this.openStreams--;
    newest.on('error', () => undefined).close(NGHTTP2_CANCEL);
    return true;
  }

  /** Each connection's reading since the last check against its allowance; over it, GOAWAY ENHANCE_YOUR_CALM. */
  private checkFloods(seconds: number): void {
    if (this.refused > 0) {
      this.logger.log('warn', 'connections refused', {
        reason: 'connection cap: every connection has a call in flight, or too many arrived at once',
        count: this.refused,
        maxConnections: this.limits.maxConnections,
      });
      this.refused = 0;
    }
    for (const connection of this.byKey.values()) {
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
  }

  private cutOff(connection: Connection, over: Spending, perSecond: Record<string, number> = {}): void {
    if (connection.closing) return;
    connection.closing = true;
    this.logger.log('warn', 'connection cut', {
      reason: FLOOD_REASONS[over],
      peer: connection.peer,
      streams: connection.streams.size,
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
    for (const stream of connection.streams) stream.on('error', () => undefined).close(NGHTTP2_CANCEL);
    session.close();
    // Should a stream the guard never admitted keep the session open, it goes all the same.
    setTimeout(() => session.destroy(), LINGER_MS).unref();
  }

  /**
   * From now on every connection is closed as soon as the server has answered all its streams (grpc-js's
   * tryShutdown has sent GOAWAY, so no new one starts): idle ones at once. A stream the server has answered but the
   * client keeps open (it never ended its request) does not hold the drain.
   */
  drain(): void {
    this.draining = true;
    for (const connection of this.byKey.values()) this.closeWhenDone(connection);
  }

  private closeWhenDone(connection: Connection): void {
    const check = () => {
      const open = [...connection.streams];
      if (!open.every(responded)) return false;
      connection.closing = true;
      // Reset what the client still holds open after its answer (NO_ERROR: RFC 9113 §8.1 lets a server do so once
      // its response is complete, and the client keeps the response). The session, closed with GOAWAY, then ends
      // itself as its last stream closes, after what it has queued, and its socket lingers LINGER_MS at most.
      for (const stream of open) if (!stream.destroyed) stream.on('error', () => undefined).close(NGHTTP2_NO_ERROR);
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
