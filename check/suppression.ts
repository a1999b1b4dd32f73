/**
 * Findings a team has decided to live with, and why: on the object, the annotations `grpc-lb-check.io/ignore:
 * "<rule>,<rule>"` and `grpc-lb-check.io/ignore-reason: "<why>"`; for many objects, the `ignore` entries of a config
 * file (`--config`). A suppression without a reason suppresses nothing.
 */
import { promises as fs } from 'node:fs';
import { CORE_SCHEMA, load as loadYaml } from 'js-yaml';
import { describe, type Finding } from './findings';
import type { Graph, ObjectRef } from './graph';
import { InputError } from './input';

export const IGNORE_ANNOTATION = 'grpc-lb-check.io/ignore';
export const IGNORE_REASON_ANNOTATION = 'grpc-lb-check.io/ignore-reason';

/** One `ignore` entry of the config file. */
export interface IgnoreEntry {
  /** A rule id, or `*` for every rule. */
  readonly rule: string;
  /** `Kind namespace/name` (`Kind name` when cluster-scoped), `*` matching any characters; every object when unset. */
  readonly object?: string;
  readonly reason: string;
}

export interface SuppressedFinding {
  readonly finding: Finding;
  readonly reason: string;
  /** Where the suppression is written: the object's annotation, or the config file. */
  readonly by: string;
}

const annotationsOf = (graph: Graph, ref: ObjectRef): Readonly<Record<string, unknown>> =>
  (graph.raw[ref.index]?.metadata?.annotations as Record<string, unknown> | undefined) ?? {};

/** The rules an object's annotation names, and the reason beside it (trimmed; empty when absent). */
export function objectIgnores(graph: Graph, ref: ObjectRef): { rules: string[]; reason: string } | undefined {
  const annotations = annotationsOf(graph, ref);
  const value = annotations[IGNORE_ANNOTATION];
  if (typeof value !== 'string') return undefined;
  const reason = annotations[IGNORE_REASON_ANNOTATION];
  return {
    rules: value
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean),
    reason: typeof reason === 'string' ? reason.trim() : '',
  };
}

/** An object pattern (`Kind namespace/name`, `*` for any characters) as a regular expression. */
export const objectPattern = (object: string): RegExp =>
  new RegExp(`^${object.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

/** Splits findings into those reported and those a reasoned suppression covers. */
export function applySuppressions(
  findings: readonly Finding[],
  graph: Graph,
  entries: readonly IgnoreEntry[],
  configFile?: string,
): { findings: Finding[]; suppressed: SuppressedFinding[] } {
  const patterns = entries.map((entry) => ({
    entry,
    pattern: entry.object === undefined ? undefined : objectPattern(entry.object),
  }));
  const reported: Finding[] = [];
  const suppressed: SuppressedFinding[] = [];
  for (const finding of findings) {
    const ignores = objectIgnores(graph, finding.object);
    if (ignores !== undefined && ignores.reason !== '' && ignores.rules.includes(finding.rule)) {
      suppressed.push({ finding, reason: ignores.reason, by: `annotation ${IGNORE_ANNOTATION}` });
      continue;
    }
    const matching = patterns.find(
      ({ entry, pattern }) =>
        (entry.rule === '*' || entry.rule === finding.rule) &&
        (pattern === undefined || pattern.test(describe(finding.object))),
    );
    if (matching !== undefined) {
      suppressed.push({ finding, reason: matching.entry.reason, by: `${configFile ?? 'config'} ignore` });
      continue;
    }
    reported.push(finding);
  }
  return { findings: reported, suppressed };
}

/** The config file's ignore entries; anything malformed is an InputError naming the file and the entry. */
export async function readConfig(file: string, ruleIds: ReadonlySet<string>): Promise<IgnoreEntry[]> {
  const text = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new InputError(`--config ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
  let config: unknown;
  try {
    config = loadYaml(text, { schema: CORE_SCHEMA, filename: file });
  } catch (error) {
    throw new InputError(`--config ${file}: not YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const fail = (what: string) => new InputError(`--config ${file}: ${what}`);
  if (config === null || config === undefined) return [];
  if (typeof config !== 'object' || Array.isArray(config)) throw fail('must be a mapping with an "ignore" list');
  const { ignore, ...others } = config as Record<string, unknown>;
  if (Object.keys(others).length > 0) throw fail(`unknown field(s) ${Object.keys(others).join(', ')} (only "ignore")`);
  if (ignore === undefined) return [];
  if (!Array.isArray(ignore)) throw fail('"ignore" must be a list of { rule, object, reason }');
  return ignore.map((value, i) => {
    const entry = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
    const { rule, object, reason } = entry;
    if (typeof rule !== 'string' || (rule !== '*' && !ruleIds.has(rule)))
      throw fail(`ignore[${i}].rule ${JSON.stringify(rule ?? null)} is not a rule id (see grpc-lb-check --help)`);
    if (object !== undefined && typeof object !== 'string')
      throw fail(`ignore[${i}].object must be "Kind namespace/name" (with * for any characters)`);
    if (typeof reason !== 'string' || reason.trim() === '')
      throw fail(`ignore[${i}].reason is required: say why the finding is acceptable`);
    const unknown = Object.keys(entry).filter((k) => !['rule', 'object', 'reason'].includes(k));
    if (unknown.length > 0) throw fail(`ignore[${i}] has unknown field(s) ${unknown.join(', ')}`);
    return { rule, object, reason: reason.trim() };
  });
}
