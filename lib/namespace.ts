import type { Mesh } from 'grpc-k8s-lb-common';
import { dnsLabel } from './internal/validate';

/** A Namespace that constructs place objects in: an `AppNamespace`, or one that exists already (see `existingNamespace`). */
export interface INamespace {
  /** Name of the Namespace. */
  readonly name: string;
  /**
   * The mesh of the Namespace's pods (a sidecar injected into each, or Istio ambient), so workloads can set its
   * proxy's options and Services declare the appProtocol it reads.
   * @default - none (an existing namespace such as `istio-system`, where this project does not inject)
   */
  readonly mesh?: Mesh;
}

/** A Namespace created by someone else, such as `istio-system`, which the Istio install owns. */
export function existingNamespace(name: string, mesh?: INamespace['mesh']): INamespace {
  return { name: dnsLabel({ construct: 'existingNamespace', id: name }, 'name', name), mesh };
}
