/**
 * Schema validation as the API server does it, in two dialects:
 *
 * - `core`: a built-in kind against the Kubernetes OpenAPI definitions, as strict field validation sees it
 *   (`kubectl --validate=strict`, fieldValidation=Strict: unknown fields are errors;
 *   https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation) together with what Go's JSON
 *   decoding rejects (wrong types, int32/int64 overflow, bad base64 and timestamps, malformed quantities) and the
 *   definitions' `required` lists. `null` decodes to the zero value, so it counts as absent.
 * - `crd`: a custom object against its CRD's structural schema (apiextensions-apiserver): non-nullable nulls are
 *   pruned and defaults applied first (pkg/apiserver/schema/defaulting/{prunenulls,algorithm}.go), unknown fields are
 *   what pruning would drop (pkg/apiserver/schema/pruning/algorithm.go: kept under
 *   x-kubernetes-preserve-unknown-fields, and apiVersion/kind/metadata at the root and in embedded resources),
 *   then kube-openapi's value validations, and list-type set/map uniqueness (pkg/apiserver/schema/listtype).
 */
import { RE2JS } from '@bufbuild/re2';
import type { CoreSchemas } from './data';
import { matchesFormat } from './formats';
import { parseQuantity } from 'grpc-k8s-lb-common';
import {
  childPath,
  indexPath,
  isJsonObject,
  jsonType,
  type Json,
  type JsonObject,
  type JsonSchema,
} from './schema-types';

export interface SchemaIssue {
  readonly path: string;
  readonly message: string;
}

const REF_PREFIX = '#/definitions/';
const INT_OR_STRING_REF = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const QUANTITY_REF = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const OBJECT_META_REF = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
/** Synthetic schemas for the two core types the definitions describe only as `oneOf`. */
const INT_OR_STRING: JsonSchema = { 'x-kubernetes-int-or-string': true };
const QUANTITY: JsonSchema = { format: 'quantity' };
/** What the root and an embedded resource always keep (pruning/algorithm.go). */
const TYPE_AND_OBJECT_META = new Set(['apiVersion', 'kind', 'metadata']);

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** A value for a message, as the API server quotes it. */
export function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

