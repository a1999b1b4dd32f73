/**
 * Evaluates a CRD's `x-kubernetes-validations` on a (defaulted) custom object, as apiextensions-apiserver does
 * (pkg/apiserver/schema/cel/validation.go at v0.32.0): every rule of every schema node whose value is present and not
 * null, with `self` bound to that value; transition rules (those using `oldSelf`) are skipped because there is no old
 * object on create; a failed rule reports its message, its messageExpression's result, or "failed rule: <rule>", at the
 * node's path plus the rule's fieldPath. Values are typed from the schema (k8s.io/apiserver pkg/cel/common/values.go):
 * integer → int, number → double, int-or-string → int or string, string formats byte/date/date-time/duration →
 * bytes/timestamp/duration, objects with properties → only declared fields, under CEL-escaped names
 * (pkg/cel/escaping.go), maps → string keys. Rules are parsed and planned once per rule text and cached.
 */
import { celEnv, isCelError, parse, plan, type CelResult } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { DurationSchema, timestampFromMs } from '@bufbuild/protobuf/wkt';
import { create, createRegistry } from '@bufbuild/protobuf';
import { childPath, indexPath, isJsonObject, type Json, type JsonSchema, type ValidationRule } from '../schema-types';
import { KUBERNETES_LIBRARIES, LATER_STANDARD_NAMES, type Library } from './libraries';
import { OPAQUE_DESCRIPTORS } from './types';

/** A rule that could not be run, and why. */
export interface RuleSkip {
  readonly path: string;
  readonly rule: string;
  readonly reason: string;
}

export interface RuleViolation {
  readonly path: string;
  readonly rule: string;
  readonly message: string;
}

export interface RuleOutcome {
  evaluated: number;
  readonly violations: RuleViolation[];
  readonly skipped: RuleSkip[];
}

type Program = (bindings: { self: unknown }) => CelResult;

interface CompiledRule {
  readonly program?: Program;
  readonly messageProgram?: Program;
  /** Why the rule cannot run at all (parse error, transition rule). */
  readonly skip?: string;
  /** The function names the rule calls, for the per-version library check. */
  readonly calls: ReadonlySet<string>;
}

const environment = celEnv({
  funcs: [...strings, ...KUBERNETES_LIBRARIES.flatMap((lib) => lib.funcs)],
  registry: createRegistry(...OPAQUE_DESCRIPTORS),
});
const compiled = new Map<string, CompiledRule>();

