/**
 * The corpus: for every rule at least one bad manifest, whose header says what must fire and where
 * (`# expect: <severity> <rule> on <Kind> <namespace>/<name>`), and on which no other error may fire; and good
 * manifests, on which nothing may fire. `# options:` lines give the command-line options a file is checked with.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { RULES } from '../../check';
import { NO_VALIDATION, runJson, type JsonFinding } from './run';

const CORPUS = path.join(__dirname, 'corpus');
const filesIn = (dir: string) =>
  readdirSync(path.join(CORPUS, dir))
    .sort()
    .map((file) => path.join(CORPUS, dir, file));

interface Expectation {
  severity: string;
  rule: string;
  kind: string;
  namespace: string;
  name: string;
}

function header(file: string): { expected: Expectation[]; options: string[] } {
  const text = readFileSync(file, 'utf8');
  const expected = [...text.matchAll(/^# expect: (error|warning) ([a-z0-9-]+) on (\w+) ([^/\s]+)\/(\S+)$/gm)].map(
    ([, severity, rule, kind, namespace, name]) => ({ severity, rule, kind, namespace, name }),
  );
  const options = [...text.matchAll(/^# options: (.+)$/gm)].flatMap((m) => m[1].split(/\s+/));
  return { expected, options };
}

const on = (f: JsonFinding, e: Expectation) =>
  f.rule === e.rule && f.object.kind === e.kind && f.object.namespace === e.namespace && f.object.name === e.name;
const show = (findings: JsonFinding[]) =>
  findings
    .map((f) => `${f.severity} ${f.rule} on ${f.object.kind} ${f.object.namespace}/${f.object.name}: ${f.message}`)
    .join('\n');

// The validation rules (schema, cel, unknown-kind) are tested with an injected validator in cli.test.ts.
const VALIDATION_RULES = new Set(['schema', 'cel', 'unknown-kind']);

describe.each(filesIn('bad').map((file) => [path.basename(file), file]))('bad/%s', (_name, file) => {
  const { expected, options } = header(file);

  test('its rule fires on the right object, and no other error does', async () => {
    expect(expected.length).toBeGreaterThan(0);
    const { findings, status } = await runJson([...options, file], { validate: NO_VALIDATION });
    for (const expectation of expected) {
      const matching = findings.filter((f) => on(f, expectation));
      expect({ expectation, found: show(matching) }).toEqual({
        expectation,
        found: expect.stringContaining(`${expectation.severity} ${expectation.rule}`),
      });
      expect(matching.every((f) => f.severity === expectation.severity)).toBe(true);
    }
    const otherErrors = findings.filter((f) => f.severity === 'error' && !expected.some((e) => on(f, e)));
    expect(show(otherErrors)).toBe('');
    expect(status).toBe(expected.some((e) => e.severity === 'error') ? 1 : 0);
  });
});

test('the bad corpus covers every rule the manifests alone can break', () => {
  const covered = new Set(filesIn('bad').flatMap((file) => header(file).expected.map((e) => e.rule)));
  expect(RULES.map((rule) => rule.id).filter((id) => !VALIDATION_RULES.has(id) && !covered.has(id))).toEqual([]);
});

describe.each(filesIn('good').map((file) => [path.basename(file), file]))('good/%s', (_name, file) => {
  test('stays clean', async () => {
    const { findings, status } = await runJson([...header(file).options, file]);
    // The validation knows the kinds of upstream/ only (no cert-manager, no HTTPRoute CRD there): an unknown kind
    // is reported, and is the one thing a good manifest may show.
    expect(show(findings.filter((f) => f.rule !== 'unknown-kind'))).toBe('');
    expect(status).toBe(0);
  });
});

describe('--partial: what is not in the input is a warning', () => {
  test.each(['route-unknown-service.yaml', 'istio-gateway-no-workload.yaml'])('%s', async (name) => {
    const file = path.join(CORPUS, 'bad', name);
    const [expectation] = header(file).expected;
    const whole = await runJson([file], { validate: NO_VALIDATION });
    const partial = await runJson(['--partial', file], { validate: NO_VALIDATION });
    expect(whole.findings.filter((f) => on(f, expectation)).map((f) => f.severity)).toEqual(['error']);
    expect(partial.findings.filter((f) => on(f, expectation)).map((f) => f.severity)).toEqual(['warning']);
    expect([whole.status, partial.status]).toEqual([1, 0]);
  });

  test('a port the Service in the input lacks stays an error', async () => {
    const { findings } = await runJson(['--partial', path.join(CORPUS, 'bad', 'route-unknown-port.yaml')], {
      validate: NO_VALIDATION,
    });
    expect(findings.filter((f) => f.rule === 'route-unknown-port').map((f) => f.severity)).toEqual(['error']);
  });
});

test('Linkerd 2.17 detects HTTP/2 where Linkerd 2.18 (the default) carries appProtocol grpc as opaque TCP', async () => {
  const file = path.join(CORPUS, 'good', 'linkerd-2.17-grpc.yaml');
  const { findings, status } = await runJson([file], { validate: NO_VALIDATION });
  expect(findings.map((f) => [f.severity, f.rule, f.object.kind, f.object.name, f.path])).toEqual([
    ['error', 'grpc-port-not-http2', 'Service', 'greeter', 'spec.ports[0].appProtocol'],
  ]);
  expect(findings[0].message).toContain('Linkerd ≥ 2.18');
  expect(status).toBe(1);
});
