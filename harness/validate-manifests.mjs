// Validates Kubernetes objects against published schemas: kubernetes-models (core), @kubernetes-models/istio
// (Istio v1 and v1beta1 share schemas), @kubernetes-models/cert-manager, @kubernetes-models/gateway-api and
// @kubernetes-models/argo-cd. These packages are ESM-only, so
// jest (CommonJS) runs this file as a child process: objects as a JSON array on stdin, one result per object on
// stdout. An object with no known schema is an error, never a pass.
import { readFileSync } from 'node:fs';

function schemaModule(apiVersion) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === '') return `kubernetes-models/${version}`;
  if (group.endsWith('.istio.io')) return `@kubernetes-models/istio/${group}/${version}`;
  if (group.endsWith('cert-manager.io')) return `@kubernetes-models/cert-manager/${group}/${version}`;
  if (group === 'gateway.networking.k8s.io') return `@kubernetes-models/gateway-api/${group}/${version}`;
  if (group === 'argoproj.io') return `@kubernetes-models/argo-cd/${group}/${version}`;
  return `kubernetes-models/${group}/${version}`;
}

const objects = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const object of objects) {
  const subject = `${object.apiVersion} ${object.kind} ${object.metadata?.namespace ?? ''}/${object.metadata?.name}`;
  try {
    const models = await import(schemaModule(object.apiVersion));
    const Model = models[object.kind];
    if (typeof Model !== 'function') throw new Error(`no schema for kind ${object.kind} in ${schemaModule(object.apiVersion)}`);
    new Model(object).validate();
    results.push({ subject, error: null });
  } catch (error) {
    results.push({ subject, error: error.message });
  }
}
process.stdout.write(JSON.stringify(results));
