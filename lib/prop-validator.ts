import type { Duration } from 'cdk8s';
import type { IConstruct } from 'constructs';
import type { ContainerImage, ContainerResources } from './container';
import type * as k8s from './imports/k8s';
import {
  childSubject,
  dnsLabel,
  dnsSubdomain,
  hostName,
  integerIn,
  invalidProp,
  milliseconds,
  oneOf,
  quantity,
  subjectOf,
  type ValidationSubject,
} from './internal/validate';
import { containerImage, containerResources, isImageRepository } from './internal/workload';

/**
 * Prop checks with this library's grammars and messages, for constructs (and configurations) built on it: each
 * method returns the value, or throws an Error that names the construct's class and path, the prop and the value, as
 * the library's own constructs do: `Payments 'shop/payments': replicas must be an integer >= 1, got 0`.
 */
export class PropValidator {
  /** Checks for a construct, named by its class and its path in the construct tree. */
  static of(construct: IConstruct): PropValidator {
    return new PropValidator(subjectOf(construct));
  }

  /** Checks for a construct that is not constructed yet (a subclass checking props before `super()`). */
  static forChild(className: string, scope: IConstruct, id: string): PropValidator {
    return new PropValidator(childSubject(className, scope, id));
  }

  /** Checks for something that is not a construct, such as a configuration object: `EnvironmentConfig 'gke'`. */
  static named(kind: string, name: string): PropValidator {
    return new PropValidator({ construct: kind, id: name });
  }

  /** Whether a string is an image repository (`registry.example.com/team/payments`, `payments`). */
  static isImageRepository(value: unknown): boolean {
    return isImageRepository(value);
  }

  private constructor(private readonly subject: ValidationSubject) {}

  /** The error for a prop that is not what was expected: `<construct> '<path>': <prop> must be <expected>, got <value>`. */
  error(prop: string, value: unknown, expected: string): Error {
    return invalidProp(this.subject, prop, value, expected);
  }

  /** A DNS-1123 label, such as a Namespace or Service name. */
  dnsLabel(prop: string, value: string): string {
    return dnsLabel(this.subject, prop, value);
  }

  /** A DNS-1123 subdomain, such as most objects' names. */
  dnsSubdomain(prop: string, value: string): string {
    return dnsSubdomain(this.subject, prop, value);
  }

  /** A fully qualified host name with at least two labels, optionally `*.` first. */
  hostName(prop: string, value: string): string {
    return hostName(this.subject, prop, value);
  }

  /** An integer from `min` to `max`. */
  integer(prop: string, value: number, min: number, max?: number): number {
    return integerIn(this.subject, prop, value, min, max);
  }

  /** One of the allowed strings. */
  oneOf<T extends string>(prop: string, value: T, allowed: readonly T[]): T {
    return oneOf(this.subject, prop, value, allowed);
  }

  /** A non-negative Kubernetes quantity, such as `100m` or `128Mi`. */
  quantity(prop: string, value: string): string {
    return quantity(this.subject, prop, value);
  }

  /** A Duration of at least `minMs` whole milliseconds; returns the milliseconds. */
  milliseconds(prop: string, value: Duration, minMs: number): number {
    return milliseconds(this.subject, prop, value, minMs);
  }

  /** An image (repository, tag, pull policy), as the container fields it becomes. */
  image(prop: string, value: ContainerImage): { image: string; imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never' } {
    return containerImage(this.subject, prop, value);
  }

  /** Requests and limits (each limit at least its request), as a container's `resources`. */
  resources(prop: string, value: ContainerResources): k8s.ResourceRequirements {
    return containerResources(this.subject, prop, value);
  }
}
