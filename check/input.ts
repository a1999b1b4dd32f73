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

/** What {@link readManifests} read. */
export interface ManifestInput {
  readonly objects: ManifestObject[];
  /** Every file read, in order. */
  readonly files: string[];
  /** Files a directory held that are not manifests: kustomize's own files. */
  readonly skippedFiles: string[];
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
 * The objects of one text (YAML or JSON, any number of documents), with their lines. Documents are read with
 * js-yaml (YAML 1.2 core schema), ten times faster than the \`yaml\` package on a chart's output; a document that
 * js-yaml refuses, one with anchors (\`yaml\` caps alias expansion), a stream with directives, and a List whose
 * item lines cannot be told from the text go through \`yaml\`, which also words the errors.
 */
export function parseManifests(text: string, file: string): ManifestObject[] {
  if (/^%/m.test(text)) return parseWithYaml(text, file, 0);
  return splitDocuments(text).flatMap((chunk) => {
    if (/(^|[\s[{,])&[^\s]/.test(chunk.text)) return parseWithYaml(chunk.text, file, chunk.firstLine - 1);
    let value: unknown;
    try {
      value = loadYaml(chunk.text, { schema: CORE_SCHEMA, filename: file });
    } catch {
      return parseWithYaml(chunk.text, file, chunk.firstLine - 1);
    }
    if (value === null || value === undefined) return [];
    const location = { file, line: contentLine(chunk), template: helmTemplate(chunk) };
    const object = kubeObject(value, location);
    if (!isListKind(object)) return [{ object, location }];
    const items = object.items as unknown[];
    const itemLines = blockListItemLines(chunk, items.length);
    if (itemLines === undefined) return parseWithYaml(chunk.text, file, chunk.firstLine - 1);
    return items.map((item, i) => {
      const itemLocation = { ...location, line: itemLines[i] };
      return { object: kubeObject(item, itemLocation), location: itemLocation };
    });
  });
}

/** The objects of a text through the \`yaml\` package, its lines offset by \`lineOffset\`. */
function parseWithYaml(text: string, file: string, lineOffset: number): ManifestObject[] {
  const lineCounter = new LineCounter();
  const lineAt = (offset: number) => lineCounter.linePos(offset).line + lineOffset;
  const objects: ManifestObject[] = [];
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
    if (isListKind(object)) {
      // A List (kubectl get -o yaml) or a typed list (ServiceList): its items are the objects.
      const itemNodes = isMap(contents) ? contents.get('items', true) : undefined;
      (object.items as unknown[]).forEach((item, index) => {
        const itemNode = isSeq(itemNodes) ? itemNodes.items[index] : undefined;
        const itemRange = (itemNode as { range?: [number, number, number] } | undefined)?.range;
        const itemLine = itemRange ? lineAt(itemRange[0]) : line;
        objects.push({
          object: kubeObject(item, { file, line: itemLine }),
          location: { file, line: itemLine, template },
        });
      });
      continue;
    }
    objects.push({ object, location: { file, line, template } });
  }
  return objects;
}

/** `value` as a Kubernetes object, or an error naming what it lacks. */
function kubeObject(value: unknown, location: Pick<SourceLocation, 'file' | 'line'>): KubeObject {
  if (!isRecord(value)) {
    throw new InputError(
      `a document must be a Kubernetes object (a mapping with apiVersion and kind), not ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`,
      location,
    );
  }
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

/** The manifest files under `dir`, sorted, kustomize's own files apart. */
async function walk(dir: string, files: string[], skipped: string[]): Promise<void> {
  const entries = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const entryPath = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.') && entry.name !== 'node_modules') await walk(entryPath, files, skipped);
    } else if (KUSTOMIZE_FILES.has(entry.name)) {
      skipped.push(entryPath);
    } else if (entry.isFile() && MANIFEST_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) {
      files.push(entryPath);
    }
  }
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

/** Every object in `paths` (files, directories, `-`), in the order given. */
export async function readManifests(paths: readonly string[], options: ReadOptions = {}): Promise<ManifestInput> {
  if (paths.length === 0) throw new InputError('no input: give files, directories, or - for standard input');
  const limit = options.maxBytes ?? MAX_INPUT_BYTES;
  const objects: ManifestObject[] = [];
  const files: string[] = [];
  const skippedFiles: string[] = [];
  for (const given of paths) {
    if (given === '-') {
      files.push(STDIN);
      objects.push(...parseManifests(await readStream(options.stdin ?? process.stdin, limit), STDIN));
      continue;
    }
    const stat = await fs.stat(given).catch((error: NodeJS.ErrnoException) => {
      throw new InputError(`${given}: ${error.code === 'ENOENT' ? 'no such file or directory' : error.message}`);
    });
    const found: string[] = [];
    if (stat.isDirectory()) {
      await walk(given, found, skippedFiles);
      if (found.length === 0)
        throw new InputError(`${given}: a directory without manifests (no .yaml, .yml or .json files below it)`);
    } else {
      found.push(given);
    }
    for (const file of found) {
      files.push(file);
      objects.push(...parseManifests(await readFileCapped(file, limit), file));
    }
  }
  if (objects.length === 0) throw new InputError(`no Kubernetes objects in ${files.join(', ')}`);
  return { objects, files, skippedFiles };
}
