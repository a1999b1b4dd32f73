/**
 * The entry of the demo and benchmark scripts: flags through app/config's parser (usage on --help, a bad flag exits
 * 2 with one line naming it and its value), a missing system tool exits 2 with one line saying how to install it,
 * and any other failure exits 1 with one line.
 */
import { ConfigError, parseSettings, usage, type SettingSpec, type Settings } from '../app/config';

export interface Script<S extends Record<string, SettingSpec<unknown>>> {
  /** The npm script, e.g. `demo:lb`. */
  name: string;
  settings: S;
  /** Why the script cannot run on this machine, including how to install what it needs; undefined when it can. */
  missing(): string | undefined;
  /** Resolves with the exit code. */
  run(settings: Settings<S>): Promise<number>;
}

async function exitCode<S extends Record<string, SettingSpec<unknown>>>(
  script: Script<S>,
  argv: readonly string[],
): Promise<number> {
  try {
    const parsed = parseSettings(script.settings, argv, {});
    if (parsed.help) {
      process.stdout.write(usage(`npm run ${script.name} --`, script.settings));
      return 0;
    }
    const missing = script.missing();
    if (missing) {
      process.stderr.write(`${script.name}: ${missing}\n`);
      return 2;
    }
    return await script.run(parsed.settings);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${script.name}: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`${script.name} failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

export function runScript<S extends Record<string, SettingSpec<unknown>>>(
  script: Script<S>,
  argv = process.argv.slice(2),
): void {
  void exitCode(script, argv).then((code) => process.exit(code));
}
