/**
 * Reads the README's and docs/' shell steps the way a newcomer runs them, on a fresh cluster and in order, and checks
 * what can be checked without a cluster: every `npm run` line against the script's own argument check, every dist/
 * path, and a model of what each command creates and needs (namespaces, Secrets) against what the rendered manifests
 * in dist/ read. The model names the tools it knows; a command or manifest URL it does not know is reported, so a new
 * step gets modelled (and checked at its tag) before the docs can use it.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { checkTargets } from '../../main';
import { clientSettings } from '../../app/client';
import { optionalFile, parseSettings, type SettingSpec } from '../../app/config';
import { serverSettings } from '../../app/server';
import { main as checkMain } from '../../check/cli';
import { ENVIRONMENTS } from '../../deploy';
import { readManifestDir, type KubeObject } from '../../harness/manifests';
import { ROOT } from '../../harness/processes';
import { environmentArguments } from '../../scripts/environment-arguments';

// ---------------------------------------------------------------------------------------------------------------
// Markdown

export interface CodeBlock {
  readonly lang: string;
  readonly body: string;
}

/** The fenced code blocks of a Markdown text, in order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  return [...markdown.matchAll(/^```(\S*)\n([\s\S]*?)^```/gm)].map((match) => ({ lang: match[1], body: match[2] }));
}

/** The shell blocks (```sh) of a Markdown text, in order. */
export function shellBlocks(markdown: string): string[] {
  return codeBlocks(markdown)
    .filter((block) => block.lang === 'sh' || block.lang === 'bash' || block.lang === 'shell')
    .map((block) => block.body);
}

export interface Section {
  /** The heading's text, without the leading #s. */
  readonly heading: string;
  /** From the heading line to the next heading of the same or a higher level (or the end). */
  readonly text: string;
}

/** The sections of a Markdown text at one heading level (## by default); a # inside a code block is no heading. */
export function sections(markdown: string, level = 2): Section[] {
  const lines = markdown.split('\n');
  const starts: Array<{ index: number; heading: string }> = [];
  let fenced = false;
  lines.forEach((line, index) => {
    if (line.startsWith('```')) fenced = !fenced;
    const match = /^(#+) (.+)$/.exec(line);
    if (!fenced && match !== null && match[1].length <= level) starts.push({ index, heading: match[2] });
  });
  return starts
    .map((start, i) => ({ ...start, end: starts[i + 1]?.index ?? lines.length }))
    .filter((start) => /^#+/.exec(lines[start.index])![0].length === level)
    .map((start) => ({ heading: start.heading, text: lines.slice(start.index, start.end).join('\n') }));
}

/** Markdown without its fenced code blocks. */
export function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '');
}

