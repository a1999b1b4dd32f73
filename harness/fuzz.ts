/**
 * Seeded fuzzing of SayHello requests: random and mutated request bodies, and random HTTP/2 frames. Each body comes
 * with the answer the greeter must give, from `expectedAnswer`, a model of how grpc-js frames and decodes a unary
 * request plus the greeter's own checks. The same seed gives the same cases on every machine.
 */
import { isUtf8 } from 'node:buffer';
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { greeterService } from '../app/proto';
import { grpcMessage, openSayHello, parseSayHelloReply, type RawCallResult } from './raw-grpc';
import { ACK, FRAME, connectRawH2, frame, goawayOf, isGoaway, pingFrame, type H2Frame } from './raw-h2';
import { HANG_MS } from './wait';

export interface Random {
  /** In [0, 1). */
  next(): number;
  /** An integer in [0, max). */
  int(max: number): number;
  pick<T>(items: readonly T[]): T;
  bytes(length: number): Buffer;
}

/** mulberry32: tiny, fast, and good enough to choose mutations. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (max: number) => Math.floor(next() * max);
  return {
    next,
    int,
    pick: (items) => items[int(items.length)],
    bytes: (length) => Buffer.from(Array.from({ length }, () => int(256))),
  };
}

export interface ServerLimits {
  maxReceiveMessageBytes: number;
  maxNameBytes: number;
  pod: string;
}

/** A gRPC status and, for OK, the reply message. */
export interface Answer {
  status: grpc.status;
  reply?: string;
}

export const FUZZ_KINDS = [
  'random bytes',
  'random message',
  'byte flips',
  'truncated',
  'trailing bytes',
  'length prefix',
  'compression flag',
  'name bytes',
  'long name',
  'two messages',
] as const;
export type FuzzKind = (typeof FUZZ_KINDS)[number];

export interface FuzzCase {
  kind: FuzzKind;
  body: Buffer;
  expected: Answer;
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  for (; value >= 0x80; value = Math.floor(value / 0x80)) bytes.push((value % 0x80) | 0x80);
  bytes.push(value);
  return Buffer.from(bytes);
}

/** HelloRequest{name} with the name's bytes as given, valid UTF-8 or not. */
export function helloRequest(nameBytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x0a]), varint(nameBytes.length), nameBytes]);
}

/**
 * What the greeter answers to a SayHello body sent whole, with no `grpc-encoding` (so any compression flag means
 * uncompressed, as grpc-js reads it):
 * - a length prefix over the receive limit: RESOURCE_EXHAUSTED, as soon as the prefix is read;
 * - a message protobuf cannot decode: INTERNAL;
 * - no complete message (empty, or cut short): UNIMPLEMENTED, grpc-js's answer to a unary call without a request;
 * - a second complete message: UNIMPLEMENTED; bytes after the first message that do not complete one are dropped;
 * - a name over the byte limit, or whose bytes are not UTF-8: INVALID_ARGUMENT; otherwise OK and the reply.
 */
