/**
 * grpc-k8s-lb-common's port-name grammar against the cases of k8s.io/apimachinery v0.32.0
 * pkg/util/validation/validation.go IsValidPortName: at most 15 characters of a-z, 0-9 and "-", at least one
 * letter, no "--", no "-" at either end.
 */
import { portName } from 'grpc-k8s-lb-common';

test.each(['grpc', 'metrics', 'h2c-9090', 'a', 'x'.repeat(15)])('%j is a port name', (name) => {
  expect(portName(name)).toEqual([]);
});

test.each([
  ['x'.repeat(16), 'must be no more than 15 characters'],
  ['Metrics', 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
  ['9090', 'must contain at least one letter (a-z)'],
  ['grpc--web', 'must not contain consecutive hyphens'],
  ['-grpc', 'must not begin or end with a hyphen'],
  ['grpc-', 'must not begin or end with a hyphen'],
])('%j is not: %s', (name, error) => {
  expect(portName(name)).toContain(error);
});