/** The inline code spans of the prose, whitespace (a span may wrap a line) folded to one space. */
export function inlineCode(markdown: string): string[] {
  return [...prose(markdown).matchAll(/`([^`]+)`/g)].map((match) => match[1].replace(/\s+/g, ' ').trim());
}

// ---------------------------------------------------------------------------------------------------------------
// Shell

/** One simple command: its words, quotes removed, leading `NAME=value` assignments dropped. */
export type Command = readonly string[];
/** Commands joined by `|`. */
export type Pipeline = readonly Command[];

/**
 * The pipelines of a POSIX shell text, as far as the docs use the language: quotes, `$(…)`, comments, line
 * continuations, and `;`, `&&`, `||`, `&` and newlines between pipelines.
 */
export function parseShell(script: string): Pipeline[] {
  const pipelines: Command[][] = [];
  let commands: string[][] = [];
  let words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  let depth = 0;
  const endWord = () => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  const endCommand = () => {
    endWord();
    const start = words.findIndex((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
    if (start !== -1) commands.push(words.slice(start));
    words = [];
  };
  const endPipeline = () => {
    endCommand();
    if (commands.length > 0) pipelines.push(commands);
    commands = [];
  };
  const text = script.replace(/\\\n/g, ' ');
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else word = (word ?? '') + c;
      continue;
    }
    if (depth > 0) {
      if (c === '(') depth++;
      if (c === ')') depth--;
      word = (word ?? '') + c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      word = word ?? '';
    } else if (c === '$' && text[i + 1] === '(') {
      depth = 1;
      word = (word ?? '') + '$(';
      i++;
    } else if (c === '#' && word === undefined) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (c === '\n' || c === ';') {
      endPipeline();
    } else if (c === '&' && (text[i - 1] === '>' || text[i - 1] === '<')) {
      word = (word ?? '') + c;
    } else if (c === '&' || (c === '|' && text[i + 1] === '|')) {
      if (text[i + 1] === c) i++;
      endPipeline();
    } else if (c === '|') {
      endCommand();
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else {
      word = (word ?? '') + c;
    }
  }
  endPipeline();
  return pipelines;
}

/** A pipeline as one line, for messages. */
export function showPipeline(pipeline: Pipeline): string {
  return pipeline.map((command) => command.join(' ')).join(' | ');
}

/** The value of `-n X`, `--namespace X` or `--namespace=X`. */
function namespaceFlag(command: Command): string | undefined {
  for (let i = 0; i < command.length; i++) {
    if (command[i] === '-n' || command[i] === '--namespace') return command[i + 1];
    if (command[i].startsWith('--namespace=')) return command[i].slice('--namespace='.length);
  }
  return undefined;
}

/** The words that are neither flags nor a flag's value (for the flags the modelled commands take values). */
function positionals(command: Command): string[] {
  const takesValue = new Set(['-n', '--namespace', '-f', '--filename', '-k', '--kustomize', '-o', '--output', '--set']);
  const result: string[] = [];
  for (let i = 1; i < command.length; i++) {
    if (takesValue.has(command[i])) i++;
    else if (!command[i].startsWith('-')) result.push(command[i]);
  }
  return result;
}

/** The values of a repeatable flag (`-f a -f b`, `-f=a`). */
function flagValues(command: Command, ...names: string[]): string[] {
  const values: string[] = [];
  for (let i = 0; i < command.length; i++) {
    if (names.includes(command[i]) && command[i + 1] !== undefined) values.push(command[++i]);
    else
      for (const name of names) if (command[i].startsWith(`${name}=`)) values.push(command[i].slice(name.length + 1));
  }
  return values;
}

// ---------------------------------------------------------------------------------------------------------------
// npm run

export interface NpmRun {
  readonly script: string;
  /** What reaches the script: the words after `--`. */
  readonly args: readonly string[];
  /** Words between the script name and `--`, which npm keeps for itself. */
  readonly npmArgs: readonly string[];
  readonly text: string;
}

/** A placeholder such as `<compiled server>` as one word, so that the shell reader keeps it together. */
const foldPlaceholders = (text: string) =>
  text.replace(/<([^<>\n]+)>/g, (_, inner: string) => `<${inner.trim().replace(/\s+/g, '-')}>`);

/** Every `npm run …` command in the shell blocks and inline code of a Markdown text; `[`…`]` marks optional words. */
export function npmRuns(markdown: string): NpmRun[] {
  const texts = [...shellBlocks(markdown), ...inlineCode(markdown).filter((code) => code.includes('npm run '))];
  return texts.flatMap((text) =>
    parseShell(foldPlaceholders(text).replace(/[[\]]/g, ' '))
      .flat()
      .filter((command) => command[0] === 'npm' && command[1] === 'run' && command.length > 2)
      .map((command) => {
        const rest = command.slice(3);
        const dashes = rest.indexOf('--');
        return {
          script: command[2],
          args: dashes === -1 ? [] : rest.slice(dashes + 1),
          npmArgs: dashes === -1 ? rest : rest.slice(0, dashes),
          text: command.join(' '),
        };
      }),
  );
}

/** What a placeholder in a documented command stands for when its arguments are checked. */
const PLACEHOLDERS: Readonly<Record<string, string>> = {
  '<env>': 'gke',
  '<environment>': 'gke',
  '<strategy>': ENVIRONMENTS.gke.strategies[0],
  '<dir>': 'build',
  '<output-dir>': 'build',
  '<compiled-server>': 'build/server.js',
  'PATH...': 'dist',
};

/** The package.json scripts of the repository. */
export const PACKAGE_SCRIPTS: Readonly<Record<string, string>> = (
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;

/** The source file an npm script runs (`node -r … scripts/certs.ts`, `ts-node bench/lb.ts`), if any. */
export function scriptFile(command: string): string | undefined {
  return command
    .split(/\s+/)
    .filter((_, i, words) => words[i - 1] !== '-r')
    .find((word) => /\.(ts|js|sh)$/.test(word));
}

/** The settings with file-valued ones taking any path: the files are made by earlier steps on the reader's machine. */
function anyPath<S extends Record<string, SettingSpec<unknown>>>(specs: S): S {
  return Object.fromEntries(
    Object.entries(specs).map(([key, spec]) => [
      key,
      spec.parser === optionalFile ? { ...spec, parser: { expected: 'a path', parse: (raw: string) => raw } } : spec,
    ]),
  ) as S;
}

/**
 * The scripts whose own argument check runs here: each throws (or resolves to exit status 2) for arguments the
 * script would refuse.
 */
const ARGUMENT_CHECKS: Readonly<Record<string, (args: readonly string[]) => void | Promise<void>>> = {
  synth: (args) => checkTargets(args),
  certs: (args) => void environmentArguments('certs', args),
  endpoints: (args) => void environmentArguments('endpoints', args),
  client: (args) => void parseSettings(anyPath(clientSettings), args, {}),
  server: (args) => void parseSettings(anyPath(serverSettings), args, {}),
  // Runs the checker itself: `npm run check -- dist` takes about a second.
  check: async (args) => {
    const errors: string[] = [];
    const status = await checkMain(
      args,
      { stdin: (async function* () {})(), stdout: () => undefined, stderr: (text) => errors.push(text) },
      {},
    );
    if (status === 2) throw new Error(errors.join('').trim());
  },
  // scripts/import.sh: `${1:-.}`, one optional output directory.
  import: (args) => {
    if (args.length > 1 || args.some((arg) => arg.startsWith('-')))
      throw new Error('usage: npm run import [-- <output dir>]');
  },
};

/**
 * The flags a bench/ or demo/ script declares (tests may not import those folders): its settings' `flag:` names
 * (with `--help`, which the settings parser answers), parseArgs option names, and the flags of its usage line.
 */
export function declaredFlags(source: string, script: string): Set<string> {
  const flags = new Set<string>();
  for (const match of source.matchAll(/\bflag: '([a-z0-9-]+)'/g)) flags.add(match[1]);
  if (/\b(parseSettings|runScript)\(/.test(source) || flags.size > 0) flags.add('help');
  // parseArgs' option shape: `name: { type: 'string' | 'boolean' … }`.
  for (const match of source.matchAll(/'?([a-z][a-z0-9-]*)'?: \{ type: '(?:string|boolean)'/g)) flags.add(match[1]);
  for (const line of source.split('\n').filter((l) => l.includes(`npm run ${script} -- `)))
    for (const match of line.matchAll(/--([a-z][a-z0-9-]*)/g)) flags.add(match[1]);
  return flags;
}

/** What is wrong with one documented `npm run`: an unknown script, arguments it refuses, arguments npm would eat. */
export async function checkNpmRun(
  run: NpmRun,
  scripts: Readonly<Record<string, string>> = PACKAGE_SCRIPTS,
): Promise<string[]> {
  const command = scripts[run.script];
  if (command === undefined) return [`${run.text}: package.json has no script "${run.script}"`];
  if (run.npmArgs.length > 0)
    return [`${run.text}: ${run.npmArgs.join(' ')} goes to npm, not the script (put it after --)`];
  const unknown = run.args.filter((arg) => /^<.*>$|\.\.\.$/.test(arg) && !(arg in PLACEHOLDERS));
  if (unknown.length > 0) return [`${run.text}: no example value for ${unknown.join(', ')} (add it to PLACEHOLDERS)`];
  const args = run.args.map((arg) => PLACEHOLDERS[arg] ?? arg.replace(/<[^<>]+>/g, (p) => PLACEHOLDERS[p] ?? p));
  const check = ARGUMENT_CHECKS[run.script];
  if (check !== undefined) {
    try {
      await check(args);
      return [];
    } catch (error) {
      return [`${run.text}: the script refuses these arguments: ${(error as Error).message}`];
    }
  }
  const file = scriptFile(command);
  if (file !== undefined && /^(bench|demo)\//.test(file)) {
    const flags = declaredFlags(readFileSync(path.join(ROOT, file), 'utf8'), run.script);
    const refused = args.filter((arg) => arg.startsWith('--') && !flags.has(arg.slice(2)));
    return refused.map(
      (flag) => `${run.text}: ${file} declares no ${flag} (it takes ${[...flags].map((f) => `--${f}`).join(', ')})`,
    );
  }
  if (args.length === 0) return [];
  return [
    `${run.text}: "${run.script}" (${command}) takes no arguments here; add its argument check to ARGUMENT_CHECKS`,
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// dist/

/** Every `dist/…` path named in a text. */
export function distPaths(text: string): string[] {
  return [...text.matchAll(/(?<![\w./-])dist\/[^\s`'")\],;|*]*/g)].map((match) => match[0].replace(/[.:]+$/, ''));
}

