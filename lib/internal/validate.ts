/**
 * Prop validation for the constructs: each check throws an Error that names the construct, the prop and the value,
 * before anything is added to the tree, so a bad prop never leaves half a chart behind.
 */
import { Duration } from 'cdk8s';

/** Who is being validated, for the message: `GreeterApp 'greeter'`. */
export interface ValidationSubject {
  readonly construct: string;
  readonly id: string;
}

export function invalidProp(subject: ValidationSubject, prop: string, value: unknown, expected: string): Error {
  return new Error(`${subject.construct} '${subject.id}': ${prop} must be ${expected}, got ${JSON.stringify(value)}`);
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS-1123 label: what Kubernetes requires of Namespace and Service names. */
export function dnsLabel(subject: ValidationSubject, prop: string, value: string): string {
  if (typeof value !== 'string' || value.length > 63 || !DNS1123_LABEL.test(value)) {
    throw invalidProp(
      subject,
      prop,
      value,
      'a DNS-1123 label (lower-case letters, digits and "-", at most 63 characters, alphanumeric at both ends)',
    );
  }
  return value;
}

function isDnsSubdomain(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length <= 253 &&
    value.split('.').every((label) => label.length <= 63 && DNS1123_LABEL.test(label))
  );
}

/** A DNS-1123 subdomain: what Kubernetes requires of Secret, Deployment and most other object names. */
export function dnsSubdomain(subject: ValidationSubject, prop: string, value: string): string {
  if (!isDnsSubdomain(value)) {
    throw invalidProp(
      subject,
      prop,
      value,
      'a DNS-1123 subdomain (dot-separated DNS-1123 labels, at most 253 characters)',
    );
  }
  return value;
}

/**
 * A host name as an Istio Gateway, a VirtualService and a TLS certificate take it: a fully qualified domain name
 * with at least two labels, optionally with a leading `*.` wildcard.
 */
export function hostName(subject: ValidationSubject, prop: string, value: string): string {
  const bare = typeof value === 'string' && value.startsWith('*.') ? value.slice(2) : value;
  const labels = typeof bare === 'string' ? bare.split('.') : [];
  if (
    labels.length < 2 ||
    bare.length > 253 ||
    !labels.every((label) => label.length <= 63 && DNS1123_LABEL.test(label))
  ) {
    throw invalidProp(
      subject,
      prop,
      value,
      'a fully qualified lower-case host name such as "grpc.example.com" (optionally "*." first)',
    );
  }
  return value;
}

// A host (no space, no "/") after https://, then an optional path.
const API_SERVER_URL = /^https:\/\/[^\s/]+(\/[^\s]*)?$/;

/** A Kubernetes API server URL, as Argo CD registers a cluster: `https://kubernetes.default.svc`. */
export function apiServerUrl(subject: ValidationSubject, prop: string, value: string): string {
  if (typeof value !== 'string' || !API_SERVER_URL.test(value))
    throw invalidProp(subject, prop, value, 'an https:// API server URL');
  return value;
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

// The name part of a Kubernetes qualified name (IsQualifiedName): at most 63 alphanumerics, "-", "_" or ".",
// alphanumeric at both ends.
const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/**
 * A Service port's appProtocol, such as `grpc` or `kubernetes.io/h2c`: a qualified name, as the API server validates
 * it (an optional DNS-1123 subdomain prefix and "/", then the name).
 */
export function appProtocolName(subject: ValidationSubject, prop: string, value: string): string {
  const parts = typeof value === 'string' ? value.split('/') : [];
  const name = parts.at(-1) ?? '';
  const prefixOk = parts.length === 1 || (parts.length === 2 && isDnsSubdomain(parts[0]));
  if (!prefixOk || !QUALIFIED_NAME_PART.test(name)) {
    throw invalidProp(subject, prop, value, 'a Kubernetes qualified name such as "grpc" or "kubernetes.io/h2c"');
  }
  return value;
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

// Kubernetes resource.Quantity: a decimal number with an optional binary (Ki…Ei) or decimal (m, k, M…E) suffix.
const QUANTITY = /^(\d+(\.\d+)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/;

/** A Kubernetes quantity such as `100m` or `128Mi`. */
export function quantity(subject: ValidationSubject, prop: string, value: string): string {
  if (typeof value !== 'string' || !QUANTITY.test(value))
    throw invalidProp(subject, prop, value, 'a Kubernetes quantity such as "100m" or "128Mi"');
  return value;
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

// Kubernetes label and annotation keys: an optional DNS subdomain prefix and "/", then a name of at most 63
// characters (alphanumeric at both ends; "-", "_" and "." inside).
const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Labels or annotations: every key a qualified name, every value a string (a label value at most 63 characters). */
export function metadataMap(
  subject: ValidationSubject,
  prop: string,
  value: Readonly<Record<string, string>>,
  kind: 'labels' | 'annotations',
): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalidProp(subject, prop, value, `a map of ${kind}`);
  for (const [key, entry] of Object.entries(value)) {
    if (!QUALIFIED_NAME.test(key) || (key.includes('/') && key.indexOf('/') > 253))
      throw invalidProp(subject, `${prop} key`, key, 'a Kubernetes qualified name such as "example.com/name"');
    if (typeof entry !== 'string' || (kind === 'labels' && !LABEL_VALUE.test(entry))) {
      throw invalidProp(
        subject,
        `${prop}.${key}`,
        entry,
        kind === 'labels'
          ? 'a label value (at most 63 letters, digits, "-", "_" and ".", alphanumeric at both ends)'
          : 'a string',
      );
    }
  }
  return { ...value };
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
