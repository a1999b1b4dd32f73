/**
 * HTTP/2 at the frame level over a plain TCP socket, for what node:http2 will not send: streams beyond the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS, PING floods, garbage frames, no connection preface. Requests are HPACK literals
 * (no Huffman, no table); responses are read only as frames (type, flags, stream, payload), never decoded.
 */
import * as net from 'node:net';
import { GRPC_REQUEST_HEADERS } from './raw-grpc';

export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Frame types (RFC 9113 §6). */
export const FRAME = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;
export const END_STREAM = 0x1;
export const ACK = 0x1;
export const END_HEADERS = 0x4;

/** Error codes (RFC 9113 §7), by name and back. */
export const H2_ERROR = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  ENHANCE_YOUR_CALM: 11,
} as const;
export function h2ErrorName(code: number): string {
  return Object.entries(H2_ERROR).find(([, value]) => value === code)?.[0] ?? `0x${code.toString(16)}`;
}

export const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
export const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
/** The flow-control window every stream and the connection start with (RFC 9113 §6.9.2). */
export const DEFAULT_WINDOW = 65_535;

/**
 * SayHello's request headers with the pseudo-headers node:http2 adds itself, pseudo-headers first as HTTP/2
 * requires (GRPC_REQUEST_HEADERS lists its own first).
 */
export const SAY_HELLO_HEADERS: Readonly<Record<string, string>> = {
  ':scheme': 'http',
  ':authority': '127.0.0.1',
  ...GRPC_REQUEST_HEADERS,
};

export interface H2Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

/** HPACK integer with an n-bit prefix (RFC 7541 §5.1); `first` holds the bits above the prefix. */
function hpackInteger(value: number, prefixBits: number, first = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const bytes = [first | max];
  for (value -= max; value >= 128; value = Math.floor(value / 128)) bytes.push((value % 128) + 128);
  bytes.push(value);
  return Buffer.from(bytes);
}

/** Each header as "literal without indexing, new name" with raw (non-Huffman) strings: valid, and stateless. */
export function hpackLiterals(headers: Record<string, string>): Buffer {
  const string = (text: string) => {
    const bytes = Buffer.from(text, 'latin1');
    return Buffer.concat([hpackInteger(bytes.length, 7), bytes]);
  };
  return Buffer.concat(
    Object.entries(headers).flatMap(([name, value]) => [Buffer.from([0x00]), string(name), string(value)]),
  );
}

export function headersFrame(streamId: number, headers: Record<string, string>, endStream = false): Buffer {
  return frame(FRAME.HEADERS, END_HEADERS | (endStream ? END_STREAM : 0), streamId, hpackLiterals(headers));
}

export function dataFrame(streamId: number, data: Buffer, endStream = false): Buffer {
  return frame(FRAME.DATA, endStream ? END_STREAM : 0, streamId, data);
}

export function settingsFrame(settings: ReadonlyArray<readonly [number, number]> = []): Buffer {
  const payload = Buffer.alloc(6 * settings.length);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, 6 * i);
    payload.writeUInt32BE(value, 6 * i + 2);
  });
  return frame(FRAME.SETTINGS, 0, 0, payload);
}

export function pingFrame(data: Buffer = Buffer.alloc(8)): Buffer {
  return frame(FRAME.PING, 0, 0, data);
}

/**
 * A PRIORITY frame with 3 bytes of payload instead of 5: a connection error, FRAME_SIZE_ERROR (RFC 9113 §6.3), that
 * nghttp2 answers with GOAWAY and then ends the session.
 */
export function malformedPriorityFrame(streamId = 1): Buffer {
  return frame(FRAME.PRIORITY, 0, streamId, Buffer.alloc(3));
}

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(increment & 0x7fffffff);
  return frame(FRAME.WINDOW_UPDATE, 0, streamId, payload);
}

export function windowIncrementOf(received: H2Frame): number {
  return received.payload.readUInt32BE(0) & 0x7fffffff;
}

export function goawayOf(received: H2Frame): { lastStreamId: number; errorCode: number; error: string; debug: string } {
  const errorCode = received.payload.readUInt32BE(4);
  return {
    lastStreamId: received.payload.readUInt32BE(0) & 0x7fffffff,
    errorCode,
    error: h2ErrorName(errorCode),
    debug: received.payload.subarray(8).toString('latin1'),
  };
}