/** Whether a dist/ path exists; a `<placeholder>` segment stands for any entry. */
export function distPathExists(distPath: string, root = ROOT): boolean {
  const segments = distPath.split('/').filter((segment) => segment !== '');
  const walk = (dir: string, rest: string[]): boolean => {
    if (rest.length === 0) return true;
    const [segment, ...tail] = rest;
    if (/^<[^<>]+>$/.test(segment)) {
      return (
        existsSync(dir) &&
        statSync(dir).isDirectory() &&
        readdirSync(dir).some((entry) => walk(path.join(dir, entry), tail))
      );
    }
    return existsSync(path.join(dir, segment)) && walk(path.join(dir, segment), tail);
  };
  return walk(root, segments);
}

/** The objects a `kubectl apply -f|-k` of a dist/ path creates: a file, or a directory's files in apply order. */
export function manifestsAt(distPath: string, root = ROOT): KubeObject[] {
  const full = path.join(root, distPath);
  if (!existsSync(full)) throw new Error(`${distPath} does not exist`);
  if (statSync(full).isDirectory()) return readManifestDir(full).flatMap((file) => file.objects);
  return parseAllDocuments(readFileSync(full, 'utf8')).map((doc) => doc.toJS() as KubeObject);
}

export interface SecretRef {
  readonly namespace: string;
  readonly name: string;
}
const secretKey = (secret: SecretRef) => `${secret.namespace}/${secret.name}`;

