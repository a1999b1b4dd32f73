/**
 * What patches/@grpc+grpc-js+1.14.7.patch changes in grpc-js's StreamDecoder (the gRPC message framing both its
 * server and its client read with): chunks are copied into one buffer per message, so a message that arrives one
 * byte per DATA frame keeps neither a Buffer per byte nor the socket reads those bytes came in, and the buffer of a
 * partial message grows with what arrived rather than with what its length prefix announces.
 */
import { execFileSync } from 'node:child_process';
import { StreamDecoder } from '@grpc/grpc-js/build/src/stream-decoder';
import { seededRandom } from '../../harness/fuzz';
import { grpcMessage } from '../../harness/raw-grpc';
import { HANG_MS } from '../../harness/wait';

const DECODER = require.resolve('@grpc/grpc-js/build/src/stream-decoder');

/**
 * Runs `script` in a node with --expose-gc, DECODER as `decoderPath` and `collect()` (full collections until the
 * external memory freed by one has been released), and parses the JSON it prints.
 */
function measure<T>(script: string): T {
  const prelude = `const decoderPath = ${JSON.stringify(DECODER)};\nconst collect = () => { gc(); gc(); gc(); };\n`;
  return JSON.parse(
    execFileSync(process.execPath, ['--expose-gc', '-e', prelude + script], { encoding: 'utf8', timeout: HANG_MS }),
  );
}

test('a message arriving one byte per chunk, each from its own 64 KiB socket read, holds no read while it is partial', () => {
  // Unpatched, each byte is kept as a slice of its read: 999 reads of 64 KiB, 62 MiB held (measured).
  const figures = measure<{ heldMiB: number; correct: boolean }>(`
    const { StreamDecoder } = require(decoderPath);
    const size = 1000;
    const decoder = new StreamDecoder(64 * 1024);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(size, 1);
    decoder.write(prefix);
    const expected = Buffer.alloc(size, 0x61);
    for (let i = 0; i < size - 1; i++) {
      const read = Buffer.alloc(64 * 1024, 0x61);
      if (decoder.write(read.subarray(0, 1)).length !== 0) throw new Error('a message before its last byte');
    }
    collect();
    const heldMiB = process.memoryUsage().arrayBuffers / 2 ** 20;
    const [message] = decoder.write(Buffer.from('a'));
    console.log(JSON.stringify({ heldMiB, correct: message.equals(Buffer.concat([prefix, expected])) }));
  `);
  expect(figures.correct).toBe(true);
  expect(figures.heldMiB).toBeLessThan(1);
});

test('partial messages whose prefix announces 64 KiB hold about what arrived, not what was announced', () => {
  const figures = measure<{ heldMiB: number }>(`
    const { StreamDecoder } = require(decoderPath);
    const decoders = [];
    collect();
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 1000; i++) {
      const decoder = new StreamDecoder(64 * 1024);
      const start = Buffer.alloc(5 + 10);
      start.writeUInt32BE(64 * 1024, 1);
      decoder.write(start);
      decoders.push(decoder);
    }
    collect();
    console.log(JSON.stringify({ heldMiB: (process.memoryUsage().arrayBuffers - before) / 2 ** 20 }));
  `);
  // 1,000 × 64 KiB would be 62.5 MiB; the first buffer is 1 KiB.
  expect(figures.heldMiB).toBeLessThan(2);
});

test('messages cut at random points decode to exactly the messages sent, whatever the chunk sizes', () => {
  const random = seededRandom(17);
  const messages = Array.from({ length: 300 }, (_, i) =>
    grpcMessage(random.bytes(random.pick([0, 1, 5, 1023, 1024, 1025, 4000, 70_000]) % 65_536), i % 2),
  );
  const stream = Buffer.concat(messages);
  const decoder = new StreamDecoder(64 * 1024);
  const decoded: Buffer[] = [];
  for (let at = 0; at < stream.length;) {
    const length = 1 + random.int(random.pick([2, 64, 20_000]));
    decoded.push(...decoder.write(stream.subarray(at, at + length)));
    at += length;
  }
  expect(decoded.length).toBe(messages.length);
  expect(decoded.every((message, i) => message.equals(messages[i]))).toBe(true);
  // Each message is its own memory, not a view of what was written.
  expect(decoded.filter((message) => message.length > 0).every((message) => message.buffer !== stream.buffer)).toBe(
    true,
  );
});

test('a length prefix over the limit is refused before anything is buffered', () => {
  const decoder = new StreamDecoder(64 * 1024);
  expect(() => decoder.write(grpcMessage(Buffer.alloc(0), 0, 64 * 1024 + 1))).toThrow(
    'Received message larger than max (65537 vs 65536)',
  );
});