/** The DATA payload bytes per stream (padding included, as flow control counts them) of the whole frames in `bytes`. */
export function dataBytesOf(bytes: Buffer): Map<number, number> {
  const byStream = new Map<number, number>();
  for (let at = 0; at + 9 <= bytes.length;) {
    const length = bytes.readUIntBE(at, 3);
    if (bytes[at + 3] === FRAME.DATA) {
      const streamId = bytes.readUInt32BE(at + 5) & 0x7fffffff;
      byStream.set(streamId, (byStream.get(streamId) ?? 0) + length);
    }
    at += 9 + length;
  }
  return byStream;
}

/** The value of one setting in a SETTINGS frame, if it carries it. */
export function settingOf(received: H2Frame, id: number): number | undefined {
  for (let at = 0; at + 6 <= received.payload.length; at += 6)
    if (received.payload.readUInt16BE(at) === id) return received.payload.readUInt32BE(at + 2);
  return undefined;
}

export function rstCodeOf(received: H2Frame): number {
  return received.payload.readUInt32BE(0);
}

/** The frame that ends a response: HEADERS with END_STREAM (the trailers, or a trailers-only response). */
export function endsResponse(streamId: number): (received: H2Frame) => boolean {
  return (received) =>
    received.streamId === streamId && received.type === FRAME.HEADERS && (received.flags & END_STREAM) !== 0;
}

export function isGoaway(received: H2Frame): boolean {
  return received.type === FRAME.GOAWAY;
}

export interface RawH2Connection {
  socket: net.Socket;
  /** Every frame received so far, in order. */
  frames: H2Frame[];
  send(...chunks: Buffer[]): void;
  /** Resolves once the socket's write buffer has drained (at once if it has). */
  drained(): Promise<void>;
  /**
   * Bytes the server lets this client send now on a stream, or on the connection (stream 0): its initial window
   * (65,535, or its SETTINGS_INITIAL_WINDOW_SIZE for a stream) plus its WINDOW_UPDATEs, minus the DATA sent.
   */
  sendWindow(streamId?: number): number;
  /**
   * The first frame (already received or still to come) that matches, or a rejection once the socket has closed
   * without one, or after timeoutMs.
   */
  waitFor(match: (received: H2Frame) => boolean, timeoutMs?: number): Promise<H2Frame>;
  /**
   * Sends a PING and resolves on its ACK: the server has then read and handled everything sent before it (it
   * answers frames in order), or rejects after timeoutMs.
   */
  roundTrip(timeoutMs?: number): Promise<void>;
  /** Resolves when the server has ended its side (its FIN), or the socket has closed. */
  ended: Promise<void>;
  /** Resolves when the socket has closed, from either side. */
  closed: Promise<void>;
  isClosed(): boolean;
  destroy(): void;
}

export interface RawH2Options {
  /** Send the client preface and an empty SETTINGS first (default true). */
  preface?: boolean;
  /** Acknowledge the server's SETTINGS, as every client must (default true). */
  ackSettings?: boolean;
  /** Answer the server's PINGs, as every client must, so its keepalive never ends the connection (default false). */
  answerPings?: boolean;
  /** The client's SETTINGS entries in its preface, e.g. [[SETTINGS_INITIAL_WINDOW_SIZE, 0]] (default none). */
  settings?: ReadonlyArray<readonly [number, number]>;
  /** Keep every received frame in `frames` (default true); off, only the last 1,000 are kept, for long attacks. */
  keepFrames?: boolean;
  /** Keep the socket open after the server's FIN, as a peer that ignores GOAWAY does (default false: close it). */
  ignoreClose?: boolean;
}

const KEPT_FRAMES_WHEN_NOT_KEEPING = 1000;
/** Distinct payloads for roundTrip's PINGs, across connections. */
let roundTrips = 0;

