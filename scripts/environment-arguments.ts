/**
 * What `npm run certs` and `npm run endpoints` take: `<environment> [--out <dir>]`. The docs test checks every
 * `npm run certs …` and `npm run endpoints …` line in the README and docs/ with this same parser.
 */
import { parseArgs } from 'node:util';
import { environment, type EnvironmentConfig } from '../deploy';

/** A command line of the wrong shape: the script prints the message (its usage) and exits 2. */
export class UsageError extends Error {}

export interface EnvironmentArguments {
  readonly env: EnvironmentConfig;
  /** `--out <dir>`, where the script writes instead of its default directory. */
  readonly out?: string;
}

/**
 * The environment named by the one positional argument. Throws a UsageError without exactly one, an Error naming the
 * environments there are for an unknown one, and parseArgs' own error for an unknown option.
 */
export function environmentArguments(script: string, argv: readonly string[]): EnvironmentArguments {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { out: { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError(`usage: npm run ${script} -- <environment> [--out <dir>]`);
  return { env: environment(positionals[0]), out: values.out };
}

/** The arguments, or undefined once the usage is printed to stderr (the script then exits 2). */
export function environmentArgumentsOrUsage(script: string, argv: readonly string[]): EnvironmentArguments | undefined {
  try {
    return environmentArguments(script, argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(error.message);
    return undefined;
  }
}
