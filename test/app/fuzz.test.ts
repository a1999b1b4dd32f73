/**
 * Bad input to a greeter server process: seeded random and mutated request bodies, requests it must refuse,
 * malformed and random HTTP/2 frames, and the server's limits (concurrent streams, pings, idle connections,
 * thousands of connections, calls without a deadline). Each gets the gRPC status or HTTP/2 error asserted here, and
 * after each the server still answers a normal call.
 */
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { clientSettings, createGreeterClient } from '../../app/client';
import { defaultSettings } from '../../app/config';
import { serverSettings } from '../../app/server';
import {
  fuzzCases,
  helloRequest,
  runFuzzCases,
  runRandomFrames,
  statusName,
  type ServerLimits,
} from '../../harness/fuzz';
import { startTestServer } from '../../harness/greeter';
import { startServerProcess, stopProcess, type ServerProcess } from '../../harness/processes';
import {
  grpcMessage,
  openSayHello,
  parseSayHelloReply,
  sayHelloFrame,
  type RawCallResult,
} from '../../harness/raw-grpc';
import {
  ACK,
  END_HEADERS,
  FRAME,
  H2_ERROR,
  SAY_HELLO_HEADERS,
  connectRawH2,
  dataFrame,
  endsResponse,
  frame,
  goawayOf,
  h2ErrorName,
  headersFrame,
  hpackLiterals,
  isGoaway,
  pingFrame,
  rstCodeOf,
  type H2Frame,
  type RawH2Connection,
} from '../../harness/raw-h2';

const POD = 'greeter-fuzz';
const defaults = defaultSettings(serverSettings);
const LIMITS: ServerLimits = {
  maxReceiveMessageBytes: defaults.maxReceiveMessageBytes,
  maxNameBytes: defaults.maxNameBytes,
  pod: POD,
};
const FUZZ_SEED = 20261127;
const FUZZ_CASES = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** 'closed' if `closed` settles within ms, else 'open'. */
const closedWithin = (closed: Promise<unknown>, ms: number) =>
  Promise.race([closed.then(() => 'closed'), sleep(ms).then(() => 'open')]);

let server: ServerProcess;
beforeAll(async () => {
  server = await startServerProcess(POD);
}, 30_000);
afterAll(() => stopProcess(server));

/** One SayHello through grpc-js with a deadline: the reply or the error. */
function sayHello(
  target: string,
  name: string,
  options: grpc.CallOptions = { deadline: Date.now() + 2000 },
): Promise<string> {
  const client = createGreeterClient({ ...defaultSettings(clientSettings), target });
  return new Promise<string>((resolve, reject) =>
    client.SayHello({ name }, new grpc.Metadata(), options, (error, reply) =>
      error ? reject(error) : resolve(reply!.message),
    ),
  ).finally(() => client.close());
}

/** The server process is still up and a normal call gets its normal reply. */
async function expectStillServing(): Promise<void> {
  expect(server.child.exitCode).toBeNull();
  await expect(sayHello(`127.0.0.1:${server.port}`, 'after')).resolves.toBe(`Hello after from ${POD}`);
}

async function withSession<T>(use: (session: http2.ClientHttp2Session) => Promise<T>): Promise<T> {
  const session = http2.connect(`http://127.0.0.1:${server.port}`);
  session.on('error', () => undefined); // each call's result says what happened
  try {
    return await use(session);
  } finally {
    session.destroy();
  }
}

function send(
  session: http2.ClientHttp2Session,
  body: Buffer,
  headers: http2.OutgoingHttpHeaders = {},
): Promise<RawCallResult> {
  const { stream, result } = openSayHello(session, 5000, headers);
  stream.end(body);
  return result;
}

const hello = (name: string | Buffer, flag = 0) =>
  grpcMessage(helloRequest(typeof name === 'string' ? Buffer.from(name) : name), flag);

