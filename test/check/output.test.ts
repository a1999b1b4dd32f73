/**
 * The three output formats over the whole bad corpus: JSON against its schema (check/format/
 * json-report.schema.json), SARIF against the official SARIF 2.1.0 schema (upstream/schemas/, with its URL and
 * sha256 in upstream/sources.json), and the text grouped by object.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import AjvDraft04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { ROOT } from '../../harness/processes';
import { NO_VALIDATION, runCheck } from './run';

const BAD = path.join(__dirname, 'corpus', 'bad');
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

function errorsOf(validate: { errors?: unknown[] | null }): string {
  return JSON.stringify(validate.errors ?? [], null, 2);
}

test('--format json matches json-report.schema.json', async () => {
  const run = await runCheck(['--format', 'json', BAD], { validate: NO_VALIDATION });
  const report = JSON.parse(run.stdout);
  const validate = addFormats(new Ajv({ strict: true, allErrors: true })).compile(
    readJson(path.join(ROOT, 'check', 'format', 'json-report.schema.json')),
  );
  expect(validate(report) ? '' : errorsOf(validate)).toBe('');
  expect(report.findings.length).toBeGreaterThan(10);
  expect(report.summary.errors).toBe(
    report.findings.filter((f: { severity: string }) => f.severity === 'error').length,
  );
  expect(run.status).toBe(1);
});

describe('--format sarif', () => {
  const schemaFile = path.join(ROOT, 'upstream', 'schemas', 'sarif-schema-2.1.0.json');

  test('the vendored schema is the one upstream/sources.json records', () => {
    const record = (
      readJson(path.join(ROOT, 'upstream', 'sources.json')) as Array<{ path: string; sha256: string }>
    ).find((s) => s.path === 'schemas/sarif-schema-2.1.0.json');
    expect(createHash('sha256').update(readFileSync(schemaFile)).digest('hex')).toBe(record?.sha256);
  });

  test('is valid SARIF 2.1.0, one result per finding, each on its file and line', async () => {
    const [sarifRun, jsonRun] = await Promise.all([
      runCheck(['--format', 'sarif', BAD], { validate: NO_VALIDATION }),
      runCheck(['--format', 'json', BAD], { validate: NO_VALIDATION }),
    ]);
    const log = JSON.parse(sarifRun.stdout);
    // The OASIS schema is draft-04 (its `id`, not `$id`).
    const validate = addFormats(new AjvDraft04({ allErrors: true, strict: false })).compile(readJson(schemaFile));
    expect(validate(log) ? '' : errorsOf(validate)).toBe('');

    const findings = JSON.parse(jsonRun.stdout).findings as Array<{
      rule: string;
      severity: string;
      object: { file: string; line: number };
    }>;
    const results = log.runs[0].results as Array<{
      ruleId: string;
      ruleIndex: number;
      level: string;
      locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }>;
    }>;
    expect(
      results.map((r) => [
        r.ruleId,
        r.level,
        r.locations[0].physicalLocation.artifactLocation.uri,
        r.locations[0].physicalLocation.region.startLine,
      ]),
    ).toEqual(findings.map((f) => [f.rule, f.severity, `file://${f.object.file}`, f.object.line]));
    const rules = log.runs[0].tool.driver.rules as Array<{ id: string }>;
    expect(results.every((r) => rules[r.ruleIndex].id === r.ruleId)).toBe(true);
    expect(sarifRun.status).toBe(1);
  });

  test('objects from standard input are located by name', async () => {
    const service = readFileSync(path.join(BAD, 'duplicate-object.yaml'), 'utf8');
    const log = JSON.parse(
      (await runCheck(['--format', 'sarif', '-'], { stdin: [service], validate: NO_VALIDATION })).stdout,
    );
    const [result] = log.runs[0].results;
    expect(result.locations[0]).toEqual({
      logicalLocations: [{ name: 'greeter', fullyQualifiedName: 'Service shop/greeter', kind: 'resource' }],
    });
  });
});

test('text: each object once, its findings under it with why and fix, then a summary line', async () => {
  const run = await runCheck([path.join(BAD, 'grpc-port-not-http2-ingress-nginx.yaml')], { validate: NO_VALIDATION });
  const lines = run.stdout.split('\n');
  expect(lines.filter((line) => line.startsWith('Ingress shop/greeter '))).toHaveLength(1);
  expect(
    lines.filter((line) => /^ {2}(error|warning) /.test(line)).map((line) => line.trim().split(/\s+/).slice(0, 2)),
  ).toEqual([
    ['error', 'grpc-port-not-http2'],
    ['warning', 'ingress-nginx-retired'],
  ]);
  expect(lines.filter((line) => line.trim().startsWith('why: '))).toHaveLength(2);
  expect(lines.filter((line) => line.trim().startsWith('fix: '))).toHaveLength(2);
  expect(lines.at(-2)).toBe('1 error, 1 warning in 5 objects from 1 file');
  expect(run.status).toBe(1);
});
