/**
 * Prop validation for the constructs: each check throws an Error that names the construct (by its path in the
 * construct tree), the prop and the value, before anything is added to the tree, so a bad prop never leaves half a
 * chart behind. Names, label values and quantities are checked with grpc-k8s-lb-common's grammars, the ones
 * grpc-lb-check uses: Kubernetes' own (k8s.io/apimachinery pkg/util/validation, pkg/api/resource).
 */
import { isIP } from 'node:net';
import { Duration } from 'cdk8s';
import { Node, type IConstruct } from 'constructs';
import {
  compareRational,
  dns1123Label,
  dns1123Subdomain,
  labelValue as labelValueErrors,
  parseQuantity,
  portName as portNameErrors,
  qualifiedName,
  type Rational,
} from 'grpc-k8s-lb-common';
import { checkUniqueObjects } from './unique-objects';

/** Who is being validated, for the message: `GrpcApp 'payments/app'`. */
export interface ValidationSubject {
  /** The class (or function, or config) being validated. */
  readonly construct: string;
  /** Its path in the construct tree (`payments/gateway`), or the name of what is not a construct. */
  readonly id: string;
}

/**
 * A construct as the subject of its own checks: its class and its path in the tree. Every construct of the library
 * starts with it, so it also registers the App's check that no two objects share a name (./unique-objects).
 */
export function subjectOf(construct: IConstruct, name: string = construct.constructor.name): ValidationSubject {
  checkUniqueObjects(construct);
  return { construct: name, id: Node.of(construct).path };
}

/**
 * The subject of a construct not yet constructed (checks that must run before `super()`): the path it will have,
 * as constructs derives it (a "/" in an id becomes "--").
 */
