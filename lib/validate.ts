/**
 * Prop validation for the constructs: each check throws an Error that names the construct, the prop and the value,
 * before anything is added to the tree, so a bad prop never leaves half a chart behind.
 */

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
  if (value.length > 63 || !DNS1123_LABEL.test(value)) {
    throw invalidProp(subject, prop, value, 'a DNS-1123 label (lower-case letters, digits and "-", at most 63 characters, alphanumeric at both ends)');
  }
  return value;
}
