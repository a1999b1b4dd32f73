/**
 * The Kubernetes L1 classes the construct library ships in lib/imports/k8s.ts, generated offline as
 * `cdk8s import k8s@<version>` generates them (cdk8s-cli's own json2jsii code generation), from the definitions
 * vendored in upstream/schemas, and trimmed to the kinds the library renders: json2jsii then emits only the types
 * those kinds reach, so the package carries no cdk8s-plus and no unused API.
 *
 *   node scripts/import-k8s.js <definitions.json> <output.ts> <Kind> [<Kind> ...]
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
// cdk8s-cli's package exports hide its code generator; its files are reached by path.
const cliModule = (name) => path.join(path.dirname(require.resolve('cdk8s-cli/package.json')), 'lib', name);
const { CodeMaker } = require('codemaker');
const { TypeGenerator } = require('json2jsii');
const { emitHeader, generateConstruct, getPropsTypeName, getTypeName } = require(cliModule('import/codegen'));
const { findApiObjectDefinitions } = require(cliModule('import/k8s'));
const { parseApiTypeName, safeParseJsonSchema } = require(cliModule('import/k8s-util'));

async function main([definitionsFile, outputFile, ...kinds]) {
  if (!definitionsFile || !outputFile || kinds.length === 0) {
    throw new Error('usage: import-k8s.js <definitions.json> <output.ts> <Kind> [<Kind> ...]');
  }
  const schema = safeParseJsonSchema(fs.readFileSync(definitionsFile, 'utf8'));
  const all = findApiObjectDefinitions(schema, 'Kube');
  const unknown = kinds.filter((kind) => !all.some((o) => o.kind === kind));
  if (unknown.length > 0) throw new Error(`import-k8s: ${definitionsFile} defines no kind ${unknown.join(', ')}`);
  const selected = all.filter((o) => kinds.includes(o.kind));
  // As ImportKubernetesApi.generateTypeScript (cdk8s-cli lib/import/k8s.js) does, for the selected kinds only.
  const typeGenerator = new TypeGenerator({
    definitions: schema.definitions,
    renderTypeName: (def) => {
      const parsed = parseApiTypeName(def);
      return parsed.version ? getTypeName(false, parsed.basename, parsed.version.raw) : parsed.basename;
    },
  });
  for (const o of selected) typeGenerator.addDefinition(o.fqn, { $ref: `#/definitions/${getPropsTypeName(o)}` });
  for (const o of selected) generateConstruct(typeGenerator, o);
  const code = new CodeMaker();
  code.openFile('k8s.ts');
  emitHeader(code, false);
  code.line(typeGenerator.render());
  code.closeFile('k8s.ts');
  const [file] = await code.save(path.join(require('node:os').tmpdir(), `import-k8s-${process.pid}`));
  fs.copyFileSync(file, outputFile);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error.message);
  process.exit(2);
});
