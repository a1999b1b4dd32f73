/**
 * How long `npm run synth` takes for every environment: prints figures, is not a test. Each variant runs as its own
 * process, as a user runs it, writing to a temp dir; the table shows the median and the fastest of --runs runs.
 *
 *   npm run bench:synth -- [--runs N] [--json PATH]
 *
 * Variants: the fast path with its transpile cache warm (every run after the first) and cold (an empty cache, as
 * after `npm ci`); the same through `npm run synth` (npm's own start-up included); plain ts-node with swc; and, on
 * the same output, `kubectl kustomize` for scale, when kubectl is installed. Target: `npm run synth` <= 1.0 s.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { KUSTOMIZATION_FILE } from '../deploy/kustomization';
import { ENVIRONMENTS } from '../deploy';
import { haveCommand, table } from './h2load';

const ROOT = path.resolve(__dirname, '..');
const TARGET_SECONDS = 1.0;

interface Variant {
  label: string;
  command: string;
  args: string[];
  /** Fresh state before each run (the cold cache). */
  env?: () => Record<string, string>;
}

/** Median and fastest of `runs` runs, in seconds. */
function timeRuns(variant: Variant, outdir: string, runs: number): { label: string; median: number; min: number } {
  const times = Array.from({ length: runs }, () => timeRun(variant, outdir)).sort((a, b) => a - b);
  return { label: variant.label, median: times[Math.floor(times.length / 2)], min: times[0] };
}

function timeRun(variant: Variant, outdir: string): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(variant.command, variant.args, {
    cwd: ROOT,
    env: { ...process.env, CDK8S_OUTDIR: outdir, ...variant.env?.() },
    stdio: 'pipe',
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${variant.label} failed (${result.status}): ${result.stderr}`);
  return seconds;
}

function main(): number {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, json: { type: 'string' } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
    console.error(`invalid --runs=${JSON.stringify(values.runs)}: expected an integer from 1 to 100`);
    return 2;
  }
  const work = mkdtempSync(path.join(tmpdir(), 'bench-synth-'));
  try {
    const outdir = path.join(work, 'dist');
    let coldRuns = 0;
    const variants: Variant[] = [
      {
        label: 'node -r scripts/register.js main.ts (warm cache)',
        command: process.execPath,
        args: ['-r', './scripts/register.js', 'main.ts'],
      },
      {
        label: 'node -r scripts/register.js main.ts (cold cache)',
        command: process.execPath,
        args: ['-r', './scripts/register.js', 'main.ts'],
        env: () => ({ SWC_REGISTER_CACHE_DIR: path.join(work, `cache-${coldRuns++}`) }),
      },
      { label: 'npm run synth (warm cache)', command: 'npm', args: ['run', '--silent', 'synth'] },
      {
        label: 'node -r ts-node/register main.ts (swc, no cache)',
        command: process.execPath,
        args: ['-r', 'ts-node/register', 'main.ts'],
      },
    ];
    // One unmeasured run fills the real cache and the OS file cache.
    timeRun(variants[0], outdir);
    const rows = variants.map((variant) => timeRuns(variant, outdir, runs));
    if (haveCommand('kubectl')) {
      // Every directory synth wrote a Kustomization file into: each environment × strategy, and Argo CD's.
      const dirs = readdirSync(outdir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile() && entry.name === KUSTOMIZATION_FILE)
        .map((entry) => entry.parentPath);
      const kustomize: Variant = {
        label: `kubectl kustomize, each of ${dirs.length} directories`,
        command: 'sh',
        args: ['-c', dirs.map((dir) => `kubectl kustomize ${dir} >/dev/null`).join(' && ')],
      };
      rows.push(timeRuns(kustomize, outdir, runs));
    } else {
      console.log('kubectl not found: no kustomize figure');
    }

    const seconds = (s: number) => `${s.toFixed(2)} s`;
    console.log(
      `synth of ${Object.keys(ENVIRONMENTS).join(' + ')} (every strategy) and Argo CD, ${runs} runs each, ${cpus().length} cores, node ${process.version}\n`,
    );
    console.log(
      table([
        ['variant', '', 'median', 'fastest'],
        ...rows.map((r) => [r.label, '', seconds(r.median), seconds(r.min)]),
      ]),
    );
    const npmRun = rows.find((r) => r.label.startsWith('npm run synth'))!;
    console.log(
      `\ntarget: npm run synth <= ${TARGET_SECONDS.toFixed(1)} s: ${npmRun.median <= TARGET_SECONDS ? 'met' : 'NOT met'} (median ${seconds(npmRun.median)})`,
    );
    if (values.json)
      writeFileSync(
        values.json,
        `${JSON.stringify({ cores: cpus().length, node: process.version, runs, rows }, null, 2)}\n`,
      );
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = main();