describe('request bodies', () => {
  test(`${FUZZ_CASES} seeded random and mutated bodies each get the status the model gives, over one connection`, async () => {
    const run = await runFuzzCases(server.port, fuzzCases(FUZZ_SEED, FUZZ_CASES, LIMITS));
    expect(run.mismatches.slice(0, 10)).toEqual([]);
    // The seed reaches every answer there is; a body that crashed a handler would show as UNKNOWN.
    expect([...run.byStatus.keys()].sort()).toEqual([
      'INTERNAL',
      'INVALID_ARGUMENT',
      'OK',
      'RESOURCE_EXHAUSTED',
      'UNIMPLEMENTED',
    ]);
    await expectStillServing();
  });

  test.each([
    ['an unknown method', 'UNIMPLEMENTED', { ':path': '/helloworld.Greeter/SayGoodbye' }, hello('x')],
    ['an unknown service', 'UNIMPLEMENTED', { ':path': '/no.such.Service/Call' }, hello('x')],
    ['a name whose bytes are not UTF-8', 'INVALID_ARGUMENT', {}, hello(Buffer.from([0x61, 0xff, 0xfe, 0x62]))],
    ['a UTF-16 surrogate encoded as UTF-8', 'INVALID_ARGUMENT', {}, hello(Buffer.from([0xed, 0xa0, 0x80]))],
    [`a name of ${LIMITS.maxNameBytes + 1} bytes`, 'INVALID_ARGUMENT', {}, hello('x'.repeat(LIMITS.maxNameBytes + 1))],
    ['a name of 100,000 bytes', 'RESOURCE_EXHAUSTED', {}, hello('x'.repeat(100_000))],
    ['a length prefix of 4 GiB', 'RESOURCE_EXHAUSTED', {}, grpcMessage(Buffer.alloc(8), 0, 2 ** 32 - 1)],
    ['a grpc-timeout that is not one', 'INTERNAL', { 'grpc-timeout': 'soon' }, hello('x')],
    ['a compression the server lacks', 'UNIMPLEMENTED', { 'grpc-encoding': 'snappy' }, hello('x', 1)],
    ['gzip that is not gzip', 'INTERNAL', { 'grpc-encoding': 'gzip' }, grpcMessage(Buffer.from('not gzip'), 1)],
    [
      'gzip that inflates past the receive limit',
      'RESOURCE_EXHAUSTED',
      { 'grpc-encoding': 'gzip' },
      grpcMessage(gzipSync(helloRequest(Buffer.alloc(128 * 1024, 0x61))), 1),
    ],
  ] as const)('%s gets %s', async (_what, status, headers, body) => {
    const result = await withSession((session) => send(session, body, headers));
    expect({ httpStatus: result.httpStatus, status: statusName(result) }).toEqual({ httpStatus: 200, status });
    await expectStillServing();
  });

  test.each([
    ['a genuine U+FFFD in the name', {}, hello('a\uFFFDb'), 'a\uFFFDb'],
    [
      'gzip that is gzip',
      { 'grpc-encoding': 'gzip' },
      grpcMessage(gzipSync(helloRequest(Buffer.from('zipped'))), 1),
      'zipped',
    ],
    // grpc-js reads any flag without grpc-encoding as uncompressed.
    ['compression flag 1 without grpc-encoding', {}, hello('flagged', 1), 'flagged'],
  ] as const)('%s is answered', async (_what, headers, body, name) => {
    const result = await withSession((session) => send(session, body, headers));
    expect(result.grpcStatus).toBe('0');
    expect(parseSayHelloReply(result.body)).toBe(`Hello ${name} from ${POD}`);
  });

  test('a content-type that is not gRPC gets HTTP 415 and no gRPC status', async () => {
    const result = await withSession((session) => send(session, hello('x'), { 'content-type': 'text/plain' }));
    expect(result).toMatchObject({ httpStatus: 415, grpcStatus: undefined });
    await expectStillServing();
  });
});

