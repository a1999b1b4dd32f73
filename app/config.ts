/**
 * The one settings parser for the server and the client: each setting has an environment variable (the name a
 * container sets) and a matching flag; a flag wins over the environment, which wins over the default. A bad value
 * throws a ConfigError that names the setting, the value and what was expected.
 */
import { accessSync, constants, statSync } from 'node:fs';

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    readonly value: string,
    readonly expected: string,
  ) {
    super(`invalid ${setting}=${JSON.stringify(value)}: expected ${expected}`);
    this.name = 'ConfigError';
  }
}

/** What a parser returns for text it cannot accept. */
export const INVALID: unique symbol = Symbol('invalid');

/** Turns the raw text of one setting into a value, or INVALID; `expected` says what it accepts. */
export interface Parser<T> {
  readonly expected: string;
  parse(raw: string): T | typeof INVALID;
}

export interface SettingSpec<T> {
  /** Flag name without the leading dashes, e.g. `port` for `--port`. */
  readonly flag: string;
  /** Environment variable, e.g. `PORT`; omitted for flag-only settings. */
  readonly env?: string;
  readonly parser: Parser<T>;
  readonly default: T;
  /** What `--help` says the default is, where the value depends on the machine (the host name). */
  readonly defaultHelp?: string;
  readonly help: string;
}

type Specs = Record<string, SettingSpec<unknown>>;
export type Settings<S extends Specs> = { [K in keyof S]: S[K]['default'] };

export function setting<T>(spec: SettingSpec<T>): SettingSpec<T> {
  return spec;
}

export function integer(min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> {
  const expected = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  return {
    expected,
    parse: (raw) => {
      if (!/^-?\d+$/.test(raw.trim())) return INVALID;
      const value = Number(raw);
      return value >= min && value <= max ? value : INVALID;
    },
  };
}

export const port = integer(0, 65535);

/** Optional port: empty means "not set". */
export const optionalPort: Parser<number | undefined> = {
  expected: 'a port number (0 picks a free one), or empty for none',
  parse: (raw) => (raw === '' ? undefined : port.parse(raw)),
};
export const milliseconds = integer(0);

/** Optional duration: empty means "not set"; otherwise a positive number of milliseconds. */
export const optionalMilliseconds: Parser<number | undefined> = {
  expected: 'a positive integer number of milliseconds, or empty for none',
  parse: (raw) => (raw === '' ? undefined : integer(1).parse(raw)),
};

export const text: Parser<string> = {
  expected: 'a non-empty string',
  parse: (raw) => (raw.trim() === '' ? INVALID : raw),
};

export const boolean: Parser<boolean> = {
  expected: 'true or false',
  parse: (raw) => ({ true: true, '1': true, false: false, '0': false })[raw.trim().toLowerCase()] ?? INVALID,
};

export function oneOf<T extends string>(...values: readonly T[]): Parser<T> {
  return { expected: `one of ${values.join(', ')}`, parse: (raw) => values.find((v) => v === raw) ?? INVALID };
}

/** A readable regular file; empty means "not set". */
export const optionalFile: Parser<string | undefined> = {
  expected: 'a readable file',
  parse: (raw) => {
    if (raw === '') return undefined;
    try {
      accessSync(raw, constants.R_OK);
      return statSync(raw).isFile() ? raw : INVALID;
    } catch {
      return INVALID;
    }
  },
};

/** Every setting at its default: the configuration when no flag or variable is given. */
export function defaultSettings<S extends Specs>(specs: S): Settings<S> {
  return Object.fromEntries(Object.entries(specs).map(([key, spec]) => [key, spec.default])) as Settings<S>;
}

/** The result of parsing: the settings, or a request for help. */
export type ParseResult<S extends Specs> = { help: true } | { help: false; settings: Settings<S> };

export function parseSettings<S extends Specs>(
  specs: S,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): ParseResult<S> {
  const byFlag = new Map(Object.entries(specs).map(([key, spec]) => [spec.flag, key]));
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return { help: true };
    const match = /^--([a-z0-9-]+)(?:=(.*))?$/s.exec(arg);
    if (!match || !byFlag.has(match[1])) {
      throw new ConfigError('argument', arg, `one of ${[...byFlag.keys()].map((f) => `--${f}`).join(', ')}`);
    }
    const spec = specs[byFlag.get(match[1])!];
    let value = match[2];
    if (value === undefined) {
      // A boolean flag may stand alone (`--tls`); any other flag takes the next argument.
      const next = argv[i + 1];
      value = spec.parser === boolean && (next === undefined || next.startsWith('--')) ? 'true' : next;
      if (value === undefined) throw new ConfigError(`--${match[1]}`, '', spec.parser.expected);
      if (value === next) i++;
    }
    flags.set(match[1], value);
  }

  const settings: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const fromFlag = flags.get(spec.flag);
    const fromEnv = spec.env === undefined ? undefined : env[spec.env];
    const [name, raw] = fromFlag !== undefined ? [`--${spec.flag}`, fromFlag] : [spec.env!, fromEnv];
    if (raw === undefined) {
      settings[key] = spec.default;
      continue;
    }
    const value = spec.parser.parse(raw);
    if (value === INVALID) throw new ConfigError(name, raw, spec.parser.expected);
    settings[key] = value;
  }
  return { help: false, settings: settings as Settings<S> };
}

export function usage(command: string, specs: Specs): string {
  const rows = Object.values(specs).map((spec) => {
    const names = `--${spec.flag}${spec.env ? ` / ${spec.env}` : ''}`;
    const shown = spec.defaultHelp ?? spec.default;
    const fallback = shown === undefined ? '' : ` (default: ${String(shown)})`;
    return `  ${names.padEnd(48)} ${spec.help}${fallback}`;
  });
  const byEnv = Object.values(specs).some((spec) => spec.env !== undefined)
    ? 'Every flag can also be set by its environment variable; a flag wins.\n'
    : '';
  return `usage: ${command} [flags]\n${byEnv}${rows.join('\n')}\n`;
}