export function connectRawH2(
  port: number,
  {
    preface = true,
    ackSettings = true,
    answerPings = false,
    settings = [],
    keepFrames = true,
    ignoreClose = false,
  }: RawH2Options = {},
): Promise<RawH2Connection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: ignoreClose });
    const frames: H2Frame[] = [];
    const waiters = new Set<{
      match: (received: H2Frame) => boolean;
      resolve: (received: H2Frame) => void;
      reject: (why: string) => void;
    }>();
    const receivedSoFar = () => frames.map((f) => `${f.type}/${f.flags}@${f.streamId}`).join(' ');
    let pending = Buffer.alloc(0);
    let isClosed = false;
    let initialStreamWindow = DEFAULT_WINDOW;
    // Per stream: WINDOW_UPDATEs received minus DATA sent; stream 0 is the connection.
    const windowChanges = new Map<number, number>();
    const changeWindow = (streamId: number, by: number) =>
      windowChanges.set(streamId, (windowChanges.get(streamId) ?? 0) + by);
    const closed = new Promise<void>((done) =>
      socket.once('close', () => {
        isClosed = true;
        for (const waiter of waiters) waiter.reject('the socket closed');
        waiters.clear();
        done();
      }),
    );
    const ended = new Promise<void>((done) => socket.once('end', done).once('close', done));
    socket.on('error', () => undefined); // a reset shows as `closed`
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const received: H2Frame = {
          type: pending[3],
          flags: pending[4],
          streamId: pending.readUInt32BE(5) & 0x7fffffff,
          payload: pending.subarray(9, 9 + length),
        };
        pending = pending.subarray(9 + length);
        frames.push(received);
        if (!keepFrames && frames.length > 2 * KEPT_FRAMES_WHEN_NOT_KEEPING)
          frames.splice(0, KEPT_FRAMES_WHEN_NOT_KEEPING);
        if (received.type === FRAME.WINDOW_UPDATE) changeWindow(received.streamId, windowIncrementOf(received));
        if (received.type === FRAME.SETTINGS && !(received.flags & ACK))
          initialStreamWindow = settingOf(received, SETTINGS_INITIAL_WINDOW_SIZE) ?? initialStreamWindow;
        if (ackSettings && received.type === FRAME.SETTINGS && !(received.flags & ACK) && !socket.destroyed)
          socket.write(frame(FRAME.SETTINGS, ACK, 0));
        if (answerPings && received.type === FRAME.PING && !(received.flags & ACK) && !socket.destroyed)
          socket.write(frame(FRAME.PING, ACK, 0, received.payload));
        for (const waiter of [...waiters].filter((w) => w.match(received))) {
          waiters.delete(waiter);
          waiter.resolve(received);
        }
      }
    });
    socket.once('connect', () => {
      if (preface) socket.write(Buffer.concat([CLIENT_PREFACE, settingsFrame(settings)]));
      const connection: RawH2Connection = {
        socket,
        frames,
        ended,
        closed,
        isClosed: () => isClosed,
        send: (...chunks) => {
          if (socket.destroyed) return;
          for (const chunk of chunks) {
            for (const [streamId, bytes] of dataBytesOf(chunk)) {
              changeWindow(streamId, -bytes);
              changeWindow(0, -bytes);
            }
          }
          socket.write(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
        },
        drained: () =>
          socket.writableNeedDrain && !socket.destroyed
            ? new Promise<void>((done) => {
                const settle = () => {
                  socket.off('drain', settle).off('close', settle);
                  done();
                };
                socket.on('drain', settle).on('close', settle);
              })
            : Promise.resolve(),
        sendWindow: (streamId = 0) =>
          (streamId === 0 ? DEFAULT_WINDOW : initialStreamWindow) + (windowChanges.get(streamId) ?? 0),
        waitFor(match, timeoutMs = 5_000) {
          const seen = frames.find(match);
          if (seen) return Promise.resolve(seen);
          return new Promise((resolveFrame, rejectFrame) => {
            const waiter = {
              match,
              resolve: (frame: H2Frame) => (clearTimeout(timer), resolveFrame(frame)),
              reject: (why: string) => {
                clearTimeout(timer);
                rejectFrame(new Error(`no matching frame: ${why}; received ${receivedSoFar()}`));
              },
            };
            const timer = setTimeout(() => {
              waiters.delete(waiter);
              waiter.reject(`none within ${timeoutMs} ms`);
            }, timeoutMs);
            if (isClosed) waiter.reject('the socket closed');
            else waiters.add(waiter);
          });
        },
        async roundTrip(timeoutMs) {
          const payload = Buffer.alloc(8);
          payload.writeUInt32BE(++roundTrips);
          connection.send(pingFrame(payload));
          await connection.waitFor(
            (f) => f.type === FRAME.PING && (f.flags & ACK) !== 0 && f.payload.equals(payload),
            timeoutMs,
          );
        },
        destroy: () => socket.destroy(),
      };
      resolve(connection);
    });
    socket.once('error', reject);
  });
}