/** Pod specs of the workload kinds. */
function podSpec(object: KubeObject): KubeObject | undefined {
  if (object.kind === 'Pod') return object.spec;
  if (object.kind === 'CronJob') return object.spec?.jobTemplate?.spec?.template?.spec;
  return ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(object.kind)
    ? object.spec?.template?.spec
    : undefined;
}

const podLabels = (object: KubeObject): Record<string, string> =>
  object.kind === 'Pod' ? (object.metadata.labels ?? {}) : (object.spec?.template?.metadata?.labels ?? {});

/** The Secrets the objects read, each with the object that reads it, in the namespace it is read from. */
export function secretReads(objects: readonly KubeObject[]): Array<SecretRef & { readonly by: string }> {
  const reads: Array<SecretRef & { by: string }> = [];
  for (const object of objects) {
    const namespace = object.metadata.namespace ?? 'default';
    const by = `${object.kind} ${namespace}/${object.metadata.name}`;
    const spec = podSpec(object);
    if (spec !== undefined) {
      // A pod reads Secrets from its own namespace (Kubernetes core/v1 SecretVolumeSource, SecretKeySelector).
      for (const volume of spec.volumes ?? []) {
        if (volume.secret?.secretName) reads.push({ namespace, name: volume.secret.secretName, by });
        for (const source of volume.projected?.sources ?? [])
          if (source.secret?.name) reads.push({ namespace, name: source.secret.name, by });
      }
      for (const container of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
        for (const env of container.env ?? [])
          if (env.valueFrom?.secretKeyRef?.name) reads.push({ namespace, name: env.valueFrom.secretKeyRef.name, by });
        for (const from of container.envFrom ?? [])
          if (from.secretRef?.name) reads.push({ namespace, name: from.secretRef.name, by });
      }
    }
    if (object.kind === 'Ingress') {
      // ingress-nginx controller-v1.15.1 internal/ingress/controller/store/store.go: `<ingress namespace>/<secretName>`.
      for (const tls of object.spec?.tls ?? []) if (tls.secretName) reads.push({ namespace, name: tls.secretName, by });
    }
    if (object.kind === 'Gateway' && object.apiVersion.startsWith('gateway.networking.k8s.io/')) {
      // gateway-api v1.6.1 apis/v1/object_reference_types.go SecretObjectReference: no namespace = the Gateway's.
      for (const listener of object.spec?.listeners ?? [])
        for (const ref of listener.tls?.certificateRefs ?? [])
          if ((ref.kind ?? 'Secret') === 'Secret' && (ref.group ?? '') === '')
            reads.push({ namespace: ref.namespace ?? namespace, name: ref.name, by });
    }
    if (object.kind === 'Gateway' && object.apiVersion.startsWith('networking.istio.io/')) {
      // istio 1.30.3 pilot/pkg/model/credentials/resource.go ParseResourceName: `credentialName` without a namespace
      // is read from the namespace of the proxy, i.e. of the gateway workload the Gateway's selector picks.
      const selector: Record<string, string> = object.spec?.selector ?? {};
      const workloads = objects.filter(
        (candidate) =>
          podSpec(candidate) !== undefined &&
          Object.entries(selector).every(([key, value]) => podLabels(candidate)[key] === value),
      );
      for (const server of object.spec?.servers ?? []) {
        const credential: string | undefined = server.tls?.credentialName;
        if (!credential) continue;
        const [first, second] = credential.split('/');
        if (second !== undefined) reads.push({ namespace: first, name: second, by });
        else if (workloads.length === 0) throw new Error(`${by}: its selector picks no workload in these manifests`);
        else
          for (const workload of workloads)
            reads.push({ namespace: workload.metadata.namespace ?? 'default', name: first, by });
      }
    }
  }
  return reads;
}