describe('calls without a deadline', () => {
  test('a grpc-js call with no deadline is answered', async () => {
    await expect(sayHello(`127.0.0.1:${server.port}`, 'no deadline', {})).resolves.toBe(
      `Hello no deadline from ${POD}`,
    );
  });

  test('50 half-sent calls with no deadline do not hold up others on their connection or any other', async () => {
    await withSession(async (session) => {
      const body = sayHelloFrame('held');
      const held = Array.from({ length: 50 }, () => {
        const call = openSayHello(session);
        call.stream.write(body.subarray(0, 3));
        return call;
      });
      await expect(send(session, sayHelloFrame('beside'))).resolves.toMatchObject({ grpcStatus: '0' });
      await expectStillServing();
      for (const { stream } of held) stream.end(body.subarray(3));
      const results = await Promise.all(held.map(({ result }) => result));
      expect(results.map((result) => parseSayHelloReply(result.body))).toEqual(
        Array(50).fill(`Hello held from ${POD}`),
      );
    });
  });
});

/** Raw connections a test opened, destroyed after it. */
const rawConnections: RawH2Connection[] = [];
afterEach(() => rawConnections.splice(0).forEach((connection) => connection.destroy()));
async function rawConnection(port: number, options: Parameters<typeof connectRawH2>[1] = {}): Promise<RawH2Connection> {
  const connection = await connectRawH2(port, options);
  rawConnections.push(connection);
  return connection;
}

/** A header block split over HEADERS and CONTINUATION frames of at most 16 KiB. */
function headerBlockFrames(streamId: number, headers: Record<string, string>): Buffer {
  const block = hpackLiterals(headers);
  const parts: Buffer[] = [];
  for (let at = 0; at < block.length; at += 16_000) parts.push(block.subarray(at, at + 16_000));
  return Buffer.concat(
    parts.map((part, i) =>
      frame(i === 0 ? FRAME.HEADERS : FRAME.CONTINUATION, i === parts.length - 1 ? END_HEADERS : 0, streamId, part),
    ),
  );
}

describe('malformed frames', () => {
  const manyHeaders = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`x-header-${i}`, 'v']));
  const withoutPath = Object.fromEntries(Object.entries(SAY_HELLO_HEADERS).filter(([name]) => name !== ':path'));
  const request = (streamId: number, headers: Record<string, string>) =>
    Buffer.concat([headersFrame(streamId, headers), dataFrame(streamId, sayHelloFrame('x'), true)]);
  // A connection error ends the connection with GOAWAY, a stream error resets only its stream; the codes are
  // nghttp2's (Node 20).
  test.each([
    ['DATA on stream 0', { goaway: 'PROTOCOL_ERROR' }, () => frame(FRAME.DATA, 0, 0, Buffer.from('abc'))],
    ['a frame over the 16 KiB frame size', { goaway: 'FRAME_SIZE_ERROR' }, () => dataFrame(1, Buffer.alloc(20_000))],
    [
      'SETTINGS with a 5-byte payload',
      { goaway: 'FRAME_SIZE_ERROR' },
      () => frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(5)),
    ],
    [
      'HEADERS that are not HPACK',
      { goaway: 'COMPRESSION_ERROR' },
      () => frame(FRAME.HEADERS, END_HEADERS, 1, Buffer.from([0xff, 0xff, 0xff, 0xff])),
    ],
    [
      'a 100 KB header block',
      { goaway: 'COMPRESSION_ERROR' },
      () => headerBlockFrames(1, { ...SAY_HELLO_HEADERS, 'x-big': 'a'.repeat(100_000) }),
    ],
    ['1000 header fields', { rst: 'ENHANCE_YOUR_CALM' }, () => request(1, { ...SAY_HELLO_HEADERS, ...manyHeaders })],
    [
      'an upper-case header name',
      { rst: 'PROTOCOL_ERROR' },
      () => request(1, { ...SAY_HELLO_HEADERS, 'X-Upper': 'v' }),
    ],
    ['no :path', { rst: 'PROTOCOL_ERROR' }, () => request(1, withoutPath)],
  ] as const)('%s: %j', async (_what, expected, bytes) => {
    const connection = await rawConnection(server.port);
    connection.send(bytes());
    if ('goaway' in expected) {
      expect(goawayOf(await connection.waitFor(isGoaway, 2000)).error).toBe(expected.goaway);
    } else {
      const reset = await connection.waitFor((f) => f.type === FRAME.RST_STREAM && f.streamId === 1, 2000);
      expect(h2ErrorName(rstCodeOf(reset))).toBe(expected.rst);
      // A stream error leaves the connection working.
      connection.send(request(3, SAY_HELLO_HEADERS));
      await connection.waitFor(endsResponse(3), 2000);
    }
    await expectStillServing();
  });

  test('an HTTP/1.1 request instead of the connection preface gets GOAWAY and the connection closed', async () => {
    const connection = await rawConnection(server.port, { preface: false });
    connection.send(Buffer.from('POST /helloworld.Greeter/SayHello HTTP/1.1\r\nHost: x\r\n\r\n'));
    await connection.waitFor(isGoaway, 2000);
    await expect(closedWithin(connection.closed, 2000)).resolves.toBe('closed');
    await expectStillServing();
  });

  test('a frame of an unknown type is ignored and the connection still serves a call', async () => {
    const connection = await rawConnection(server.port);
    connection.send(frame(0x42, 0xff, 0, Buffer.from('whatever this is')), request(1, SAY_HELLO_HEADERS));
    await connection.waitFor(endsResponse(1), 2000);
    expect(connection.frames.some(isGoaway)).toBe(false);
  });

  test('300 connections of seeded random frames: the server reads each, ends the bad ones, and keeps serving', async () => {
    const { outcomes, settingsFirst } = await runRandomFrames(server.port, FUZZ_SEED, 300);
    expect(settingsFirst).toBe(300);
    expect([...outcomes.values()].reduce((a, b) => a + b)).toBe(300);
    expect(outcomes.get('GOAWAY PROTOCOL_ERROR')).toBeGreaterThan(0);
    await expectStillServing();
  });
});

