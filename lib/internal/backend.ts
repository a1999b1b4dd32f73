import type { IGrpcBackend } from '../grpc-backend';
import { invalidProp, type ValidationSubject } from './validate';

/** The pod selector of a backend, or an error naming the construct and why it needs one. */
export function requireSelector(
  subject: ValidationSubject,
  prop: string,
  backend: IGrpcBackend,
  why: string,
): Readonly<Record<string, string>> {
  if (backend.selectorLabels === undefined) {
    throw invalidProp(
      subject,
      `${prop}.selectorLabels`,
      undefined,
      `known (${why}): pass selectorLabels to GrpcBackend.fromService`,
    );
  }
  return backend.selectorLabels;
}

/** Whether the backend's pods run Istio's sidecar: their namespace injects it and they did not opt out. */
export function hasIstioSidecar(backend: IGrpcBackend): boolean {
  return backend.namespace.mesh === 'istio' && backend.sidecar !== false;
}