export function expectedAnswer(body: Buffer, limits: ServerLimits): Answer {
  const messages: Buffer[] = [];
  for (let at = 0; at + 5 <= body.length;) {
    const length = body.readUInt32BE(at + 1);
    if (length > limits.maxReceiveMessageBytes) return { status: grpc.status.RESOURCE_EXHAUSTED };
    if (at + 5 + length > body.length) break;
    messages.push(body.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  if (messages.length === 0) return { status: grpc.status.UNIMPLEMENTED };
  // grpc-js decodes the messages in order and stops the call at the first failure or at the second message.
  let name = '';
  for (const [i, message] of messages.slice(0, 2).entries()) {
    try {
      name = greeterService.SayHello.requestDeserialize(message).name;
    } catch {
      return { status: grpc.status.INTERNAL };
    }
    if (i === 1) return { status: grpc.status.UNIMPLEMENTED };
  }
  if (Buffer.byteLength(name) > limits.maxNameBytes) return { status: grpc.status.INVALID_ARGUMENT };
  // protobufjs decodes bytes that are not UTF-8 to U+FFFD; the message then lacks the name's own UTF-8 bytes.
  if (name.includes('\uFFFD') && !messages[0].includes(Buffer.from(name)))
    return { status: grpc.status.INVALID_ARGUMENT };
  return { status: grpc.status.OK, reply: `Hello ${name} from ${limits.pod}` };
}

function asciiName(random: Random, length = random.int(20)): Buffer {
  return Buffer.from(Array.from({ length }, () => 0x20 + random.int(0x5f)));
}

/** Name bytes from pieces that are UTF-8 and pieces that are not, so about half the names are valid. */
function mixedNameBytes(random: Random): Buffer {
  const pieces = [
    () => asciiName(random, 1),
    () => Buffer.from(String.fromCodePoint(0x80 + random.int(0x800 - 0x80))), // 2 bytes
    () => Buffer.from(String.fromCodePoint(0x800 + random.int(0xd800 - 0x800))), // 3 bytes
    () => Buffer.from(String.fromCodePoint(0x10000 + random.int(0x10ffff - 0x10000))), // 4 bytes
    () => Buffer.from('\uFFFD'), // a genuine replacement character, which is valid
    () => Buffer.from([0x80 + random.int(0x40)]), // a lone continuation byte
    () => Buffer.from([0xf8 + random.int(8)]), // never valid in UTF-8
    () => Buffer.from([0xe2, 0x82]), // a 3-byte sequence cut short
    () => Buffer.from([0xc0, 0x80]), // overlong NUL
    () => Buffer.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate
  ];
  const valid = pieces.slice(0, 5);
  const count = 1 + random.int(6);
  // Most pieces valid, so that a name is invalid about half the time rather than almost always.
  return Buffer.concat(
    Array.from({ length: count }, () => (random.next() < 0.85 ? random.pick(valid) : random.pick(pieces))()),
  );
}

function mutate(kind: FuzzKind, random: Random, limits: ServerLimits): { body: Buffer; nameBytes?: Buffer } {
  const valid = () => grpcMessage(helloRequest(asciiName(random)));
  switch (kind) {
    case 'random bytes':
      return { body: random.bytes(random.int(48)) };
    case 'random message':
      return { body: grpcMessage(random.bytes(random.int(40))) };
    case 'byte flips': {
      const body = valid();
      for (let flips = 1 + random.int(4); flips > 0; flips--) body[random.int(body.length)] = random.int(256);
      return { body };
    }
    case 'truncated': {
      const body = valid();
      return { body: body.subarray(0, random.int(body.length)) };
    }
    case 'trailing bytes':
      return { body: Buffer.concat([valid(), random.bytes(1 + random.int(12))]) };
    case 'length prefix': {
      const body = valid();
      const real = body.length - 5;
      body.writeUInt32BE(
        random.pick([
          0,
          Math.max(0, real - 1),
          real + 1,
          real + random.int(100),
          random.int(2 ** 16),
          random.int(2 ** 32),
        ]),
        1,
      );
      return { body };
    }
    case 'compression flag': {
      const body = valid();
      body[0] = 1 + random.int(255);
      return { body };
    }
    case 'name bytes': {
      const nameBytes = mixedNameBytes(random);
      return { body: grpcMessage(helloRequest(nameBytes)), nameBytes };
    }
    case 'long name': {
      // Around the name limit in ASCII or in 3-byte characters; now and then over the message limit itself.
      if (random.int(10) === 0)
        return { body: grpcMessage(helloRequest(Buffer.alloc(limits.maxReceiveMessageBytes, 0x61))) };
      const bytes = limits.maxNameBytes - 3 + random.int(7);
      const nameBytes = random.int(2) === 0 ? Buffer.alloc(bytes, 0x61) : Buffer.from('€'.repeat(Math.ceil(bytes / 3)));
      return { body: grpcMessage(helloRequest(nameBytes)), nameBytes };
    }
    case 'two messages':
      return {
        body: Buffer.concat([valid(), random.int(2) === 0 ? valid() : grpcMessage(random.bytes(random.int(20)))]),
      };
  }
}

/**
 * `count` cases, kinds in turn. Where the generator knows the name's bytes, the answer comes from them directly
 * (Node's own UTF-8 check and byte length), not from the model, so the model's UTF-8 rule is itself checked.
 */
export function fuzzCases(seed: number, count: number, limits: ServerLimits): FuzzCase[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const kind = FUZZ_KINDS[i % FUZZ_KINDS.length];
    const { body, nameBytes } = mutate(kind, random, limits);
    let expected = expectedAnswer(body, limits);
    if (nameBytes !== undefined && nameBytes.length + 16 <= limits.maxReceiveMessageBytes) {
      const name = nameBytes.toString('utf8');
      const rejected = !isUtf8(nameBytes) || Buffer.byteLength(name) > limits.maxNameBytes;
      expected = rejected
        ? { status: grpc.status.INVALID_ARGUMENT }
        : { status: grpc.status.OK, reply: `Hello ${name} from ${limits.pod}` };
    }
    return { kind, body, expected };
  });
}

