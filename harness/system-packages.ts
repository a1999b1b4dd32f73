/**
 * Suites that need a system package (Debian's python3-grpcio, nginx): run them when it is there. Otherwise skip
 * them with one line saying how to install it, except under CI=true, where the missing package fails the run.
 */
export function describeWhenInstalled(suite: string, missing: string | undefined, installHint: string): jest.Describe {
  if (missing === undefined) return describe;
  const reason = `${missing}; install it with: ${installHint}`;
  if (process.env.CI === 'true') {
    test(`${suite}: its system packages are installed (required when CI=true)`, () => {
      throw new Error(reason);
    });
  } else {
    process.stderr.write(`${suite} tests skipped: ${reason}\n`);
  }
  return describe.skip;
}