describe('limits', () => {
  const held = (connection: RawH2Connection, count: number, firstId = 1) =>
    Array.from({ length: count }, (_, i) => {
      connection.send(headersFrame(firstId + 2 * i, SAY_HELLO_HEADERS));
      return firstId + 2 * i;
    });
  const finish = (connection: RawH2Connection, ids: readonly number[]) => {
    for (const id of ids) connection.send(dataFrame(id, sayHelloFrame('held'), true));
    return Promise.all(ids.map((id) => connection.waitFor(endsResponse(id), 5000)));
  };
  const resetOf = (connection: RawH2Connection, id: number) =>
    connection.waitFor((f) => f.type === FRAME.RST_STREAM && f.streamId === id, 2000);

  test(`max concurrent streams (${defaults.maxConcurrentStreams}): a client that follows SETTINGS queues the next call until one ends`, async () => {
    await withSession(async (session) => {
      await new Promise((resolve) => session.once('remoteSettings', resolve));
      expect(session.remoteSettings.maxConcurrentStreams).toBe(defaults.maxConcurrentStreams);
      const body = sayHelloFrame('held');
      const calls = Array.from({ length: defaults.maxConcurrentStreams }, () => {
        const call = openSayHello(session);
        call.stream.write(body.subarray(0, 3));
        return call;
      });
      const next = openSayHello(session);
      next.stream.end(sayHelloFrame('next'));
      let answered = false;
      void next.result.then(() => (answered = true));
      // Long enough for a loopback round trip many times over: the call is waiting in the client, not refused.
      await sleep(300);
      expect(answered).toBe(false);
      calls[0].stream.end(body.subarray(3));
      await expect(next.result).resolves.toMatchObject({ grpcStatus: '0' });
      for (const { stream } of calls.slice(1)) stream.end(body.subarray(3));
      expect((await Promise.all(calls.map(({ result }) => result))).every((r) => r.grpcStatus === '0')).toBe(true);
    });
  });

  test('a client that opens more streams before acknowledging SETTINGS gets REFUSED_STREAM for the excess; the rest complete', async () => {
    const connection = await rawConnection(server.port, { ackSettings: false });
    await connection.waitFor((f) => f.type === FRAME.SETTINGS);
    const accepted = held(connection, defaults.maxConcurrentStreams);
    const excess = held(connection, 5, 2 * defaults.maxConcurrentStreams + 1);
    const resets = await Promise.all(excess.map((id) => resetOf(connection, id)));
    expect(resets.map((reset) => h2ErrorName(rstCodeOf(reset)))).toEqual(Array(5).fill('REFUSED_STREAM'));
    await expect(finish(connection, accepted)).resolves.toHaveLength(defaults.maxConcurrentStreams);
    await expectStillServing();
  });

  test('a client that acknowledged SETTINGS and still opens one stream too many loses the connection (GOAWAY)', async () => {
    const connection = await rawConnection(server.port);
    await connection.waitFor((f) => f.type === FRAME.SETTINGS && (f.flags & ACK) === ACK);
    held(connection, defaults.maxConcurrentStreams + 1);
    // nghttp2 treats it as a connection error, stricter than RFC 9113's stream error.
    await connection.waitFor(isGoaway, 2000);
    await expect(closedWithin(connection.closed, 2000)).resolves.toBe('closed');
    await expectStillServing();
  });

  test('PINGs: 1000 at one per millisecond are all answered (grpc-js enforces no ping policy) and the connection serves on', async () => {
    const connection = await rawConnection(server.port);
    for (let i = 0; i < 100; i++) {
      connection.send(...Array.from({ length: 10 }, () => pingFrame()));
      await sleep(10);
    }
    const isPingAck = (f: H2Frame) => f.type === FRAME.PING && (f.flags & ACK) === ACK;
    // Resolves on the frame that completes the count; the assertion below says what arrived if none did.
    await connection.waitFor(() => connection.frames.filter(isPingAck).length === 1000, 2000).catch(() => undefined);
    expect(connection.frames.filter(isPingAck)).toHaveLength(1000);
    expect(connection.frames.some(isGoaway)).toBe(false);
    connection.send(headersFrame(1, SAY_HELLO_HEADERS), dataFrame(1, sayHelloFrame('pinged'), true));
    await connection.waitFor(endsResponse(1), 2000);
  });

  test('PINGs: a flood of 5000 in one write is cut off (nghttp2 flood protection) and the server keeps serving', async () => {
    const connection = await rawConnection(server.port);
    connection.send(...Array.from({ length: 5000 }, () => pingFrame()));
    await expect(closedWithin(connection.closed, 3000)).resolves.toBe('closed');
    await expectStillServing();
  });

  test(`500 silent TCP connections, then 2000 idle HTTP/2 ones, far beyond the cap of ${defaults.maxConnections}: the longest idle make room, a new call is answered, and so is one on the newest connection`, async () => {
    const sessions: http2.ClientHttp2Session[] = [];
    const sockets: net.Socket[] = [];
    // A few at a time, as clients arrive: a flood of arrivals beyond what eviction keeps up with is refused outright.
    const inBatches = async (total: number, open: () => Promise<void>) => {
      for (let opened = 0; opened < total; opened += 10) await Promise.all(Array.from({ length: 10 }, open));
    };
    try {
      await inBatches(
        500,
        () =>
          new Promise<void>((resolve) =>
            sockets.push(
              net
                .connect(server.port, '127.0.0.1')
                .on('error', () => undefined)
                .once('connect', resolve)
                .once('close', resolve),
            ),
          ),
      );
      await inBatches(
        2000,
        () =>
          new Promise<void>((resolve, reject) => {
            const session = http2.connect(`http://127.0.0.1:${server.port}`);
            sessions.push(session);
            session.once('error', reject);
            // Made room for by a later one before its SETTINGS arrived: closed, which is fine too.
            session.once('remoteSettings', () => resolve()).once('close', () => resolve());
          }),
      );
      await expectStillServing();
      await expect(send(sessions[1999], sayHelloFrame('newest'))).resolves.toMatchObject({ grpcStatus: '0' });
      // The first ones made room for the later ones: GOAWAY, then closed.
      expect(sessions[0].closed || sessions[0].destroyed).toBe(true);
    } finally {
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    }
  }, 30_000);

  describe(`max connection idle (here 300 ms; default ${defaults.maxConnectionIdleMs} ms)`, () => {
    const idleServer = () => startTestServer('greeter-idle', { maxConnectionIdleMs: 300 });

    test('an idle connection gets GOAWAY NO_ERROR and is closed; so is a socket that never sent the preface', async () => {
      const { server: greeter } = await idleServer();
      try {
        const connection = await rawConnection(greeter.port);
        const silent = net.connect(greeter.port, '127.0.0.1').on('error', () => undefined);
        silent.resume(); // read, so that the close is seen
        const silentClosed = new Promise((resolve) => silent.once('close', resolve));
        await expect(closedWithin(connection.closed, 3000)).resolves.toBe('closed');
        expect(connection.frames.filter(isGoaway).map((f) => goawayOf(f).error)).toContain('NO_ERROR');
        await expect(closedWithin(silentClosed, 3000)).resolves.toBe('closed');
      } finally {
        await greeter.shutdown('test done');
      }
    });

    test('a connection that got GOAWAY PROTOCOL_ERROR, which Node leaves open, is closed by the idle limit', async () => {
      const { server: greeter } = await idleServer();
      try {
        const connection = await rawConnection(greeter.port);
        connection.send(frame(FRAME.DATA, 0, 0, Buffer.from('abc')));
        expect(goawayOf(await connection.waitFor(isGoaway, 2000)).errorCode).toBe(H2_ERROR.PROTOCOL_ERROR);
        await expect(closedWithin(connection.closed, 3000)).resolves.toBe('closed');
      } finally {
        await greeter.shutdown('test done');
      }
    });

    test('a call in flight for longer than the idle limit is not cut', async () => {
      const { server: greeter, target } = await idleServer();
      const session = http2.connect(`http://${target}`);
      session.on('error', () => undefined);
      try {
        const body = sayHelloFrame('slow');
        const call = openSayHello(session);
        call.stream.write(body.subarray(0, 3));
        await sleep(1000);
        call.stream.end(body.subarray(3));
        await expect(call.result).resolves.toMatchObject({ grpcStatus: '0' });
      } finally {
        session.destroy();
        await greeter.shutdown('test done');
      }
    });
  });
});