/** The Secrets the objects make themselves: Secret objects, and cert-manager Certificates' `secretName`. */
export function secretsMade(objects: readonly KubeObject[]): SecretRef[] {
  return objects.flatMap((object) => {
    const namespace = object.metadata.namespace ?? 'default';
    if (object.kind === 'Secret' && object.apiVersion === 'v1') return [{ namespace, name: object.metadata.name }];
    if (object.kind === 'Certificate' && object.apiVersion.startsWith('cert-manager.io/'))
      return [{ namespace, name: object.spec.secretName }];
    return [];
  });
}

/**
 * The objects applying a dist/ path leads to: its own, then, for each Argo CD Application whose source is a dist/
 * path of this repository, what that Application syncs (its destination namespace too, with CreateNamespace=true).
 */
export function appliedObjects(distPath: string, root = ROOT, seen = new Set<string>()): KubeObject[] {
  const key = distPath.replace(/\/+$/, '');
  if (seen.has(key)) return [];
  seen.add(key);
  const objects = manifestsAt(distPath, root);
  return [
    ...objects,
    ...objects
      .filter((object) => object.kind === 'Application' && object.apiVersion.startsWith('argoproj.io/'))
      .filter((app) => typeof app.spec?.source?.path === 'string' && app.spec.source.path.startsWith('dist/'))
      .flatMap((app) => {
        const destination: string | undefined = app.spec.destination?.namespace;
        const creates = (app.spec.syncPolicy?.syncOptions ?? []).includes('CreateNamespace=true') && destination;
        const namespace: KubeObject[] = creates
          ? [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: destination } }]
          : [];
        return [...namespace, ...appliedObjects(app.spec.source.path, root, seen)];
      }),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// What each step does to the cluster

/** Namespaces every cluster starts with. */
export const INITIAL_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/**
 * Manifests the docs apply from a URL, pinned at a tag, with the namespaces they create: read at that tag.
 * Their namespaced objects without a namespace go to `-n`, which must exist.
 */
export const UPSTREAM_MANIFESTS: Readonly<Record<string, { readonly creates: readonly string[] }>> = {
  // kubernetes-sigs/gateway-api v1.6.1 config/crd/standard/: CRDs and the safe-upgrades ValidatingAdmissionPolicy.
  'https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.1/standard-install.yaml': { creates: [] },
  // kubernetes/ingress-nginx controller-v1.15.1 deploy/static/provider/cloud/deploy.yaml: its first object.
  'https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.15.1/deploy/static/provider/cloud/deploy.yaml':
    { creates: ['ingress-nginx'] },
  // argoproj/argo-cd v3.5.1 manifests/install.yaml: no Namespace (its getting_started.md creates `argocd` first).
  'https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/install.yaml': { creates: [] },
};

