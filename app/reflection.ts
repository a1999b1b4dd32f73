/**
 * Server reflection (grpcurl's `list` and `describe`) with a bound: @grpc/reflection (1.0.4,
 * src/implementations/reflection-v1.ts `addToServer`) answers each request on a ServerReflectionInfo stream with
 * `stream.write` and never looks at its result, so a client that stops reading (a zero flow-control window) makes
 * the server queue every answer. Here a stream with MAX_QUEUED_RESPONSES answers unsent is ended instead.
 */
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { packageDefinition } from './proto';

/** Answers one stream may have waiting to be sent; grpcurl asks a handful of questions and reads each answer. */
export const MAX_QUEUED_RESPONSES = 16;

/** Wraps @grpc/reflection's handler so that its writes beyond MAX_QUEUED_RESPONSES end the call. */
function bounded(
  handler: grpc.handleBidiStreamingCall<unknown, unknown>,
): grpc.handleBidiStreamingCall<unknown, unknown> {
  return (call) => {
    const write = call.write.bind(call);
    let ended = false;
    call.write = ((response: unknown) => {
      if (ended) return false;
      if (call.writableLength < MAX_QUEUED_RESPONSES) return write(response);
      ended = true;
      call.emit('error', {
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: `more than ${MAX_QUEUED_RESPONSES} reflection answers unread`,
      });
      return false;
    }) as typeof call.write;
    handler(call);
  };
}

export function addBoundedReflection(server: grpc.Server): void {
  new ReflectionService(packageDefinition).addToServer({
    addService: (service, implementation) =>
      server.addService(service, {
        ServerReflectionInfo: bounded(
          implementation.ServerReflectionInfo as grpc.handleBidiStreamingCall<unknown, unknown>,
        ),
      }),
  });
}