const patternCache = new Map<string, RE2JS | Error>();
function compiledPattern(pattern: string): RE2JS | Error {
  let re = patternCache.get(pattern);
  if (!re) {
    try {
      re = new RE2JS(pattern);
    } catch (error) {
      re = new Error(`invalid pattern ${JSON.stringify(pattern)}: ${(error as Error).message}`);
    }
    patternCache.set(pattern, re);
  }
  return re;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isJsonObject(a) && isJsonObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

export class SchemaValidator {
  readonly issues: SchemaIssue[] = [];

  constructor(
    private readonly dialect: 'core' | 'crd',
    /** The core definitions: $ref targets in `core`, ObjectMeta for a custom object's metadata in `crd`. */
    private readonly core: CoreSchemas,
  ) {}

  private report(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  /** A core definition by $ref, with IntOrString and Quantity as the API server decodes them. */
  private deref(schema: JsonSchema): JsonSchema {
    if (!schema.$ref) return schema;
    const name = schema.$ref.startsWith(REF_PREFIX) ? schema.$ref.slice(REF_PREFIX.length) : schema.$ref;
    if (name === INT_OR_STRING_REF) return INT_OR_STRING;
    if (name === QUANTITY_REF) return QUANTITY;
    const target = this.core.definitions[name];
    if (!target) throw new Error(`validation: Kubernetes ${this.core.version} definitions have no ${name}`);
    return target;
  }

  /**
   * A top-level object against its kind's schema (`root`: apiVersion, kind and metadata are the API server's). A
   * custom object's metadata is checked with {@link validateObjectMeta} and the rest with {@link validateCustomBody}.
   */
  validateRoot(object: JsonObject, schema: JsonSchema): void {
    if (this.dialect === 'crd') {
      this.validateObjectMeta(object.metadata);
      this.validateCustomBody(object, schema);
    } else this.validate(object, schema, '', { root: true });
  }

  /** A custom object's metadata, decoded into ObjectMeta like every object's, so checked against its core definition. */
  validateObjectMeta(metadata: Json | undefined): void {
    if (metadata === undefined) return;
    const meta = new SchemaValidator('core', this.core);
    meta.validate(metadata, { $ref: `${REF_PREFIX}${OBJECT_META_REF}` }, 'metadata');
    this.issues.push(...meta.issues);
  }

  /** A custom object, its metadata apart, against its CRD's schema: the same for every Kubernetes version. */
  validateCustomBody(object: JsonObject, schema: JsonSchema): void {
    const { metadata, ...rest } = object;
    // Present for the schema's `required` (Argo CD's Application CRD requires metadata), checked by validateObjectMeta.
    this.validate(metadata === undefined ? rest : { ...rest, metadata: {} }, schema, '', { root: true });
  }

  /** Validates `value` at `path`; `structural` false for the value-only subschemas of allOf/anyOf/oneOf/not. */
  validate(
    value: Json | undefined,
    rawSchema: JsonSchema,
    path: string,
    { root = false, structural = true } = {},
  ): void {
    const schema = this.dialect === 'core' ? this.deref(rawSchema) : rawSchema;
    if (value === undefined) return;
    if (value === null) {
      if (
        this.dialect === 'crd' &&
        !schema.nullable &&
        structural &&
        (schema.type || schema['x-kubernetes-int-or-string'])
      ) {
        this.report(
          path,
          `Invalid value: null: must be of type ${schema['x-kubernetes-int-or-string'] ? 'integer or string' : schema.type}`,
        );
      }
      return;
    }
    const type = jsonType(value);
    if (!this.checkType(value, type, schema, path)) return;
    this.valueValidations(value, type, schema, path);
    if (type === 'object') this.validateObject(value as JsonObject, schema, path, root, structural);
    else if (type === 'array' && schema.items) {
      (value as Json[]).forEach((item, i) => this.validate(item, schema.items!, indexPath(path, i), { structural }));
      if (structural && this.dialect === 'crd') this.checkListType(value as Json[], schema, path);
    }
  }

  /** False (after reporting) when the value's JSON type is not the schema's. */
  private checkType(value: Json, type: string, schema: JsonSchema, path: string): boolean {
    if (schema['x-kubernetes-int-or-string']) {
      if (type === 'integer' || type === 'string') return true;
      this.report(path, `Invalid value: ${show(value)}: must be an integer or a string, got ${type}`);
      return false;
    }
    if (schema.format === 'quantity' && !schema.type) {
      if (type === 'integer' || type === 'number') return true;
      if (type === 'string' && parseQuantity(value as string)) return true;
      this.report(
        path,
        `Invalid value: ${show(value)}: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
      );
      return false;
    }
    const expected = schema.type;
    if (!expected || expected === type || (expected === 'number' && type === 'integer')) {
      if (this.dialect === 'core' && type === 'integer' && schema.format && schema.format in INT_RANGES) {
        const [min, max] = INT_RANGES[schema.format];
        if ((value as number) < min || (value as number) > max) {
          this.report(path, `Invalid value: ${value}: out of range for ${schema.format}`);
          return false;
        }
      }
      return true;
    }
    this.report(path, `Invalid value: ${show(value)}: must be of type ${expected}, got ${type}`);
    return false;
  }

  private valueValidations(value: Json, type: string, s: JsonSchema, path: string): void {
    if (s.enum && !s.enum.some((e) => deepEqual(e, value))) {
      this.report(path, `Unsupported value: ${show(value)}: supported values: ${s.enum.map(show).join(', ')}`);
    }
    if (type === 'string') {
      const text = value as string;
      const length = [...text].length;
      if (s.maxLength !== undefined && length > s.maxLength)
        this.report(path, `Too long: may not be longer than ${s.maxLength}`);
      if (s.minLength !== undefined && length < s.minLength)
        this.report(path, `Invalid value: ${show(text)}: should be at least ${s.minLength} chars long`);
      if (s.pattern !== undefined) {
        const re = compiledPattern(s.pattern);
        if (re instanceof Error) this.report(path, re.message);
        else if (!re.test(text)) this.report(path, `Invalid value: ${show(text)}: should match '${s.pattern}'`);
      }
      if (s.format && s.format !== 'quantity' && !matchesFormat(s.format, text))
        this.report(path, `Invalid value: ${show(text)}: must be of format ${s.format}`);
    }
    if (type === 'integer' || type === 'number') {
      const n = value as number;
      if (s.maximum !== undefined && (s.exclusiveMaximum ? n >= s.maximum : n > s.maximum)) {
        this.report(
          path,
          `Invalid value: ${n}: should be less than ${s.exclusiveMaximum ? '' : 'or equal to '}${s.maximum}`,
        );
      }
      if (s.minimum !== undefined && (s.exclusiveMinimum ? n <= s.minimum : n < s.minimum)) {
        this.report(
          path,
          `Invalid value: ${n}: should be greater than ${s.exclusiveMinimum ? '' : 'or equal to '}${s.minimum}`,
        );
      }
      if (s.multipleOf !== undefined && Math.abs(n / s.multipleOf - Math.round(n / s.multipleOf)) > 1e-9)
        this.report(path, `Invalid value: ${n}: should be a multiple of ${s.multipleOf}`);
    }
    if (type === 'array') {
      const items = value as Json[];
      if (s.maxItems !== undefined && items.length > s.maxItems)
        this.report(path, `Too many: ${items.length}: must have at most ${s.maxItems} items`);
      if (s.minItems !== undefined && items.length < s.minItems)
        this.report(path, `Invalid value: ${items.length}: should have at least ${s.minItems} items`);
      if (s.uniqueItems && items.some((x, i) => items.findIndex((y) => deepEqual(x, y)) !== i))
        this.report(path, `Duplicate value: ${show(value)}: items must be unique`);
    }
    if (type === 'object') {
      const object = value as JsonObject;
      const count = Object.keys(object).length;
      if (s.maxProperties !== undefined && count > s.maxProperties)
        this.report(path, `Too many: ${count}: must have at most ${s.maxProperties} items`);
      if (s.minProperties !== undefined && count < s.minProperties)
        this.report(path, `Invalid value: ${count}: should have at least ${s.minProperties} properties`);
      for (const name of s.required ?? []) {
        // In core, an explicit null decodes to the zero value: for a required field, the same as absent.
        if (object[name] === undefined || (this.dialect === 'core' && object[name] === null))
          this.report(childPath(path, name), 'Required value');
      }
    }
    this.combinators(value, s, path);
  }

  /** allOf/anyOf/oneOf/not: value validations only (structural schemas keep types and properties out of them). */
  private combinators(value: Json, s: JsonSchema, path: string): void {
    const passes = (sub: JsonSchema) => {
      const probe = new SchemaValidator(this.dialect, this.core);
      probe.validate(value, sub, path, { structural: false });
      return probe.issues;
    };
    for (const sub of s.allOf ?? []) this.issues.push(...passes(sub));
    if (s.anyOf && !s.anyOf.some((sub) => passes(sub).length === 0)) {
      const reasons = s.anyOf.flatMap((sub) => passes(sub).map((i) => i.message));
      this.report(
        path,
        `Invalid value: ${show(value)}: must validate at least one schema (anyOf)${reasons.length ? `: ${[...new Set(reasons)].join('; ')}` : ''}`,
      );
    }
    if (s.oneOf) {
      const valid = s.oneOf.filter((sub) => passes(sub).length === 0).length;
      if (valid !== 1)
        this.report(
          path,
          `Invalid value: ${show(value)}: must validate one and only one schema (oneOf), ${valid} matched`,
        );
    }
    if (s.not && passes(s.not).length === 0)
      this.report(path, `Invalid value: ${show(value)}: must not validate the schema (not)`);
  }

  private validateObject(object: JsonObject, s: JsonSchema, path: string, root: boolean, structural: boolean): void {
    const embedded = root || s['x-kubernetes-embedded-resource'] === true;
    if (s['x-kubernetes-embedded-resource'] && structural) {
      for (const field of ['apiVersion', 'kind'])
        if (typeof object[field] !== 'string' || object[field] === '')
          this.report(childPath(path, field), 'Required value: must not be empty for an embedded resource');
    }
    const additional = s.additionalProperties;
    for (const [key, child] of Object.entries(object)) {
      const at = childPath(path, key);
      const property = s.properties?.[key];
      if (property) this.validate(child, property, at, { structural });
      else if (typeof additional === 'object') this.validate(child, additional, indexPath(path, key), { structural });
      else if (structural && !this.keeps(s, key, embedded)) this.report(at, `unknown field "${at}"`);
    }
  }

  /** Whether an object schema accepts a field it does not declare. */
  private keeps(s: JsonSchema, key: string, embedded: boolean): boolean {
    if (embedded && TYPE_AND_OBJECT_META.has(key)) return true;
    if (this.dialect === 'core') {
      // OpenAPI v2 free-form objects (RawExtension, JSON, FieldsV1): no properties, no additionalProperties.
      return s.properties === undefined && s.additionalProperties === undefined
        ? true
        : s.additionalProperties === true;
    }
    return s['x-kubernetes-preserve-unknown-fields'] === true || s.additionalProperties === true;
  }

  private checkListType(items: Json[], s: JsonSchema, path: string): void {
    const listType = s['x-kubernetes-list-type'];
    if (listType === 'set') {
      items.forEach((item, i) => {
        if (items.findIndex((other) => deepEqual(item, other)) !== i)
          this.report(indexPath(path, i), `Duplicate value: ${show(item)}`);
      });
    } else if (listType === 'map') {
      const keys = s['x-kubernetes-list-map-keys'] ?? [];
      const seen = new Set<string>();
      items.forEach((item, i) => {
        if (!isJsonObject(item)) return;
        const key = JSON.stringify(keys.map((k) => item[k] ?? null));
        if (seen.has(key))
          this.report(
            indexPath(path, i),
            `Duplicate value: ${show(Object.fromEntries(keys.map((k) => [k, item[k]])))}`,
          );
        seen.add(key);
      });
    }
  }
}

/**
 * Prunes non-nullable nulls that have no default, then applies defaults, as the API server does when it decodes a
 * custom object: missing (or non-nullable null) properties get their schema's default, deep-copied, and defaulting
 * continues inside it. Mutates `value`.
 */
export function applyDefaults(value: Json | undefined, s: JsonSchema | undefined): void {
  if (!s || value === null || typeof value !== 'object') return;
  const nonNullableNull = (x: Json | undefined, schema: JsonSchema | undefined) =>
    x === null && !!schema && !schema.nullable;
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (nonNullableNull(item, s.items) && s.items?.default !== undefined)
        value[i] = structuredClone(s.items.default as Json);
      applyDefaults(value[i], s.items);
    });
    return;
  }
  const additional = typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
  for (const key of Object.keys(value)) {
    const schema = s.properties?.[key] ?? additional;
    if (nonNullableNull(value[key], schema) && schema!.default === undefined) delete value[key];
  }
  for (const [key, property] of Object.entries(s.properties ?? {})) {
    if (property.default !== undefined && (value[key] === undefined || nonNullableNull(value[key], property)))
      value[key] = structuredClone(property.default as Json);
  }
  for (const key of Object.keys(value)) {
    const property = s.properties?.[key];
    if (property) applyDefaults(value[key], property);
    else if (additional) {
      if (nonNullableNull(value[key], additional) && additional.default !== undefined)
        value[key] = structuredClone(additional.default as Json);
      applyDefaults(value[key], additional);
    }
  }
}
