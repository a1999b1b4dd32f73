/**
 * SayHello as raw HTTP/2: the exact bytes a gRPC client sends (one length-prefixed message, `te: trailers`). For
 * the h2load body, and for calls that tests hold half-sent so that they are in flight on the server.
 */
import * as http2 from 'node:http2';
import { greeterService } from '../app/proto';

export const SAY_HELLO_PATH = '/helloworld.Greeter/SayHello';
export const GRPC_REQUEST_HEADERS = {
  ':method': 'POST',
  ':path': SAY_HELLO_PATH,
  'content-type': 'application/grpc',
  te: 'trailers',
} as const;

/** The 5-byte gRPC prefix (flag, big-endian length: the real one unless `declaredLength` says otherwise), then the message. */
export function grpcMessage(message: Buffer, flag = 0, declaredLength = message.length): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(declaredLength >>> 0, 1);
  return Buffer.concat([prefix, message]);
}

/** HelloRequest{name} behind the 5-byte gRPC prefix: flag 0 (uncompressed) and the big-endian length. */
export function sayHelloFrame(name: string): Buffer {
  return grpcMessage(greeterService.SayHello.requestSerialize({ name }));
}

/** The `message` of exactly one uncompressed length-prefixed HelloReply; throws on anything else. */
export function parseSayHelloReply(body: Buffer): string {
  if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) {
    throw new Error(`not one uncompressed gRPC message: ${body.toString('hex').slice(0, 40)}`);
  }
  return greeterService.SayHello.responseDeserialize(body.subarray(5)).message;
}

export interface RawCallResult {
  httpStatus?: number;
  grpcStatus?: string;
  grpcMessage?: string;
  /** The `hostname` response header: the pod that answered. */
  hostname?: string;
  body: Buffer;
}

/** Opens a SayHello stream (`headers` add to or replace the usual ones); `result` settles when the stream closes, however it ends. */
export function openSayHello(
  session: http2.ClientHttp2Session,
  timeoutMs = 10_000,
  headers: http2.OutgoingHttpHeaders = {},
) {
  const stream = session.request({ ...GRPC_REQUEST_HEADERS, ...headers });
  const result = new Promise<RawCallResult>((resolve) => {
    const chunks: Buffer[] = [];
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), timeoutMs);
    stream.on('response', (received) => (headers = received));
    stream.on('trailers', (received) => (trailers = received));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', () => undefined); // the result says what arrived
    stream.on('close', () => {
      clearTimeout(timer);
      // A trailers-only response carries grpc-status in the headers.
      const text = (name: string) => [trailers[name] ?? headers[name]].flat()[0];
      resolve({
        httpStatus: headers[':status'] === undefined ? undefined : Number(headers[':status']),
        grpcStatus: text('grpc-status'),
        grpcMessage: text('grpc-message'),
        hostname: text('hostname'),
        body: Buffer.concat(chunks),
      });
    });
  });
  return { stream, result };
}

/** Writes `bytes` to a stream; resolves once they are on the wire (Node calls back after the socket write). */
export function writeOut(stream: http2.ClientHttp2Stream, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => stream.write(bytes, (error) => (error ? reject(error) : resolve())));
}

/**
 * Resolves once the server has read everything on the wire before it: a PING is acknowledged after the frames
 * before it have been read (RFC 9113 §6.7; a peer reads frames in order), so the server knows of every stream
 * whose HEADERS went out first. Anything those frames made it send at once (RST_STREAM, GOAWAY) may share the
 * ACK's write: `rounds` 2 waits until that has been read too.
 */
export async function serverHasRead(session: http2.ClientHttp2Session, rounds = 1): Promise<void> {
  for (let round = 0; round < rounds; round++)
    await new Promise<void>((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve())));
}
