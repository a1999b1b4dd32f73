// Validates the objects check/validation has no schema for (its data holds the Kubernetes definitions and the CRDs in
// upstream/crds: Istio, the Gateway API, Envoy Gateway and Argo CD) against published schemas:
// @kubernetes-models/cert-manager (4.4.4: its engines allow Node 20, unlike 5 and 6). These packages are ESM-only, so jest (CommonJS) runs this file as a child process:
// objects as a JSON array on stdin, one result per object on stdout. An object with no known schema is an error,
// never a pass.
import { readFileSync } from 'node:fs';

const MODELS = {
  'cert-manager.io': '@kubernetes-models/cert-manager',
  'acme.cert-manager.io': '@kubernetes-models/cert-manager',
};

function schemaModule(apiVersion) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (!MODELS[group])
    throw new Error(
      `no schema for ${apiVersion}: neither check/validation nor ${Object.values(MODELS).join(', ')} have one`,
    );
  return `${MODELS[group]}/${group}/${version}`;
}

const objects = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const object of objects) {
  const subject = `${object.apiVersion} ${object.kind} ${object.metadata?.namespace ?? ''}/${object.metadata?.name}`;
  try {
    const models = await import(schemaModule(object.apiVersion));
    const Model = models[object.kind];
    if (typeof Model !== 'function')
      throw new Error(`no schema for kind ${object.kind} in ${schemaModule(object.apiVersion)}`);
    new Model(object).validate();
    results.push({ subject, error: null });
  } catch (error) {
    results.push({ subject, error: error.message });
  }
}
process.stdout.write(JSON.stringify(results));
