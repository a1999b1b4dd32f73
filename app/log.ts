/** One JSON object per line: what container log collectors (Cloud Logging, Loki, fluent-bit) parse without rules. */
export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
}

export function jsonLogger(
  component: string,
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  return {
    log(level, msg, fields = {}) {
      write(JSON.stringify({ time: new Date().toISOString(), level, component, msg, ...fields }) + '\n');
    },
  };
}

/** Collects entries in memory; for tests and embedding. */
export function memoryLogger(): Logger & { entries: Array<{ level: LogLevel; msg: string } & LogFields> } {
  const entries: Array<{ level: LogLevel; msg: string } & LogFields> = [];
  return { entries, log: (level, msg, fields = {}) => entries.push({ level, msg, ...fields }) };
}
