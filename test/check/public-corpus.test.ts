/**
 * grpc-lb-check on manifests it was not written against: files copied byte for byte from public repositories
 * (public/sources.json), checked the way a user would check them (whole folders, with --partial only where the
 * input leaves something out), against hand labels (public/labels.json): the faults it must report, the advisories
 * it may report (true, but not load-balancing faults), its notes, and what it must not report as an error.
 *
 * Two precisions, both asserted: over errors (true errors / all errors), and over every finding (true findings / all
 * findings, errors and warnings; a finding only notErrors matches is false). Notes are left out of the second: an
 * `unknown-kind` warning says the checker has no schema for a kind, a statement about its own coverage that is true of
 * every object of that kind, so counting it would raise precision with findings that judge nothing; they are counted
 * in their own column instead. Recall is labelled faults found at any severity. The figures are printed per
 * repository and per rule.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { objectPattern } from '../../check/suppression';
import { runCheck, type JsonFinding } from './run';

const PUBLIC = path.join(__dirname, 'public');
const MIN_PRECISION = 0.95;
const MIN_RECALL = 0.9;
// Every set is checked with the real schema and CEL validation: a bound that only catches a hang.
const TIMEOUT_MS = 120_000;

interface Label {
  readonly rule: string;
  /** `Kind namespace/name` or `Kind name`; `*` matches any run of characters. */
  readonly object: string;
  readonly reason: string;
}
interface Fault extends Label {
  /** The severity it must have: `warning` for a latent or advisory fault, so an error on it is a false error. */
  readonly severity: 'error' | 'warning';
}
/** A statement about the checker's coverage (`unknown-kind`), not about the manifests. */
const NOTE_RULES = new Set(['unknown-kind']);

interface InputSet {
  readonly name: string;
  readonly paths: readonly string[];
  readonly options?: readonly string[];
  readonly why: string;
  /** Set when the check must stop: the exit status, and what standard error must name. */
  readonly exit?: number;
  readonly stderr?: string;
  readonly faults: readonly Fault[];
  /** True findings that are not load-balancing faults: reported as warnings, never errors. */
  readonly advisories: readonly Label[];
  /** Notes on the checker's coverage: listed, left out of precision. */
  readonly notes: readonly Label[];
  /** What must not be an error; a finding only these match is false. */
  readonly notErrors: readonly Label[];
}
interface Sources {
  readonly repositories: Record<
    string,
    {
      readonly repository: string;
      readonly commit: string;
      readonly files: ReadonlyArray<{ path: string; blob: string }>;
    }
  >;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(path.join(PUBLIC, file), 'utf8')) as T;
const sources = readJson<Sources>('sources.json');
const labels = readJson<{ repositories: Record<string, InputSet[]> }>('labels.json').repositories;

const objectName = (f: JsonFinding) =>
  `${f.object.kind} ${f.object.namespace === undefined ? '' : `${f.object.namespace}/`}${f.object.name}`;
const matches = (label: Pick<Label, 'rule' | 'object'>, f: JsonFinding) =>
  (label.rule === '*' || label.rule === f.rule) && objectPattern(label.object).test(objectName(f));
const show = (f: JsonFinding) => `${f.severity} ${f.rule} on ${objectName(f)}: ${f.message}`;

interface Tally {
  errors: number;
  trueErrors: number;
  /** Errors and warnings, notes left out. */
  findings: number;
  trueFindings: number;
  warnings: number;
  notes: number;
  faults: number;
  found: number;
}
const empty = (): Tally => ({
  errors: 0,
  trueErrors: 0,
  findings: 0,
  trueFindings: 0,
  warnings: 0,
  notes: 0,
  faults: 0,
  found: 0,
});
/** Per repository, and per rule (the figures docs/grpc-lb-check.md gives for each rule). */
const byRepository = new Map<string, Tally>();
const byRule = new Map<string, Tally>();
const count = (tallies: Map<string, Tally>, key: string, field: keyof Tally) => {
  const tally = tallies.get(key) ?? empty();
  tally[field]++;
  tallies.set(key, tally);
};
const ratio = (part: number, whole: number) => (whole === 0 ? 1 : part / whole);
const percent = (part: number, whole: number) =>
  whole === 0 ? '   n/a' : `${(100 * ratio(part, whole)).toFixed(1).padStart(5)}%`;

