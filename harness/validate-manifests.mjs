// Validates Kubernetes objects against published schemas. Kinds defined by a CRD in upstream/crds (Istio, the
// Gateway API, Envoy Gateway, Argo CD) against that CRD's openAPIV3Schema for the object's version, with unknown
// fields rejected where the schema does not preserve them (as kubectl's strict field validation does); the rest
// against kubernetes-models (core) and @kubernetes-models/cert-manager. Those packages ship ES modules, so
// jest (CommonJS) runs this file as a child process: objects as a JSON array on stdin, one result per object on
// stdout. An object with no known schema is an error, never a pass.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import Ajv from 'ajv';
import { parseAllDocuments } from 'yaml';

const CRDS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'upstream', 'crds');

/** Every served version of the CRDs in upstream/crds of these API groups, by `group/version/kind`. */
function crdSchemas(groups) {
  const schemas = new Map();
  for (const file of readdirSync(CRDS).filter((name) => name.endsWith('.yaml'))) {
    const text = readFileSync(path.join(CRDS, file), 'utf8');
    // Parsing is most of the run time: skip the files that define none of these groups.
    if (!groups.some((group) => text.includes(`group: ${group}\n`))) continue;
    for (const doc of parseAllDocuments(text)) {
      const crd = doc.toJS();
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      for (const version of crd.spec.versions.filter((v) => v.served)) {
        schemas.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, { file, schema: version.schema.openAPIV3Schema });
      }
    }
  }
  return schemas;
}

/** The schema with `additionalProperties: false` wherever it lists properties and does not keep unknown fields. */
function strict(schema) {
  if (Array.isArray(schema)) return schema.map(strict);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, key === 'properties' ? Object.fromEntries(Object.entries(value).map(([name, s]) => [name, strict(s)])) : strict(value)]));
  if (copy.properties && copy.additionalProperties === undefined && !copy['x-kubernetes-preserve-unknown-fields']) copy.additionalProperties = false;
  return copy;
}

// OpenAPI formats (int32, date-time, …) and the x-kubernetes-* keywords are the API server's to check, not JSON Schema's.
const ajv = new Ajv({ strict: false, validateFormats: false });
const validators = new Map();

/** The API server accepts apiVersion, kind and metadata on every object, whether or not a CRD's schema lists them. */
function objectSchema(schema) {
  const always = { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } };
  return { ...schema, properties: { ...always, ...schema.properties } };
}

function validateByCrd(object, key) {
  if (!validators.has(key)) validators.set(key, ajv.compile(strict(objectSchema(crds.get(key).schema))));
  const validate = validators.get(key);
  if (!validate(object)) {
    throw new Error(`${crds.get(key).file}: ${validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`).join(', ')}`);
  }
}

function schemaModule(group, version) {
  if (group === '') return `kubernetes-models/${version}`;
  if (group.endsWith('cert-manager.io')) return `@kubernetes-models/cert-manager/${group}/${version}`;
  return `kubernetes-models/${group}/${version}`;
}

const groupVersion = (apiVersion) => (apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion]);
const objects = JSON.parse(readFileSync(0, 'utf8'));
const crds = crdSchemas([...new Set(objects.map((object) => groupVersion(String(object.apiVersion))[0]).filter((group) => group !== ''))]);
const results = [];
for (const object of objects) {
  const subject = `${object.apiVersion} ${object.kind} ${object.metadata?.namespace ?? ''}/${object.metadata?.name}`;
  try {
    const [group, version] = groupVersion(object.apiVersion);
    const crdKey = `${group}/${version}/${object.kind}`;
    if (crds.has(crdKey)) {
      validateByCrd(object, crdKey);
    } else {
      const models = await import(schemaModule(group, version)).catch(() => ({}));
      const Model = models[object.kind];
      if (typeof Model !== 'function') throw new Error(`no schema for kind ${object.kind} in upstream/crds or ${schemaModule(group, version)}`);
      new Model(object).validate();
    }
    results.push({ subject, error: null });
  } catch (error) {
    results.push({ subject, error: error.message });
  }
}
process.stdout.write(JSON.stringify(results));
