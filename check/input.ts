/**
 * Reading what `grpc-lb-check` is given: YAML or JSON files (several documents each), directories (recursively),
 * `List` kinds, and `-` for standard input. Every object keeps where it came from (file and line), and every
 * problem with the input is an {@link InputError} that says where.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CORE_SCHEMA, load as loadYaml } from 'js-yaml';
import { isMap, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';

/** A Kubernetes object as read: anything beyond `apiVersion`, `kind` and `metadata` is unchecked JSON. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly [field: string]: unknown;
}

/** Where an object was read. */
export interface SourceLocation {
  /** The path as given (relative paths stay relative), or `STDIN` for standard input. */
  readonly file: string;
  /** 1-based line of the object's first field. */
  readonly line: number;
  /** The chart template Helm names in its `# Source:` comment above the document, when there is one. */
  readonly template?: string;
}

/** One object of the input, in input order. */
export interface ManifestObject {
  readonly object: KubeObject;
  readonly location: SourceLocation;
}

/** A file (or some documents of one) that is not a set of Kubernetes objects, and what it is instead. */
export interface SkippedFile {
  readonly file: string;
  readonly reason: string;
}

/** What {@link readManifests} read. */
export interface ManifestInput {
  readonly objects: ManifestObject[];
  /** Every file read, in order. */
  readonly files: string[];
  /**
   * What a scan met that is not Kubernetes objects: kustomize's files and the patches they name, Helm charts'
   * metadata, values and templates, and documents with neither apiVersion nor kind (package.json, CI configs, …).
   */
  readonly skipped: SkippedFile[];
}

/** One document that is not a Kubernetes object: neither apiVersion nor kind, or not a mapping at all. */
export interface NotAnObject {
  readonly line: number;
  readonly what: string;
}

/** Input that cannot be checked: not YAML, not a Kubernetes object, too large, or no manifests at all. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly location?: Pick<SourceLocation, 'file' | 'line'>,
  ) {
    super(location === undefined ? message : `${location.file}:${location.line}: ${message}`);
    this.name = 'InputError';
  }
}

/** The name standard input goes by in locations. */
export const STDIN = '<stdin>';

/**
 * The most one file (or standard input) may hold. Kubernetes stores each object in at most 1.5 MiB, and a whole
 * chart's output is a few MiB; past this the input is not a set of manifests, and parsing it would take seconds
 * and hundreds of MiB.
 */
export const MAX_INPUT_BYTES = 16 * 1024 * 1024;

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
// kustomize's own files are build instructions, not objects; `kustomize build` is how to check what they make.
const KUSTOMIZE_FILES = new Set(['kustomization.yaml', 'kustomization.yml', 'Kustomization']);
const KUSTOMIZE_API_GROUP = 'kustomize.config.k8s.io';
// js-yaml and yaml both cap alias expansion; 100 is yaml's default, plenty for manifests and a stop to "billion laughs".
const MAX_ALIAS_COUNT = 100;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const mebibytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** `bytes` undefined: a stream, stopped as soon as it passed the limit. */
function tooLarge(source: string, bytes: number | undefined, limit: number): InputError {
  const size = bytes === undefined ? 'more' : `${mebibytes(bytes)}, more`;
  return new InputError(
    `${source} holds ${size} than the ${mebibytes(limit)} grpc-lb-check reads from one input (Kubernetes objects are at most 1.5 MiB each); split it`,
  );
}

/** A document of a YAML stream: its text, and the line (1-based) its text starts on. */
interface Chunk {
  readonly text: string;
  readonly firstLine: number;
}

// A line starting a document (`---`, optionally followed by content) or ending one (`...`). At column 0 these are
// always markers: the YAML spec forbids them inside a document's content.
const DOCUMENT_MARKER = /^(---|\.\.\.)(?=\s|$)/;