/** Every file below `dir`, relative to it. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    return statSync(full).isDirectory() ? filesBelow(full).map((f) => path.join(entry, f)) : [entry];
  });
}

describe('the copies are the upstream files', () => {
  test.each(Object.keys(sources.repositories))('%s: every file is listed with its git blob id', (folder) => {
    const { files } = sources.repositories[folder];
    const blobOf = (file: string) => {
      const data = readFileSync(path.join(PUBLIC, folder, file));
      return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
    };
    expect(files.map((f) => [f.path, blobOf(f.path)])).toEqual(files.map((f) => [f.path, f.blob]));
    expect(filesBelow(path.join(PUBLIC, folder)).sort()).toEqual(files.map((f) => f.path).sort());
  });

  test('every repository has labelled input sets, and every labelled repository its sources', () => {
    expect(Object.keys(labels).sort()).toEqual(Object.keys(sources.repositories).sort());
    expect(Object.keys(labels).length).toBeGreaterThanOrEqual(10);
  });
});

describe.each(Object.entries(labels))('%s', (repository, sets) => {
  test.each(sets.map((set) => [set.name, set]))(
    '%s',
    async (_name, set) => {
      const folder = path.join(PUBLIC, repository);
      const argv = ['--format', 'json', ...(set.options ?? []), ...set.paths.map((p) => path.join(folder, p))];
      const run = await runCheck(argv);
      if (set.exit !== undefined) {
        expect({ status: run.status, stderr: run.stderr }).toEqual({
          status: set.exit,
          stderr: expect.stringContaining(set.stderr ?? ''),
        });
        return;
      }
      // A set the checker cannot read shows nothing: its faults count as missed before the failure is reported.
      const findings = run.status === 2 ? [] : (JSON.parse(run.stdout) as { findings: JsonFinding[] }).findings;
      const errors = findings.filter((f) => f.severity === 'error');
      const trueErrors = errors.filter((f) =>
        set.faults.some((fault) => fault.severity === 'error' && matches(fault, f)),
      );
      // A warning is true when a fault or an advisory names it; an error, only when a fault of severity error does.
      const isTrue = (f: JsonFinding) =>
        trueErrors.includes(f) ||
        (f.severity === 'warning' && [...set.faults, ...set.advisories].some((label) => matches(label, f)));
      const isNote = (f: JsonFinding) =>
        f.severity === 'warning' && NOTE_RULES.has(f.rule) && set.notes.some((label) => matches(label, f));
      const judged = findings.filter((f) => !isNote(f));
      const found = set.faults.filter((fault) => findings.some((f) => matches(fault, f)));
      byRepository.set(repository, byRepository.get(repository) ?? empty());
      const tally = (key: string, field: keyof Tally) => {
        count(byRepository, repository, field);
        count(byRule, key, field);
      };
      for (const f of findings) tally(f.rule, f.severity === 'error' ? 'errors' : 'warnings');
      for (const f of trueErrors) tally(f.rule, 'trueErrors');
      for (const f of judged) tally(f.rule, 'findings');
      for (const f of judged.filter(isTrue)) tally(f.rule, 'trueFindings');
      for (const f of findings.filter(isNote)) tally(f.rule, 'notes');
      for (const fault of set.faults) tally(fault.rule, 'faults');
      for (const fault of found) tally(fault.rule, 'found');
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: errors.length > 0 ? 1 : 0, stderr: '' });
      // Every finding is labelled: a fault, an advisory, a note, or something the set must not show as an error.
      const labelled = (f: JsonFinding) =>
        [...set.faults, ...set.advisories, ...set.notes, ...set.notErrors].some((label) => matches(label, f));
      expect(findings.filter((f) => !labelled(f)).map(show)).toEqual([]);
      expect(errors.filter((f) => !trueErrors.includes(f)).map(show)).toEqual([]);
      expect(set.faults.filter((fault) => !found.includes(fault)).map((f) => `${f.rule} on ${f.object}`)).toEqual([]);
    },
    TIMEOUT_MS,
  );
});

test('precision and recall over the corpus', () => {
  const total = [...byRepository.values()].reduce<Tally>((sum, t) => {
    for (const key of Object.keys(sum) as Array<keyof Tally>) sum[key] += t[key];
    return sum;
  }, empty());
  const line = (name: string, t: Tally) =>
    `${name.padEnd(46)} ${`${t.trueErrors}/${t.errors}`.padStart(7)} ${percent(t.trueErrors, t.errors)}  ${`${t.trueFindings}/${t.findings}`.padStart(8)} ${percent(t.trueFindings, t.findings)}  ${`${t.found}/${t.faults}`.padStart(7)} ${percent(t.found, t.faults)} ${String(t.warnings).padStart(8)} ${String(t.notes).padStart(5)}`;
  const header = (what: string) =>
    `${what.padEnd(46)} ${'errors'.padStart(7)} precision  ${'findings'.padStart(8)} precision  ${'faults'.padStart(7)} recall warnings notes`;
  console.log(
    [
      header('repository'),
      ...[...byRepository].map(([name, t]) => line(name, t)),
      line('all', total),
      '',
      header('rule'),
      ...[...byRule].sort(([a], [b]) => a.localeCompare(b)).map(([name, t]) => line(name, t)),
      '',
      'errors: true errors / errors. findings: true / all findings, errors and warnings, notes left out.',
      `notes: ${[...NOTE_RULES].join(', ')} warnings, on the checker's coverage, not the manifests; not in precision.`,
    ].join('\n'),
  );
  expect(byRepository.size).toBe(Object.keys(labels).length);
  expect(ratio(total.trueErrors, total.errors)).toBeGreaterThanOrEqual(MIN_PRECISION);
  expect(ratio(total.trueFindings, total.findings)).toBeGreaterThanOrEqual(MIN_PRECISION);
  expect(ratio(total.found, total.faults)).toBeGreaterThanOrEqual(MIN_RECALL);
});
