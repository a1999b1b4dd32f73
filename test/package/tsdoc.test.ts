/**
 * The TSDoc a construct user reads in their editor and in API.md: every exported construct class has a doc
 * comment, and so does every prop of every exported interface (`*Props`, the attributes of what the platform runs,
 * the interfaces constructs take) and of the interfaces those take (`GrpcRetryPolicy`, `ContainerImage`, ...); every
 * optional prop says what leaving it out means with `@default`.
 * Read from lib/index.ts's exports with the TypeScript compiler, as the package's .d.ts present them.
 */
import * as path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');
const LIB = path.join(ROOT, 'lib') + path.sep;
/** The generated L1 classes: their docs are Kubernetes' own, and their defaults the API server's. */
const GENERATED = path.join(ROOT, 'lib', 'imports') + path.sep;

const config = ts.getParsedCommandLineOfConfigFile(
  path.join(ROOT, 'lib', 'tsconfig.json'),
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  },
);
if (config === undefined) throw new Error('lib/tsconfig.json could not be read');
const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
const checker = program.getTypeChecker();

const documentation = (symbol: ts.Symbol) => ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
const declaredInLib = (symbol: ts.Symbol) =>
  (symbol.declarations ?? []).some((d) => {
    const file = path.resolve(d.getSourceFile().fileName);
    return file.startsWith(LIB) && !file.startsWith(GENERATED);
  });

function libraryExports(): ts.Symbol[] {
  const index = program.getSourceFile(path.join(ROOT, 'lib', 'index.ts'));
  const module = index && checker.getSymbolAtLocation(index);
  if (module === undefined) throw new Error('lib/index.ts is not a module');
  return checker
    .getExportsOfModule(module)
    .map((symbol) => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol));
}

/** Whether a class extends `Construct` from the constructs package, directly or through other classes. */
function isConstruct(type: ts.Type): boolean {
  return (checker.getBaseTypes(type as ts.InterfaceType) ?? []).some((base) => {
    const declaration = base.symbol?.declarations?.[0];
    return (
      (base.symbol?.name === 'Construct' &&
        declaration?.getSourceFile().fileName.includes('/node_modules/constructs/')) ||
      isConstruct(base)
    );
  });
}

/** The interfaces declared in lib/ that a prop's type names: itself, an array's element, a union's members. */
function libInterfaces(type: ts.Type): ts.Symbol[] {
  if (type.isUnion()) return type.types.flatMap(libInterfaces);
  if (checker.isArrayType(type)) return checker.getTypeArguments(type as ts.TypeReference).flatMap(libInterfaces);
  const symbol = type.getSymbol();
  return symbol !== undefined && symbol.flags & ts.SymbolFlags.Interface && declaredInLib(symbol) ? [symbol] : [];
}

const exported = libraryExports();
const constructs = exported.filter(
  (symbol) => symbol.flags & ts.SymbolFlags.Class && isConstruct(checker.getDeclaredTypeOfSymbol(symbol)),
);

// Every exported interface of lib/ (props, attributes of imported gateways, the interfaces constructs take), then every
// lib/ interface reachable from their props (breadth first, each once).
const propsInterfaces = exported.filter((symbol) => symbol.flags & ts.SymbolFlags.Interface && declaredInLib(symbol));
for (let i = 0; i < propsInterfaces.length; i++) {
  for (const property of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(propsInterfaces[i]))) {
    for (const reached of libInterfaces(checker.getNonNullableType(checker.getTypeOfSymbol(property)))) {
      if (!propsInterfaces.includes(reached)) propsInterfaces.push(reached);
    }
  }
}

test('finds the constructs and props of lib/index.ts', () => {
  expect(constructs.map((symbol) => symbol.name)).toEqual(
    expect.arrayContaining(['GrpcApp', 'IstioIlbGateway', 'GrpcVirtualService']),
  );
  expect(propsInterfaces.map((symbol) => symbol.name)).toEqual(
    expect.arrayContaining([
      'GrpcAppProps',
      'IstioIlbGatewayProps',
      'GrpcRetryPolicy',
      'ContainerImage',
      'IstioGatewayAttributes',
      'GrpcGatewayAttributes',
      'IGrpcGateway',
    ]),
  );
});

test('every exported construct class has a doc comment', () => {
  expect(
    constructs.filter((symbol) => documentation(symbol) === '').map((symbol) => `${symbol.name}: no doc comment`),
  ).toEqual([]);
});

test('every prop has a doc comment, and every optional prop a @default', () => {
  const missing = propsInterfaces.flatMap((owner) =>
    checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(owner)).flatMap((property) => {
      const name = `${owner.name}.${property.name}`;
      const problems: string[] = [];
      if (documentation(property) === '') problems.push(`${name}: no doc comment`);
      const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
      const defaultTag = property.getJsDocTags(checker).find((tag) => tag.name === 'default');
      if (optional && (defaultTag === undefined || ts.displayPartsToString(defaultTag.text).trim() === ''))
        problems.push(`${name}: optional without @default`);
      return problems;
    }),
  );
  expect(missing).toEqual([]);
});
