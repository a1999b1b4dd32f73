/**
 * Readers for untrusted JSON: the input is whatever a manifest says, so every field is read through these and a field
 * of the wrong type counts as absent (the schema check reports it).
 */
export type Json = Record<string, unknown>;

export const record = (value: unknown): Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
export const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
export const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
export const integer = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) ? value : undefined;
export const strings = (value: unknown): Record<string, string> =>
  Object.fromEntries(
    Object.entries(record(value)).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
/** A port given as a number or a name (targetPort, probe ports, Ingress backend ports). */
export const portValue = (value: unknown): number | string | undefined => integer(value) ?? text(value);
/** The value at `keys` below `value`. */
export const at = (value: unknown, ...keys: readonly string[]): unknown =>
  keys.reduce<unknown>((node, key) => record(node)[key], value);
