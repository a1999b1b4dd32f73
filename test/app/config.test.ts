import {
  ConfigError,
  boolean,
  integer,
  oneOf,
  optionalMilliseconds,
  parseSettings,
  setting,
  text,
  usage,
} from '../../app/config';

const specs = {
  port: setting({ flag: 'port', env: 'PORT', parser: integer(0, 65535), default: 50051, help: 'port' }),
  tls: setting({ flag: 'tls', env: 'TLS', parser: boolean, default: false, help: 'tls' }),
  lb: setting({ flag: 'lb', env: 'LB', parser: oneOf('pick_first', 'round_robin'), default: 'pick_first', help: 'lb' }),
  age: setting({ flag: 'age-ms', env: 'AGE_MS', parser: optionalMilliseconds, default: undefined, help: 'age' }),
  name: setting({ flag: 'name', parser: text, default: 'world', help: 'name' }),
};

function settings(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const parsed = parseSettings(specs, argv, env);
  if (parsed.help) throw new Error('unexpected help');
  return parsed.settings;
}

function configError(argv: string[], env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    settings(argv, env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseSettings', () => {
  test('defaults when nothing is given', () => {
    expect(settings([])).toEqual({ port: 50051, tls: false, lb: 'pick_first', age: undefined, name: 'world' });
  });

  test('environment over default, flag over environment, both --flag value and --flag=value', () => {
    expect(settings([], { PORT: '8080', LB: 'round_robin' })).toMatchObject({ port: 8080, lb: 'round_robin' });
    expect(settings(['--port', '9090'], { PORT: '8080' })).toMatchObject({ port: 9090 });
    expect(settings(['--port=9091', '--name=a b'])).toMatchObject({ port: 9091, name: 'a b' });
  });

  test('a boolean flag may stand alone or take a value', () => {
    expect(settings(['--tls'])).toMatchObject({ tls: true });
    expect(settings(['--tls', '--port', '1'])).toMatchObject({ tls: true, port: 1 });
    expect(settings(['--tls=false'], { TLS: 'true' })).toMatchObject({ tls: false });
  });

  test('an empty optional duration means unset', () => {
    expect(settings([], { AGE_MS: '' })).toMatchObject({ age: undefined });
    expect(settings([], { AGE_MS: '30000' })).toMatchObject({ age: 30000 });
  });

  test('--help asks for usage, which lists every flag with its variable and default', () => {
    expect(parseSettings(specs, ['--help'], {})).toEqual({ help: true });
    expect(usage('cmd', specs)).toMatch(/--port \/ PORT +port \(default: 50051\)/);
  });

  test('usage promises environment variables only when some setting has one', () => {
    const flagOnly = { calls: setting({ flag: 'calls', parser: integer(1), default: 300, help: 'calls per path' }) };
    expect(usage('demo', flagOnly)).toBe(
      `usage: demo [flags]\n  ${'--calls'.padEnd(48)} calls per path (default: 300)\n`,
    );
    expect(usage('cmd', specs)).toContain('Every flag can also be set by its environment variable');
  });

  test.each([
    ['port not a number', [], { PORT: 'abc' }, 'PORT', 'abc', 'an integer from 0 to 65535'],
    ['port too large', ['--port', '65536'], {}, '--port', '65536', 'an integer from 0 to 65535'],
    ['fractional port', [], { PORT: '80.5' }, 'PORT', '80.5', 'an integer from 0 to 65535'],
    [
      'negative duration',
      [],
      { AGE_MS: '-1' },
      'AGE_MS',
      '-1',
      'a positive integer number of milliseconds, or empty for none',
    ],
    [
      'zero duration',
      [],
      { AGE_MS: '0' },
      'AGE_MS',
      '0',
      'a positive integer number of milliseconds, or empty for none',
    ],
    ['boolean typo', [], { TLS: 'yes please' }, 'TLS', 'yes please', 'true or false'],
    ['unknown policy', ['--lb=random'], {}, '--lb', 'random', 'one of pick_first, round_robin'],
    ['empty text', ['--name', ' '], {}, '--name', ' ', 'a non-empty string'],
    ['flag without value', ['--port'], {}, '--port', '', 'an integer from 0 to 65535'],
    ['unknown flag', ['--prot', '1'], {}, 'argument', '--prot', 'one of --port, --tls, --lb, --age-ms, --name'],
    ['bare word', ['50051'], {}, 'argument', '50051', 'one of --port, --tls, --lb, --age-ms, --name'],
  ])('%s is rejected naming the setting and the value', (_what, argv, env, name, value, expected) => {
    const error = configError(argv, env);
    expect(error).toMatchObject({ setting: name, value, expected });
    expect(error.message).toBe(`invalid ${name}=${JSON.stringify(value)}: expected ${expected}`);
  });
});
