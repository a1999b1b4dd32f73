/** In-process greeter servers and raw clients for tests: real grpc-js over 127.0.0.1, nothing mocked. */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { defaultSettings } from '../app/config';
import { memoryLogger } from '../app/log';
import { GreeterServer, serverSettings, type ServerConfig } from '../app/server';
import { HANG_MS } from './wait';

/** The server's own defaults, on loopback with a free port. */
export function testServerConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return { ...defaultSettings(serverSettings), host: '127.0.0.1', port: 0, ...overrides };
}

export async function startTestServer(podName: string, overrides: Partial<ServerConfig> = {}) {
  const logger = memoryLogger();
  const server = await GreeterServer.start(testServerConfig({ podName, ...overrides }), logger);
  return { server, logger, target: `127.0.0.1:${server.port}` };
}

type HealthStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
export interface HealthClient extends grpc.Client {
  Check(
    request: { service: string },
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, reply?: { status: HealthStatus }) => void,
  ): void;
  Watch(request: { service: string }): grpc.ClientReadableStream<{ status: HealthStatus }>;
}

export function healthClient(target: string): HealthClient {
  const Client = grpc.makeGenericClientConstructor(healthService as grpc.ServiceDefinition, 'Health');
  return new Client(target, grpc.credentials.createInsecure()) as unknown as HealthClient;
}

export function checkHealth(target: string, service: string): Promise<HealthStatus> {
  const client = healthClient(target);
  return new Promise<HealthStatus>((resolve, reject) =>
    client.Check({ service }, { deadline: Date.now() + HANG_MS }, (error, reply) =>
      error ? reject(error) : resolve(reply!.status),
    ),
  ).finally(() => client.close());
}

/** Lists services through grpc.reflection.v1, with the reflection proto that @grpc/reflection ships. */
export function listServicesByReflection(target: string): Promise<string[]> {
  const protoFile = require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
  const definition = protoLoader.loadSync(protoFile, { keepCase: true, defaults: true, oneofs: true });
  const Client = grpc.makeGenericClientConstructor(
    definition['grpc.reflection.v1.ServerReflection'] as grpc.ServiceDefinition,
    'Reflection',
  );
  type Response = { list_services_response?: { service: Array<{ name: string }> } };
  const client = new Client(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    ServerReflectionInfo(options: grpc.CallOptions): grpc.ClientDuplexStream<object, Response>;
  };
  return new Promise<string[]>((resolve, reject) => {
    const stream = client.ServerReflectionInfo({ deadline: Date.now() + HANG_MS });
    stream.on('data', (response: Response) => {
      resolve((response.list_services_response?.service ?? []).map((service) => service.name).sort());
      stream.end();
    });
    stream.on('error', reject);
    stream.write({ list_services: '' });
  }).finally(() => client.close());
}
