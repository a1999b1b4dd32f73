/** Loads protos/helloworld.proto once for the server, the client and reflection: the only copy of the API. */
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { GREETER_SERVICE } from './settings';

export { GREETER_SERVICE };

/** protos/ sits beside app/ in the repository and in the images (see Dockerfile). */
export const GREETER_PROTO = path.resolve(__dirname, '..', 'protos', 'helloworld.proto');
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/** The messages of helloworld.proto as proto-loader hands them over (keepCase, defaults). */
export interface HelloRequest {
  name: string;
}
export interface HelloReply {
  message: string;
}

/** Greeter and Health together, so reflection lists both services. */
export const packageDefinition = protoLoader.loadSync([GREETER_PROTO, healthProtoPath], {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});

export const greeterService = packageDefinition[GREETER_SERVICE] as grpc.ServiceDefinition;

export interface GreeterClient extends grpc.Client {
  SayHello(
    request: HelloRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, reply?: HelloReply) => void,
  ): grpc.ClientUnaryCall;
}

export const GreeterClient = grpc.makeClientConstructor(greeterService, GREETER_SERVICE) as unknown as new (
  target: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => GreeterClient;