export function childSubject(construct: string, scope: IConstruct, id: string): ValidationSubject {
  const parent = Node.of(scope).path;
  const own = id.replace(/\//g, '--');
  return { construct, id: parent === '' ? own : `${parent}/${own}` };
}

export function invalidProp(subject: ValidationSubject, prop: string, value: unknown, expected: string): Error {
  return new Error(`${subject.construct} '${subject.id}': ${prop} must be ${expected}, got ${JSON.stringify(value)}`);
}

/** A string that one of Kubernetes' grammars (from grpc-k8s-lb-common) accepts, or an error saying what was expected. */
function grammar(
  subject: ValidationSubject,
  prop: string,
  value: string,
  errors: (value: string) => string[],
  expected: string,
): string {
  if (typeof value !== 'string' || errors(value).length > 0) throw invalidProp(subject, prop, value, expected);
  return value;
}

/** A DNS-1123 label: what Kubernetes requires of Namespace and Service names. */
export function dnsLabel(subject: ValidationSubject, prop: string, value: string): string {
  return grammar(
    subject,
    prop,
    value,
    dns1123Label,
    'a DNS-1123 label (lower-case letters, digits and "-", at most 63 characters, alphanumeric at both ends)',
  );
}

/** A DNS-1123 subdomain: what Kubernetes requires of Secret, Deployment and most other object names. */
export function dnsSubdomain(subject: ValidationSubject, prop: string, value: string): string {
  return grammar(
    subject,
    prop,
    value,
    dns1123Subdomain,
    'a DNS-1123 subdomain (dot-separated DNS-1123 labels, at most 253 characters)',
  );
}

/** A label value: at most 63 letters, digits, "-", "_" and ".", alphanumeric at both ends (or empty). */
export function labelValue(subject: ValidationSubject, prop: string, value: string): string {
  return grammar(
    subject,
    prop,
    value,
    labelValueErrors,
    'a label value (at most 63 letters, digits, "-", "_" and ".", alphanumeric at both ends)',
  );
}

/** A container or Service port name: at most 15 lower-case letters, digits and single "-", with a letter. */
export function portName(subject: ValidationSubject, prop: string, value: string): string {
  return grammar(
    subject,
    prop,
    value,
    portNameErrors,
    'a port name (at most 15 lower-case letters, digits and "-", with a letter, no "--", alphanumeric at both ends)',
  );
}

/**
 * A host name as an Istio Gateway, a VirtualService and a TLS certificate take it: a fully qualified domain name
 * with at least two labels, optionally with a leading `*.` wildcard.
 */
export function hostName(subject: ValidationSubject, prop: string, value: string): string {
  const bare = typeof value === 'string' && value.startsWith('*.') ? value.slice(2) : value;
  const labels = typeof bare === 'string' ? bare.split('.') : [];
  if (labels.length < 2 || bare.length > 253 || !labels.every((label) => dns1123Label(label).length === 0)) {
    throw invalidProp(
      subject,
      prop,
      value,
      'a fully qualified lower-case host name such as "grpc.example.com" (optionally "*." first)',
    );
  }
  return value;
}

/**
 * A Gateway API `Hostname` (v1.6.1 standard CRDs: a listener's `hostname`, a route's `hostnames`): at most 253
 * characters of `^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`, and, as the field's
 * documentation says, not an IP address (which the pattern alone would let through).
 */
export function gatewayHostname(subject: ValidationSubject, prop: string, value: string): string {
  const bare = typeof value === 'string' && value.startsWith('*.') ? value.slice(2) : value;
  if (typeof value !== 'string' || value.length > 253 || dns1123Subdomain(bare).length > 0 || isIP(bare) !== 0) {
    throw invalidProp(
      subject,
      prop,
      value,
      'a Gateway API hostname such as "grpc.example.com" or "*.example.com" (lower-case DNS labels, no IP address)',
    );
  }
  return value;
}

/**
 * Whether two Gateway API hostnames share a host, as a listener's and a route's must for the route to attach: equal, or
 * one a `*.` wildcard whose suffix the other ends with (GRPCRoute `spec.hostnames`, v1.6.1).
 */
export function hostnamesIntersect(a: string, b: string): boolean {
  const covers = (wildcard: string, name: string) => wildcard.startsWith('*.') && name.endsWith(wildcard.slice(1));
  return a === b || covers(a, b) || covers(b, a);
}

/** An integer in [min, max]. */
export function integerIn(
  subject: ValidationSubject,
  prop: string,
  value: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidProp(
      subject,
      prop,
      value,
      max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`,
    );
  }
  return value;
}

/**
 * A Service port's appProtocol, such as `grpc` or `kubernetes.io/h2c`: a qualified name, as the API server validates
 * it (an optional DNS-1123 subdomain prefix and "/", then the name).
 */
export function appProtocolName(subject: ValidationSubject, prop: string, value: string): string {
  return grammar(
    subject,
    prop,
    value,
    qualifiedName,
    'a Kubernetes qualified name such as "grpc" or "kubernetes.io/h2c"',
  );
}

/** A TCP port a container listens on or a Service exposes. */
export function port(subject: ValidationSubject, prop: string, value: number): number {
  return integerIn(subject, prop, value, 1, 65535);
}

/** One of a fixed set of strings (an enum-like prop, checked at run time for JavaScript callers and config files). */
export function oneOf<T extends string>(subject: ValidationSubject, prop: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value))
    throw invalidProp(subject, prop, value, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  return value;
}

/** A non-negative Kubernetes quantity such as `100m` or `128Mi`, and its exact value. */
export function quantityValue(subject: ValidationSubject, prop: string, value: string): Rational {
  const parsed = typeof value === 'string' ? parseQuantity(value) : undefined;
  if (parsed === undefined || parsed.num < 0n)
    throw invalidProp(subject, prop, value, 'a Kubernetes quantity such as "100m" or "128Mi"');
  return parsed;
}

/** A non-negative Kubernetes quantity such as `100m` or `128Mi`. */
export function quantity(subject: ValidationSubject, prop: string, value: string): string {
  quantityValue(subject, prop, value);
  return value;
}

/** Whether quantity `a` is at most `b` (both checked already). */
export function quantityAtMost(a: Rational, b: Rational): boolean {
  return compareRational(a, b) <= 0;
}

/** A Duration prop in whole milliseconds, at least `min`. */
export function milliseconds(subject: ValidationSubject, prop: string, duration: Duration, min: number): number {
  const ms = duration instanceof Duration ? duration.toMilliseconds() : NaN;
  if (!Number.isInteger(ms) || ms < min) {
    throw invalidProp(
      subject,
      prop,
      duration instanceof Duration ? `${ms} ms` : duration,
      `a Duration of at least ${min} ms`,
    );
  }
  return ms;
}

/** Istio's duration strings: whole seconds as `2s`, anything finer as `1500ms`. */
export function istioDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * The Gateway API's duration strings (GEP-2257, which Envoy Gateway's policies use too: `^([0-9]{1,5}(h|m|s|ms)){1,4}$`):
 * whole seconds as `2s`, anything finer as `1500ms` or `120s500ms`; at most 99999 of each unit.
 */
export function gatewayApiDuration(subject: ValidationSubject, prop: string, ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const rest = ms % 1000;
  if (!Number.isInteger(ms) || ms < 0 || seconds > 99_999)
    throw invalidProp(subject, prop, `${ms} ms`, 'a Duration of at most 99999 s');
  if (rest === 0) return `${seconds}s`;
  return ms <= 99_999 ? `${ms}ms` : `${seconds}s${rest}ms`;
}

// A fully qualified protobuf service name: a package and the service, such as `helloworld.Greeter`. This is a subset of
// what the GRPCRoute CRD's method.service pattern accepts and what ESPv2's `apis[].name` requires.
const PROTO_SERVICE = /^[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)+$/;

/** A list of fully qualified gRPC service names (`helloworld.Greeter`), at least `min` long. */
export function protoServiceNames(
  subject: ValidationSubject,
  prop: string,
  value: readonly string[],
  min: number,
): string[] {
  if (!Array.isArray(value) || value.length < min) {
    throw invalidProp(
      subject,
      prop,
      value,
      min > 0
        ? 'a non-empty list of fully qualified gRPC service names'
        : 'a list of fully qualified gRPC service names',
    );
  }
  value.forEach((service, index) => {
    if (typeof service !== 'string' || !PROTO_SERVICE.test(service)) {
      throw invalidProp(
        subject,
        `${prop}[${index}]`,
        service,
        'a fully qualified gRPC service name such as "helloworld.Greeter"',
      );
    }
  });
  return [...value];
}

/** Labels or annotations: every key a qualified name, every value a string (a label value, for labels). */
export function metadataMap(
  subject: ValidationSubject,
  prop: string,
  value: Readonly<Record<string, string>>,
  kind: 'labels' | 'annotations',
): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalidProp(subject, prop, value, `a map of ${kind}`);
  for (const [key, entry] of Object.entries(value)) {
    if (qualifiedName(key).length > 0)
      throw invalidProp(subject, `${prop} key`, key, 'a Kubernetes qualified name such as "example.com/name"');
    if (kind === 'labels') labelValue(subject, `${prop}.${key}`, entry);
    else if (typeof entry !== 'string') throw invalidProp(subject, `${prop}.${key}`, entry, 'a string');
  }
  return { ...value };
}

/** A list (of strings, names, objects), each entry checked by `check` and named `<prop>[<index>]`. */
export function listOf<T, Checked = T>(
  subject: ValidationSubject,
  prop: string,
  value: readonly T[],
  check: (entry: T, prop: string) => Checked,
): Checked[] {
  if (!Array.isArray(value)) throw invalidProp(subject, prop, value, 'a list');
  return value.map((entry, index) => check(entry, `${prop}[${index}]`));
}

/** Names that must be unique in a list (ports, volumes, mounts): the first repeated one is an error. */
export function unique(subject: ValidationSubject, prop: string, names: readonly (string | number)[]): void {
  const index = names.findIndex((name, i) => names.indexOf(name) !== i);
  if (index >= 0) throw invalidProp(subject, `${prop}[${index}]`, names[index], 'unique in the list');
}

// An environment variable name as the API server validates it without the RelaxedEnvironmentVariableValidation feature.
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** An environment variable name as Kubernetes 1.27 validates it. */
export function envName(subject: ValidationSubject, prop: string, value: string): string {
  if (typeof value !== 'string' || !ENV_NAME.test(value))
    throw invalidProp(
      subject,
      prop,
      value,
      'an environment variable name (letters, digits, "_", "-" and ".", not starting with a digit)',
    );
  return value;
}