// Every literal string, so the names inside them are not taken for calls.
const STRING_LITERAL = /[rRbB]*("""[\s\S]*?"""|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')/g;
const CALL = /([A-Za-z_][A-Za-z0-9_]*)\s*\(/g;
const NAMESPACED_CALL = /\b([A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*)\s*\(/g;
const OLD_SELF = /\boldSelf\b/;

function calledNames(rule: string): Set<string> {
  const code = rule.replace(STRING_LITERAL, '""');
  return new Set([...code.matchAll(CALL), ...code.matchAll(NAMESPACED_CALL)].map((m) => m[1]));
}

function compileExpression(expression: string): Program | Error {
  try {
    return plan(environment, parse(expression)) as unknown as Program;
  } catch (error) {
    return error as Error;
  }
}

function compile(rule: ValidationRule): CompiledRule {
  const key = `${rule.rule}\u0000${rule.messageExpression ?? ''}`;
  let entry = compiled.get(key);
  if (entry) return entry;
  const calls = calledNames(rule.rule);
  if (OLD_SELF.test(rule.rule.replace(STRING_LITERAL, '""'))) {
    // There is no old object on create; the API server runs a transition rule only on update.
    entry = { skip: 'transition rule (oldSelf): evaluated only on update', calls };
  } else {
    const program = compileExpression(rule.rule);
    const messageProgram = rule.messageExpression ? compileExpression(rule.messageExpression) : undefined;
    if (program instanceof Error) entry = { skip: `does not parse: ${program.message}`, calls };
    else entry = { program, messageProgram: messageProgram instanceof Error ? undefined : messageProgram, calls };
  }
  compiled.set(key, entry);
  return entry;
}

const ALL_LIBRARIES: readonly Library[] = [...KUBERNETES_LIBRARIES, ...LATER_STANDARD_NAMES];

/** Why `rule` would not compile on Kubernetes 1.`minor`: a library it calls arrived later. */
function missingLibrary(calls: ReadonlySet<string>, minor: number): string | undefined {
  for (const library of ALL_LIBRARIES) {
    if (library.sinceMinor <= minor) continue;
    const used = library.names.filter((name) => calls.has(name));
    if (used.length)
      return `calls ${used.join(', ')} from the ${library.name} library, added to the API server's CEL environment in Kubernetes 1.${library.sinceMinor}`;
  }
  return undefined;
}

// --- values: a JSON value typed by its schema (UnstructuredToVal) ---

const RESERVED = new Set([
  'true',
  'false',
  'null',
  'in',
  'as',
  'break',
  'const',
  'continue',
  'else',
  'for',
  'function',
  'if',
  'import',
  'let',
  'loop',
  'package',
  'namespace',
  'return',
  'var',
  'void',
  'while',
]);

/** A property name as CEL sees it (pkg/cel/escaping.go), undefined when it cannot be accessed from CEL. */
export function escapeProperty(name: string): string | undefined {
  if (name === '' || /^[0-9]/.test(name)) return undefined;
  if (RESERVED.has(name)) return `__${name}__`;
  if (!/^[A-Za-z0-9_.\-/]+$/.test(name)) return undefined;
  return name.replace(
    /__|[./-]/g,
    (s) => ({ __: '__underscores__', '.': '__dot__', '-': '__dash__', '/': '__slash__' })[s]!,
  );
}

/** The schema of a resource root or embedded resource: apiVersion, kind, metadata.name/generateName are visible. */
const OBJECT_META_FIELDS: JsonSchema = {
  type: 'object',
  properties: { name: { type: 'string' }, generateName: { type: 'string' } },
};
function withTypeAndObjectMeta(s: JsonSchema): JsonSchema {
  return {
    ...s,
    properties: {
      ...s.properties,
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: OBJECT_META_FIELDS,
    },
  };
}

class InvalidData extends Error {}

const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

function goDuration(text: string): object {
  const match = /^([-+]?)((?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|0)$/.exec(text);
  if (!match) throw new InvalidData(`Invalid duration ${text}`);
  let nanos = 0;
  for (const [, amount, unit] of match[2].matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g))
    nanos += Number(amount) * DURATION_UNITS[unit];
  const total = BigInt(Math.round(nanos)) * (match[1] === '-' ? -1n : 1n);
  return create(DurationSchema, { seconds: total / 1_000_000_000n, nanos: Number(total % 1_000_000_000n) });
}

/** `value` as a CEL value of `schema`'s type; throws InvalidData where the API server's conversion errs. */
export function toCel(value: Json, schema: JsonSchema, embedded = false): unknown {
  if (value === null) {
    if (schema.nullable) return null;
    throw new InvalidData('invalid data, got null for schema with nullable=false');
  }
  if (schema['x-kubernetes-int-or-string']) {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
    throw new InvalidData('invalid data, expected XIntOrString value to be either a string or integer');
  }
  switch (schema.type) {
    case 'object': {
      if (!isJsonObject(value))
        throw new InvalidData('invalid data, expected a map for the provided schema with type=object');
      const s = embedded || schema['x-kubernetes-embedded-resource'] ? withTypeAndObjectMeta(schema) : schema;
      const out = new Map<string, unknown>();
      if (s.properties) {
        for (const [key, child] of Object.entries(value)) {
          const property = s.properties[key];
          const name = property && escapeProperty(key);
          if (property && name && child !== undefined) out.set(name, toCel(child, property));
        }
      } else if (typeof s.additionalProperties === 'object') {
        for (const [key, child] of Object.entries(value)) out.set(key, toCel(child, s.additionalProperties));
      }
      return out;
    }
    case 'array':
      if (!Array.isArray(value))
        throw new InvalidData('invalid data, expected an array for the provided schema with type=array');
      if (!schema.items) throw new InvalidData('invalid array type, expected Items with a non-empty Schema');
      return value.map((item) => toCel(item, schema.items!));
    case 'string':
      if (typeof value !== 'string') throw new InvalidData(`invalid data, expected string, got ${typeof value}`);
      switch (schema.format) {
        case 'duration':
          return goDuration(value);
        case 'date':
        case 'date-time': {
          const ms = Date.parse(value);
          if (Number.isNaN(ms)) throw new InvalidData(`Invalid ${schema.format} formatted string ${value}`);
          return timestampFromMs(ms);
        }
        case 'byte':
          return new Uint8Array(Buffer.from(value, 'base64'));
      }
      return value;
    case 'number':
      if (typeof value !== 'number') throw new InvalidData(`invalid data, expected float, got ${typeof value}`);
      return value;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value))
        throw new InvalidData(`invalid data, expected int, got ${typeof value}`);
      return BigInt(value);
    case 'boolean':
      if (typeof value !== 'boolean') throw new InvalidData(`invalid data, expected bool, got ${typeof value}`);
      return value;
  }
  // A value with no type but x-kubernetes-preserve-unknown-fields (EnvoyProxy's patch.value) is kept as it is: the
  // API server wraps it (k8s.io/apiserver v0.32.0 pkg/cel/common/values.go unknownPreserved), present for has() and
  // compared by deep equality; its plain CEL form here does the same.
  if (schema['x-kubernetes-preserve-unknown-fields']) return preserved(value);
  throw new InvalidData('invalid type, expected object, array, number, integer, boolean or string');
}

/** A free-form JSON value as plain CEL: maps, lists, ints (integral numbers), doubles, strings, booleans, null. */
function preserved(value: Json): unknown {
  if (Array.isArray(value)) return value.map(preserved);
  if (isJsonObject(value)) return new Map(Object.entries(value).map(([key, child]) => [key, preserved(child)]));
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return value;
}

// The CEL value of a node is built once per (JSON node, schema) and shared by the rules of the nodes above it.
const converted = new WeakMap<object, Map<JsonSchema, unknown>>();
function celValue(value: Json, schema: JsonSchema, root: boolean): unknown {
  if (value === null || typeof value !== 'object') return toCel(value, schema, root);
  let bySchema = converted.get(value);
  if (!bySchema) converted.set(value, (bySchema = new Map()));
  if (!bySchema.has(schema)) bySchema.set(schema, toCel(value, schema, root));
  return bySchema.get(schema);
}

/** @bufbuild/cel's error for a function it has no implementation of (e.g. two-variable comprehensions). */
const UNBOUND = /^unbound function/;

/**
 * Evaluates every rule in `schema` over `value` for each Kubernetes 1.`minors[i]`, adding to `outcomes[i]`. A rule's
 * result does not depend on the version, only whether it runs there (the libraries it calls), so each rule is
 * evaluated once for all of them.
 */
export function evaluateRules(
  value: Json | undefined,
  schema: JsonSchema,
  path: string,
  minors: readonly number[],
  outcomes: readonly RuleOutcome[],
  root = true,
): void {
  if (value === undefined || value === null) return;
  const rules = schema['x-kubernetes-validations'] ?? [];
  if (rules.length) {
    let self: unknown;
    let conversionError: string | undefined;
    try {
      self = celValue(value, schema, root);
    } catch (error) {
      if (!(error instanceof InvalidData)) throw error;
      conversionError = error.message;
    }
    for (const rule of rules) {
      const entry = compile(rule);
      const at = rule.fieldPath
        ? `${path}${rule.fieldPath.startsWith('[') ? '' : '.'}${rule.fieldPath.replace(/^\./, '')}`
        : path;
      let result: CelResult | undefined;
      minors.forEach((minor, m) => {
        const outcome = outcomes[m];
        const unavailable = entry.skip ?? missingLibrary(entry.calls, minor);
        if (unavailable) {
          outcome.skipped.push({ path, rule: rule.rule, reason: unavailable });
          return;
        }
        if (conversionError) {
          // The schema check reports the bad value itself; the API server also fails the rule on it.
          outcome.violations.push({
            path,
            rule: rule.rule,
            message: `${conversionError} evaluating rule: ${rule.rule}`,
          });
          return;
        }
        result ??= entry.program!({ self });
        if (isCelError(result) && UNBOUND.test(result.message)) {
          // A function this evaluator lacks: no verdict on the object, so the rule counts as skipped, with the reason.
          outcome.skipped.push({ path, rule: rule.rule, reason: `cannot be evaluated here: ${result.message}` });
          return;
        }
        outcome.evaluated++;
        if (isCelError(result))
          outcome.violations.push({
            path: at,
            rule: rule.rule,
            message: `${result.message} evaluating rule: ${rule.rule}`,
          });
        else if (result !== true)
          outcome.violations.push({ path: at, rule: rule.rule, message: failureMessage(rule, entry, self) });
      });
    }
  }
  for (const sub of schema.allOf ?? []) evaluateRules(value, sub, path, minors, outcomes, root);
  if (Array.isArray(value)) {
    if (schema.items)
      value.forEach((item, i) => evaluateRules(item, schema.items!, indexPath(path, i), minors, outcomes, false));
  } else if (isJsonObject(value)) {
    const additional = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
    for (const [key, child] of Object.entries(value)) {
      if (root && key === 'metadata') continue;
      const property = schema.properties?.[key];
      if (property) evaluateRules(child, property, childPath(path, key), minors, outcomes, false);
      else if (additional) evaluateRules(child, additional, indexPath(path, key), minors, outcomes, false);
    }
  }
}

/** messageExpression's string when it yields one, else message, else "failed rule: <rule>" (validation.go). */
function failureMessage(rule: ValidationRule, entry: CompiledRule, self: unknown): string {
  if (entry.messageProgram) {
    const message = entry.messageProgram({ self });
    if (typeof message === 'string' && message.trim() !== '' && !message.includes('\n')) return message;
  }
  if (rule.message) return rule.message;
  return `failed rule: ${rule.rule}`;
}

/** Evaluates one expression with `self` bound, in the environment rules run in: the value, or a thrown Error. */
export function evaluateExpression(expression: string, self: unknown = null): unknown {
  const program = compileExpression(expression);
  if (program instanceof Error) throw program;
  const result = program({ self });
  if (isCelError(result)) throw new Error(result.message);
  return result;
}

/** Why a rule would not be evaluated on Kubernetes 1.`minor` (transition rule, parse error, newer library), if so. */
export function whyNotEvaluated(rule: ValidationRule, minor: number): string | undefined {
  const entry = compile(rule);
  return entry.skip ?? missingLibrary(entry.calls, minor);
}