/** The documents of a YAML stream, split at their markers, each with its first line. */
function splitDocuments(text: string): Chunk[] {
  const lines = text.split('\n');
  const chunks: Chunk[] = [];
  let start = 0;
  let current: string[] = [];
  lines.forEach((line, i) => {
    const marker = DOCUMENT_MARKER.exec(line);
    if (marker === null) {
      current.push(line);
      return;
    }
    chunks.push({ text: current.join('\n'), firstLine: start + 1 });
    // Content after `---` on the same line belongs to the next document, in its column.
    current = marker[1] === '---' ? [' '.repeat(3) + line.slice(3)] : [''];
    start = i;
  });
  chunks.push({ text: current.join('\n'), firstLine: start + 1 });
  return chunks;
}

/** Line (1-based, in the whole text) of the chunk's first line that is neither blank nor a comment. */
function contentLine(chunk: Chunk): number {
  const offset = chunk.text.split('\n').findIndex((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  return chunk.firstLine + Math.max(offset, 0);
}

/** Helm's `# Source: <template>` comment above a document, when there is one. */
function helmTemplate(chunk: Chunk): string | undefined {
  for (const line of chunk.text.split('\n')) {
    if (line.trim() === '' || line.trim() === '---') continue;
    if (!line.trimStart().startsWith('#')) return undefined;
    const match = /^\s*#\s*Source:\s*(\S+)/.exec(line);
    if (match) return match[1];
  }
  return undefined;
}

const isListKind = (object: KubeObject) => /^[A-Za-z]*List$/.test(object.kind) && Array.isArray(object.items);

/**
 * The lines of a block-style List's items (`items:` at column 0, then `- ` entries at one indentation), or
 * undefined when the document is not written that way.
 */
function blockListItemLines(chunk: Chunk, count: number): number[] | undefined {
  const lines = chunk.text.split('\n');
  const itemsAt = lines.findIndex((line) => /^items:\s*$/.test(line));
  if (itemsAt < 0) return undefined;
  const first = lines.slice(itemsAt + 1).find((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  const indent = first === undefined ? undefined : /^(\s*)- /.exec(first)?.[1];
  if (indent === undefined) return undefined;
  const starts: number[] = [];
  for (let i = itemsAt + 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith(`${indent}- `) || line === `${indent}-`) starts.push(chunk.firstLine + i);
    else if (
      line.trim() !== '' &&
      !line.trimStart().startsWith('#') &&
      !line.startsWith(`${indent} `) &&
      !(indent === '' && line.startsWith(' '))
    )
      break;
  }
  return starts.length === count ? starts : undefined;
}

/**
 * The objects of one text (YAML or JSON, any number of documents), with their lines; documents that are not objects
 * (neither apiVersion nor kind) are left out. See {@link parseDocuments}.
 */
export function parseManifests(text: string, file: string): ManifestObject[] {
  return parseDocuments(text, file).objects;
}

/**
 * The documents of one text (YAML or JSON, any number of them): the Kubernetes objects with their lines, and the
 * documents that are not objects. Documents are read with js-yaml (YAML 1.2 core schema), ten times faster than the
 * \`yaml\` package on a chart's output; a document that js-yaml refuses, one with anchors (\`yaml\` caps alias
 * expansion), a stream with directives, and a List whose item lines cannot be told from the text go through \`yaml\`,
 * which also words the errors. A document that claims to be an object (apiVersion or kind) and is not one is an
 * {@link InputError}.
 */
export function parseDocuments(text: string, file: string): { objects: ManifestObject[]; notObjects: NotAnObject[] } {
  const objects: ManifestObject[] = [];
  const notObjects: NotAnObject[] = [];
  const add = (parsed: Parsed) => {
    objects.push(...parsed.objects);
    notObjects.push(...parsed.notObjects);
  };
  if (/^%/m.test(text)) {
    add(parseWithYaml(text, file, 0));
    return { objects, notObjects };
  }
  for (const chunk of splitDocuments(text)) {
    if (/(^|[\s[{,])&[^\s]/.test(chunk.text)) {
      add(parseWithYaml(chunk.text, file, chunk.firstLine - 1));
      continue;
    }
    let value: unknown;
    try {
      value = loadYaml(chunk.text, { schema: CORE_SCHEMA, filename: file });
    } catch {
      add(parseWithYaml(chunk.text, file, chunk.firstLine - 1));
      continue;
    }
    if (value === null || value === undefined) continue;
    const location = { file, line: contentLine(chunk), template: helmTemplate(chunk) };
    const object = kubeObject(value, location);
    if (typeof object === 'string') {
      notObjects.push({ line: location.line, what: object });
      continue;
    }
    if (!isListKind(object)) {
      objects.push({ object, location });
      continue;
    }
    const items = object.items as unknown[];
    const itemLines = blockListItemLines(chunk, items.length);
    if (itemLines === undefined) {
      add(parseWithYaml(chunk.text, file, chunk.firstLine - 1));
      continue;
    }
    items.forEach((item, i) => {
      const itemLocation = { ...location, line: itemLines[i] };
      objects.push({ object: listItem(item, itemLocation), location: itemLocation });
    });
  }
  return { objects, notObjects };
}

interface Parsed {
  readonly objects: ManifestObject[];
  readonly notObjects: NotAnObject[];
}

/** The objects of a text through the \`yaml\` package, its lines offset by \`lineOffset\`. */
function parseWithYaml(text: string, file: string, lineOffset: number): Parsed {
  const lineCounter = new LineCounter();
  const lineAt = (offset: number) => lineCounter.linePos(offset).line + lineOffset;
  const objects: ManifestObject[] = [];
  const notObjects: NotAnObject[] = [];
  for (const doc of parseAllDocuments(text, { lineCounter, prettyErrors: false }) as Document[]) {
    const error = doc.errors[0];
    if (error !== undefined) {
      throw new InputError(`not YAML or JSON: ${error.message.split('\n')[0]}`, {
        file,
        line: (error.linePos?.[0].line ?? lineCounter.linePos(error.pos[0]).line) + lineOffset,
      });
    }
    const contents = doc.contents;
    const line = contents?.range ? lineAt(contents.range[0]) : 1 + lineOffset;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (cause) {
      throw new InputError(`cannot read this document: ${(cause as Error).message}`, { file, line });
    }
    if (value === null || value === undefined) continue; // an empty document, as between two \`---\`
    const comment = isMap(contents) ? contents.commentBefore : undefined;
    const template = /^\s*Source:\s*(\S+)/m.exec(comment ?? doc.commentBefore ?? '')?.[1];
    const object = kubeObject(value, { file, line });
    if (typeof object === 'string') {
      notObjects.push({ line, what: object });
      continue;
    }
    if (isListKind(object)) {
      // A List (kubectl get -o yaml) or a typed list (ServiceList): its items are the objects.
      const itemNodes = isMap(contents) ? contents.get('items', true) : undefined;
      (object.items as unknown[]).forEach((item, index) => {
        const itemNode = isSeq(itemNodes) ? itemNodes.items[index] : undefined;
        const itemRange = (itemNode as { range?: [number, number, number] } | undefined)?.range;
        const itemLine = itemRange ? lineAt(itemRange[0]) : line;
        objects.push({
          object: listItem(item, { file, line: itemLine }),
          location: { file, line: itemLine, template },
        });
      });
      continue;
    }
    objects.push({ object, location: { file, line, template } });
  }
  return { objects, notObjects };
}

/** An item of a List: it must be an object. */
function listItem(value: unknown, location: Pick<SourceLocation, 'file' | 'line'>): KubeObject {
  const object = kubeObject(value, location);
  if (typeof object === 'string')
    throw new InputError(`an item of a List must be a Kubernetes object, not ${object}`, location);
  return object;
}

/**
 * `value` as a Kubernetes object; what it is instead when it does not claim to be one (neither apiVersion nor kind:
 * a values file, a package.json, a JSON 6902 patch list); an error naming what it lacks when it claims to be one.
 */
function kubeObject(value: unknown, location: Pick<SourceLocation, 'file' | 'line'>): KubeObject | string {
  if (!isRecord(value))
    return Array.isArray(value) ? 'a list, not an object' : `${JSON.stringify(value)}, not an object`;
  if (value.apiVersion === undefined && value.kind === undefined) return 'a mapping without apiVersion or kind';
  for (const field of ['apiVersion', 'kind'] as const) {
    if (typeof value[field] !== 'string' || value[field] === '') {
      throw new InputError(
        `a document without ${field}: every Kubernetes object needs apiVersion and kind (found ${JSON.stringify(value[field] ?? null)})`,
        location,
      );
    }
  }
  if (value.metadata !== undefined && !isRecord(value.metadata)) {
    throw new InputError(`metadata must be a mapping, not ${JSON.stringify(value.metadata)}`, location);
  }
  if (String(value.apiVersion).startsWith(`${KUSTOMIZE_API_GROUP}/`)) {
    throw new InputError(
      `this is a kustomize ${value.kind}, not a Kubernetes object: check what it builds with \`kustomize build <dir> | grpc-lb-check -\``,
      location,
    );
  }
  return value as unknown as KubeObject;
}

/** A directory's manifest files, and what the scan skips without reading it as objects. */
interface Scan {
  readonly files: string[];
  readonly skipped: SkippedFile[];
  /** The kustomization files met, for the patches they name. */
  readonly kustomizations: string[];
}

const isManifestFile = (name: string) => MANIFEST_EXTENSIONS.has(path.extname(name).toLowerCase());

/** The manifest files under `dir`, sorted: kustomize's own files and Helm charts' files apart. */
async function walk(dir: string, scan: Scan): Promise<void> {
  const entries = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  // A Helm chart (https://helm.sh/docs/topics/charts/): Chart.yaml, values files and templates/ (and charts/, its
  // subcharts) are what `helm template` renders objects from, not objects.
  const chart = entries.some((e) => e.isFile() && HELM_CHART_FILES.has(e.name));
  for (const entry of entries) {
    const entryPath = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      if (chart && HELM_CHART_DIRECTORIES.has(entry.name)) {
        scan.skipped.push({ file: entryPath, reason: HELM_TEMPLATES });
        continue;
      }
      await walk(entryPath, scan);
    } else if (!entry.isFile() || !isManifestFile(entry.name)) {
      continue;
    } else if (KUSTOMIZE_FILES.has(entry.name)) {
      scan.skipped.push({ file: entryPath, reason: "kustomize's own file (check what `kustomize build` makes)" });
      scan.kustomizations.push(entryPath);
    } else if (HELM_CHART_FILES.has(entry.name)) {
      scan.skipped.push({ file: entryPath, reason: "a Helm chart's metadata" });
    } else if (chart && /^values.*\.ya?ml$/.test(entry.name)) {
      scan.skipped.push({ file: entryPath, reason: 'Helm values (check what `helm template` renders)' });
    } else {
      scan.files.push(entryPath);
    }
  }
}

const HELM_CHART_FILES = new Set(['Chart.yaml', 'Chart.yml']);
const HELM_CHART_DIRECTORIES = new Set(['templates', 'charts']);
const HELM_TEMPLATES = "a Helm chart's templates (check what `helm template` renders)";

/**
 * The files a kustomization names as patches (`patches[].path`, `patchesStrategicMerge`, `patchesJson6902[].path`;
 * kustomize v5 api/types/kustomization.go): fragments kustomize merges into the objects it builds, not objects.
 */
async function kustomizePatches(kustomization: string): Promise<string[]> {
  let config: unknown;
  try {
    config = loadYaml(await fs.readFile(kustomization, 'utf8'), { schema: CORE_SCHEMA });
  } catch {
    return []; // kustomize's to reject; the patches, if any, are then read as documents
  }
  const fields = isRecord(config) ? config : {};
  const listOf = (value: unknown) => (Array.isArray(value) ? value : []);
  const paths = [
    // `patches` entries are { path, target } or, in older kustomizations, the path itself; an entry with a line
    // break is an inline patch, not a path.
    ...[...listOf(fields.patches), ...listOf(fields.patchesStrategicMerge)].map((p) =>
      isRecord(p) ? p.path : typeof p === 'string' && !p.includes('\n') ? p : undefined,
    ),
    ...listOf(fields.patchesJson6902).map((p) => (isRecord(p) ? p.path : undefined)),
  ];
  return paths
    .filter((p): p is string => typeof p === 'string')
    .map((p) => path.resolve(path.dirname(kustomization), p));
}

async function readFileCapped(file: string, limit: number): Promise<string> {
  const { size } = await fs.stat(file);
  if (size > limit) throw tooLarge(file, size, limit);
  return fs.readFile(file, 'utf8');
}

/** Standard input, refusing more than `limit` bytes as soon as they arrive. */
export async function readStream(stream: AsyncIterable<Buffer | string>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    bytes += buffer.length;
    if (bytes > limit) throw tooLarge('standard input', undefined, limit);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export interface ReadOptions {
  /** What `-` reads. @default process.stdin */
  readonly stdin?: AsyncIterable<Buffer | string>;
  /** @default MAX_INPUT_BYTES */
  readonly maxBytes?: number;
}

/** Every object in `paths` (files, directories, `-`), in the order given, and what was skipped. */
export async function readManifests(paths: readonly string[], options: ReadOptions = {}): Promise<ManifestInput> {
  if (paths.length === 0) throw new InputError('no input: give files, directories, or - for standard input');
  const limit = options.maxBytes ?? MAX_INPUT_BYTES;
  const objects: ManifestObject[] = [];
  const files: string[] = [];
  const scan: Scan = { files: [], skipped: [], kustomizations: [] };
  const given: Array<{ file: string } | { stdin: true }> = [];
  for (const input of paths) {
    if (input === '-') {
      given.push({ stdin: true });
      continue;
    }
    const stat = await fs.stat(input).catch((error: NodeJS.ErrnoException) => {
      throw new InputError(`${input}: ${error.code === 'ENOENT' ? 'no such file or directory' : error.message}`);
    });
    if (!stat.isDirectory()) {
      given.push({ file: input });
      continue;
    }
    const below: Scan = { files: [], skipped: [], kustomizations: [] };
    await walk(input, below);
    if (below.files.length === 0 && below.skipped.length === 0)
      throw new InputError(`${input}: a directory without manifests (no .yaml, .yml or .json files below it)`);
    scan.skipped.push(...below.skipped);
    scan.kustomizations.push(...below.kustomizations);
    given.push(...below.files.map((file) => ({ file })));
  }
  const patches = new Map<string, string>();
  for (const kustomization of scan.kustomizations)
    for (const patch of await kustomizePatches(kustomization)) patches.set(patch, kustomization);
  const skipped = [...scan.skipped];
  const read = (file: string, text: string) => {
    const documents = parseDocuments(text, file);
    objects.push(...documents.objects);
    if (documents.notObjects.length === 0) return;
    const [first] = documents.notObjects;
    skipped.push({
      file,
      reason:
        documents.objects.length === 0
          ? `not a Kubernetes object: ${first.what}`
          : `${documents.notObjects.length} of its documents are not Kubernetes objects (line ${first.line}: ${first.what})`,
    });
  };
  for (const entry of given) {
    if ('stdin' in entry) {
      files.push(STDIN);
      read(STDIN, await readStream(options.stdin ?? process.stdin, limit));
      continue;
    }
    const kustomization = patches.get(path.resolve(entry.file));
    if (kustomization !== undefined) {
      skipped.push({ file: entry.file, reason: `a kustomize patch named by ${kustomization}` });
      continue;
    }
    files.push(entry.file);
    read(entry.file, await readFileCapped(entry.file, limit));
  }
  if (objects.length === 0) {
    const why = skipped.length === 0 ? '' : ` (skipped: ${skipped.map((s) => `${s.file}: ${s.reason}`).join('; ')})`;
    throw new InputError(`no Kubernetes objects in ${[...files, ...scan.skipped.map((s) => s.file)].join(', ')}${why}`);
  }
  return { objects, files, skipped: skipped.sort((a, b) => a.file.localeCompare(b.file)) };
}