export interface Effects {
  /** Namespaces that exist afterwards. */
  readonly creates: readonly string[];
  /** Namespaces that must exist before. */
  readonly uses: readonly string[];
  /** Secrets created, by name and namespace. */
  readonly secrets: readonly SecretRef[];
  /** dist/ paths applied. */
  readonly applies: readonly string[];
}

/** The commands that act on the cluster; any other (curl, docker, npm, gcloud, grep) leaves it as it is. */
const CLUSTER_TOOLS = ['kubectl', 'istioctl', 'helm', 'linkerd'];

const NO_EFFECT: Effects = { creates: [], uses: [], secrets: [], applies: [] };
const merge = (...effects: Effects[]): Effects => ({
  creates: effects.flatMap((e) => e.creates),
  uses: effects.flatMap((e) => e.uses),
  secrets: effects.flatMap((e) => e.secrets),
  applies: effects.flatMap((e) => e.applies),
});

/**
 * What one command does, and what it writes to stdout for a `kubectl apply -f -` after it (manifests rendered by
 * `linkerd install`, `helm template`, `kubectl create --dry-run=client -o yaml`). Throws for a manifest URL that
 * UPSTREAM_MANIFESTS does not know.
 */
function commandEffects(command: Command, stdin: Effects): { effects: Effects; stdout: Effects } {
  const [tool] = command;
  if (!CLUSTER_TOOLS.includes(tool)) return { effects: NO_EFFECT, stdout: NO_EFFECT };
  const args = positionals(command);
  const namespace = namespaceFlag(command);
  const uses = namespace === undefined ? [] : [namespace];
  if (tool === 'kubectl') {
    const [verb, sub, name, secretName] = args;
    const dryRun = command.some((word) => word.startsWith('--dry-run'));
    if (verb === 'create' && (sub === 'namespace' || sub === 'ns')) {
      const effects = { ...NO_EFFECT, creates: [name] };
      return dryRun ? { effects: NO_EFFECT, stdout: effects } : { effects, stdout: NO_EFFECT };
    }
    if (verb === 'create' && sub === 'secret') {
      const effects = {
        ...NO_EFFECT,
        uses: [namespace ?? 'default'],
        secrets: [{ namespace: namespace ?? 'default', name: secretName }],
      };
      return dryRun ? { effects: NO_EFFECT, stdout: effects } : { effects, stdout: NO_EFFECT };
    }
    if (verb === 'label' && (sub === 'namespace' || sub === 'ns'))
      return { effects: { ...NO_EFFECT, uses: [name] }, stdout: NO_EFFECT };
    if (verb === 'apply' || (verb === 'create' && flagValues(command, '-f', '--filename').length > 0)) {
      const sources = [...flagValues(command, '-f', '--filename'), ...flagValues(command, '-k', '--kustomize')];
      const effects = sources.map((source): Effects => {
        if (source === '-') return stdin;
        if (/^https?:/.test(source)) {
          const upstream = UPSTREAM_MANIFESTS[source];
          if (upstream === undefined)
            throw new Error(`${source} is not in UPSTREAM_MANIFESTS: check it at its tag and add it`);
          return { ...NO_EFFECT, creates: [...upstream.creates] };
        }
        if (source.startsWith('dist/')) return { ...NO_EFFECT, applies: [source] };
        return NO_EFFECT;
      });
      return { effects: merge({ ...NO_EFFECT, uses }, ...effects), stdout: NO_EFFECT };
    }
    return { effects: { ...NO_EFFECT, uses }, stdout: NO_EFFECT };
  }
  if (tool === 'istioctl' && args[0] === 'install') {
    // istio 1.30.3 operator/pkg/install/install.go installSystemNamespace: creates istio-system unless it exists.
    return { effects: { ...NO_EFFECT, creates: ['istio-system'] }, stdout: NO_EFFECT };
  }
  if (tool === 'helm' && (args[0] === 'install' || args[0] === 'upgrade')) {
    const created = command.includes('--create-namespace');
    const target = namespace ?? 'default';
    return {
      effects: { ...NO_EFFECT, creates: created ? [target] : [], uses: created ? [] : [target] },
      stdout: NO_EFFECT,
    };
  }
  if (tool === 'helm' && args[0] === 'template') return { effects: NO_EFFECT, stdout: NO_EFFECT };
  if (tool === 'linkerd') {
    // linkerd2 version-2.18..2.20 cli/cmd/root.go (defaultLinkerdNamespace, defaultCNINamespace), viz/cmd/root.go:
    // the CLI renders the Namespace of what it installs; `install --crds` renders CRDs only.
    const rendered =
      args[0] === 'install-cni'
        ? ['linkerd-cni']
        : args[0] === 'install' && !command.includes('--crds')
          ? ['linkerd']
          : args[0] === 'viz' && args[1] === 'install'
            ? ['linkerd-viz']
            : undefined;
    if (rendered !== undefined) return { effects: NO_EFFECT, stdout: { ...NO_EFFECT, creates: rendered } };
    return { effects: { ...NO_EFFECT, uses }, stdout: NO_EFFECT };
  }
  return { effects: { ...NO_EFFECT, uses }, stdout: NO_EFFECT };
}