describe('a session nghttp2 has ended', () => {
  // DATA after END_STREAM is a connection error (GOAWAY STREAM_CLOSED), and Node (20.20) never closes that session
  // itself, even once the client is gone. The guard closes it at once (app/connection-guard.ts `sessionEnded`), so
  // a drain does not wait for it, with keepalive pings or without.
  const dataAfterEnd = (connection: RawH2Connection) =>
    connection.send(
      headersFrame(1, SAY_HELLO_HEADERS),
      dataFrame(1, sayHelloFrame('x'), true),
      dataFrame(1, Buffer.from('more'), true),
    );

  test.each([
    ['without keepalive pings', 7_200_000],
    ['with keepalive pings', 1000],
  ] as const)('%s it is closed, and a drain ends by itself', async (_what, keepaliveTimeMs) => {
    const { server: greeter } = await startTestServer('greeter-leak', {
      keepaliveTimeMs,
      keepaliveTimeoutMs: 1000,
      shutdownGraceMs: 20_000,
    });
    const connection = await rawConnection(greeter.port);
    dataAfterEnd(connection);
    expect(goawayOf(await connection.waitFor(isGoaway, 2000)).error).toBe('STREAM_CLOSED');
    connection.destroy();
    await expect(greeter.shutdown('test done')).resolves.toEqual({ forced: false });
  });
});

test('after all of it, SIGTERM drains the server cleanly: no bad input left a connection or a call behind', async () => {
  expect(await stopProcess(server)).toBe(0);
  expect(JSON.parse(server.stdout.at(-1)!)).toMatchObject({ msg: 'stopped', forced: false });
});