/** 1 to 4 random frames: any type (with unknown ones), flags, stream and a short payload. */
export function randomFrames(random: Random): Buffer {
  return Buffer.concat(
    Array.from({ length: 1 + random.int(4) }, () =>
      frame(
        random.int(12),
        random.int(256),
        random.pick([0, 1, 3, 2, random.int(2 ** 31)]),
        random.bytes(random.int(24)),
      ),
    ),
  );
}

export interface FuzzRun {
  /** Answers by gRPC status name ('no grpc-status' when there was none). */
  byStatus: Map<string, number>;
  /** Cases whose answer differs from the expected one, described. */
  mismatches: string[];
}

export function statusName(result: RawCallResult): string {
  return result.grpcStatus === undefined
    ? 'no grpc-status'
    : (grpc.status[Number(result.grpcStatus)] ?? result.grpcStatus);
}

/** Sends each case as one SayHello over one HTTP/2 connection, `parallel` at a time, and compares the answers. */
export async function runFuzzCases(port: number, cases: readonly FuzzCase[], parallel = 25): Promise<FuzzRun> {
  const run: FuzzRun = { byStatus: new Map(), mismatches: [] };
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined); // each call's result says what happened
  try {
    for (let from = 0; from < cases.length; from += parallel) {
      await Promise.all(
        cases.slice(from, from + parallel).map(async ({ kind, body, expected }, i) => {
          const { stream, result } = openSayHello(session, 5000);
          stream.end(body);
          const answer = await result;
          const status = statusName(answer);
          run.byStatus.set(status, (run.byStatus.get(status) ?? 0) + 1);
          let reply: string | undefined;
          try {
            reply = answer.grpcStatus === '0' ? parseSayHelloReply(answer.body) : undefined;
          } catch (error) {
            reply = String(error);
          }
          if (Number(answer.grpcStatus) !== expected.status || reply !== expected.reply) {
            const got = `${status} ${reply ?? decodeURIComponent(answer.grpcMessage ?? '')}`;
            run.mismatches.push(
              `#${from + i} ${kind} ${body.toString('hex').slice(0, 64)}: expected ${grpc.status[expected.status]} ${expected.reply ?? ''}, got ${got}`,
            );
          }
        }),
      );
    }
  } finally {
    session.destroy();
  }
  return run;
}

/** The payload of the PING that follows each connection's random frames: no random PING carries it. */
const READ_MARK = Buffer.from('fuzz-end');

/**
 * `connections` connections, `parallel` at a time, each sending the preface, random frames and then a PING, and
 * waiting until the server has ended the connection or answered that PING: it answers frames in order (RFC 9113
 * §6.7), so its ACK says it read the random frames and kept the connection. Outcomes: `GOAWAY <code>`, `closed`
 * (without GOAWAY) or `open`; plus how many connections the server answered with its SETTINGS first, which shows it
 * read the preface. A HEADERS frame without END_HEADERS makes the PING a protocol error (a CONTINUATION must come
 * next), so such a connection ends with GOAWAY PROTOCOL_ERROR.
 */
export async function runRandomFrames(port: number, seed: number, connections: number, { parallel = 50 } = {}) {
  const random = seededRandom(seed);
  const outcomes = new Map<string, number>();
  let settingsFirst = 0;
  const endsOrAnswers = (f: H2Frame) =>
    isGoaway(f) || (f.type === FRAME.PING && (f.flags & ACK) === ACK && f.payload.equals(READ_MARK));
  for (let from = 0; from < connections; from += parallel) {
    // Drawn before connecting, so the bytes do not depend on which connection opens first.
    const payloads = Array.from({ length: Math.min(parallel, connections - from) }, () => randomFrames(random));
    await Promise.all(
      payloads.map(async (bytes) => {
        const connection = await connectRawH2(port);
        try {
          connection.send(bytes, pingFrame(READ_MARK));
          // waitFor gives up once the socket has closed: that is an outcome too, a hang is not.
          await connection.waitFor(endsOrAnswers, HANG_MS).catch((error: unknown) => {
            if (!connection.isClosed()) throw error;
          });
          if (connection.frames[0]?.type === FRAME.SETTINGS) settingsFirst++;
          const goaway = connection.frames.find(isGoaway);
          const outcome = goaway ? `GOAWAY ${goawayOf(goaway).error}` : connection.isClosed() ? 'closed' : 'open';
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        } finally {
          connection.destroy();
        }
      }),
    );
  }
  return { outcomes, settingsFirst };
}
