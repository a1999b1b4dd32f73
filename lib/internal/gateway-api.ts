import type { IGrpcBackend } from '../grpc-backend';

/**
 * A backend's Service as a Gateway API parentRef or backendRef names it: the core group (`""`), kind `Service`, and
 * its gRPC port (a Service parent without a port would take every port of the Service).
 */
export function serviceReference(backend: IGrpcBackend): { group: ''; kind: 'Service'; name: string; port: number } {
  return { group: '', kind: 'Service', name: backend.serviceName, port: backend.port };
}
