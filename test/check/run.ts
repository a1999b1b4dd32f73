/** Runs grpc-lb-check in this process, the way its bin does, with a validation the test chooses. */
import { Readable } from 'node:stream';
import { main } from '../../check/cli';
import type { ValidationReport } from '../../check/validation';

/** A validation that finds nothing: the rules' own findings, alone. */
export const NO_VALIDATION = (): ValidationReport => ({
  issues: [],
  celRulesEvaluated: 0,
  celRulesSkipped: [],
  unknownKinds: [],
});

export interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCheck(
  argv: readonly string[],
  options: {
    stdin?: Iterable<Buffer | string> | AsyncIterable<Buffer | string>;
    validate?: () => ValidationReport;
  } = {},
): Promise<Run> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const status = await main(
    argv,
    { stdin: Readable.from(options.stdin ?? []), stdout: (t) => stdout.push(t), stderr: (t) => stderr.push(t) },
    { validate: options.validate },
  );
  return { status, stdout: stdout.join(''), stderr: stderr.join('') };
}

/** One finding of `--format json`. */
export interface JsonFinding {
  rule: string;
  severity: 'error' | 'warning';
  object: { kind: string; namespace?: string; name: string; file: string; line: number };
  path?: string;
  message: string;
  related: Array<{ kind: string; name: string }>;
}

export async function runJson(
  argv: readonly string[],
  options: Parameters<typeof runCheck>[1] = {},
): Promise<Run & { findings: JsonFinding[] }> {
  const run = await runCheck(['--format', 'json', ...argv], options);
  if (run.status === 2) throw new Error(`grpc-lb-check ${argv.join(' ')} could not check: ${run.stderr}`);
  return { ...run, findings: (JSON.parse(run.stdout) as { findings: JsonFinding[] }).findings };
}