/** What a pipeline does: each command's effects, stdout flowing into the next command's `-f -`. */
export function effectsOf(pipeline: Pipeline): Effects {
  let stdout = NO_EFFECT;
  const effects: Effects[] = [];
  for (const command of pipeline) {
    const result = commandEffects(command, stdout);
    effects.push(result.effects);
    stdout = result.stdout;
  }
  return merge(...effects);
}

/**
 * Runs the steps on a model of a fresh cluster and returns what would go wrong: a namespace used before a step
 * creates it, a dist/ path whose objects read a Secret no earlier step created, and a Secret created where nothing
 * applied in these steps reads it (the wrong namespace, or a name no manifest uses).
 */
export function checkSteps(pipelines: readonly Pipeline[], root = ROOT): string[] {
  const problems: string[] = [];
  const namespaces = new Set(INITIAL_NAMESPACES);
  const created = new Map<string, string>();
  const read = new Map<string, string>();
  for (const pipeline of pipelines) {
    const step = showPipeline(pipeline);
    let effects: Effects;
    try {
      effects = effectsOf(pipeline);
    } catch (error) {
      problems.push(`${step}: ${(error as Error).message}`);
      continue;
    }
    const use = (namespace: string, by: string) => {
      if (!namespaces.has(namespace)) problems.push(`${by}: namespace ${namespace} is used before a step creates it`);
    };
    for (const namespace of effects.uses) use(namespace, step);
    for (const secret of effects.secrets) created.set(secretKey(secret), step);
    for (const namespace of effects.creates) namespaces.add(namespace);
    for (const distPath of effects.applies) {
      let objects: KubeObject[];
      try {
        objects = appliedObjects(distPath, root);
      } catch (error) {
        problems.push(`${step}: ${(error as Error).message}`);
        continue;
      }
      // kubectl applies a directory's files in order: its Namespaces (file 0000) exist before what goes in them.
      for (const object of objects) {
        if (object.kind === 'Namespace') namespaces.add(object.metadata.name);
        else if (object.metadata.namespace !== undefined)
          use(object.metadata.namespace, `${step} (${object.kind} ${object.metadata.name})`);
      }
      const made = new Set(secretsMade(objects).map(secretKey));
      for (const secret of secretReads(objects)) {
        const key = secretKey(secret);
        read.set(key, `${secret.by} in ${distPath}`);
        if (!created.has(key) && !made.has(key))
          problems.push(`${step}: ${secret.by} reads Secret ${key}, which no earlier step creates`);
      }
    }
  }
  for (const [key, step] of created) {
    if (read.has(key)) continue;
    const readHere = [...read.keys()];
    problems.push(
      `${step}: nothing these steps apply reads Secret ${key}${readHere.length > 0 ? ` (they read ${readHere.join(', ')})` : ''}`,
    );
  }
  return problems;
}

/** The `Verify` command of every strategy: the client's last per-pod summary (its header and one row per pod). */
export function clientSummaryCommand(namespace: string, client: string, pods: number): string {
  return `kubectl -n ${namespace} logs deploy/${client} | grep -A${pods} '^summary' | tail -n ${pods + 1}`;
}
