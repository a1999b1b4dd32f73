/**
 * `npm run docs:settings`: writes the settings tables of docs/settings.md from the programs' own `--help`, so the
 * flags, variables and defaults have one source (app/server.ts and app/client.ts). Each table sits between
 * `<!-- npm run <program> -- --help -->` and `<!-- end -->`; the prose around them is written by hand.
 * test/docs.test.ts checks that the file matches what the programs print now.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
export const SETTINGS_DOC = path.join(ROOT, 'docs', 'settings.md');
/** The programs whose settings the page lists, by npm script. */
export const SETTINGS_PROGRAMS = { server: 'app/server.ts', client: 'app/client.ts' } as const;

/** One row of `--help`: `  --flag / VARIABLE   meaning (default: value)`. */
interface HelpRow {
  flag: string;
  variable: string | undefined;
  meaning: string;
  defaultValue: string | undefined;
}

export function parseHelp(help: string): HelpRow[] {
  return help
    .split('\n')
    .filter((line) => line.startsWith('  --'))
    .map((line) => {
      const match = /^ {2}--([a-z0-9-]+)(?: \/ ([A-Z0-9_]+))? +(.*)$/.exec(line);
      if (!match) throw new Error(`settings-doc: cannot read the --help line ${JSON.stringify(line)}`);
      const [, flag, variable, text] = match;
      const withDefault = /^(.*) \(default: (.*)\)$/.exec(text);
      return { flag, variable, meaning: withDefault ? withDefault[1] : text, defaultValue: withDefault?.[2] };
    });
}

/** The Markdown table of one program's settings. */
export function settingsTable(rows: readonly HelpRow[]): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  return [
    '| variable | flag | default | meaning |',
    '|---|---|---|---|',
    ...rows.map(
      (row) =>
        `| ${row.variable ? `\`${row.variable}\`` : ''} | \`--${row.flag}\` | ${row.defaultValue === undefined ? 'unset' : cell(row.defaultValue)} | ${cell(row.meaning)} |`,
    ),
  ].join('\n');
}

/** What `npm run <program> -- --help` prints (the program run as npm runs it, with ts-node). */
export function programHelp(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register', path.join(ROOT, script), '--help'],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${script} --help: ${error.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

const marker = (program: string) => `<!-- npm run ${program} -- --help -->`;
const END = '<!-- end -->';

/** The page with each program's table replaced by one rendered from these `--help` outputs. */
export function withTables(page: string, helps: Record<keyof typeof SETTINGS_PROGRAMS, string>): string {
  let result = page;
  for (const [program, help] of Object.entries(helps)) {
    const start = result.indexOf(marker(program));
    const end = result.indexOf(END, start);
    if (start < 0 || end < 0)
      throw new Error(`settings-doc: ${SETTINGS_DOC} has no "${marker(program)}" … "${END}" section`);
    result = `${result.slice(0, start)}${marker(program)}\n${settingsTable(parseHelp(help))}\n${result.slice(end)}`;
  }
  return result;
}

/** The page as it should be now. */
export async function renderedSettingsDoc(): Promise<string> {
  const [server, client] = await Promise.all([
    programHelp(SETTINGS_PROGRAMS.server),
    programHelp(SETTINGS_PROGRAMS.client),
  ]);
  return withTables(readFileSync(SETTINGS_DOC, 'utf8'), { server, client });
}

if (require.main === module) {
  renderedSettingsDoc().then(
    (page) => {
      writeFileSync(SETTINGS_DOC, page);
      console.log(`wrote the settings tables of ${path.relative(process.cwd(), SETTINGS_DOC)}`);
    },
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
