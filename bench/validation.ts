/**
 * How long check/validation takes over all of dist/: prints figures, is not a test. Each run is its own process (as
 * `grpc-lb-check` runs): the module's import, the first validateObjects (cold: definitions and CRDs read, CEL runtime
 * loaded, rules compiled) and a second one in the same process (warm). Shows the median and the fastest of --runs runs
 * and the CEL counts, and writes them to --json (default bench/results/validation.json).
 *
 *   npm run bench:validation -- [--runs N] [--json PATH]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';

const ROOT = path.resolve(__dirname, '..');
const CHILD_FLAG = '--child';

interface RunFigures {
  objects: number;
  importMs: number;
  coldMs: number;
  warmMs: number;
  celRulesEvaluated: number;
  celRulesSkipped: number;
  issues: number;
}

const msSince = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

/** One measured run, in this process: the figures as JSON on stdout. */
function child(): void {
  // Read without harness/manifests, which imports the module being timed.
  const dist = path.join(ROOT, 'dist');
  const files = (readdirSync(dist, { recursive: true }) as string[]).filter((file) => file.endsWith('.k8s.yaml'));
  const objects = files.flatMap((file) =>
    parseAllDocuments(readFileSync(path.join(dist, file), 'utf8')).map((doc) => doc.toJS() as object),
  );
  let start = process.hrtime.bigint();
  const { validateObjects } = require('../check/validation') as typeof import('../check/validation');
  const importMs = msSince(start);
  start = process.hrtime.bigint();
  const report = validateObjects(objects);
  const coldMs = msSince(start);
  start = process.hrtime.bigint();
  validateObjects(objects);
  const warmMs = msSince(start);
  const figures: RunFigures = {
    objects: objects.length,
    importMs,
    coldMs,
    warmMs,
    celRulesEvaluated: report.celRulesEvaluated,
    celRulesSkipped: report.celRulesSkipped.length,
    issues: report.issues.length,
  };
  process.stdout.write(JSON.stringify(figures));
}

function main(): number {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      json: { type: 'string', default: path.join(ROOT, 'bench', 'results', 'validation.json') },
      child: { type: 'boolean' },
    },
  });
  if (values.child) {
    child();
    return 0;
  }
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) {
    console.error(`invalid --runs=${JSON.stringify(values.runs)}: expected an integer from 1 to 50`);
    return 2;
  }
  const results: RunFigures[] = [];
  for (let i = 0; i < runs; i++) {
    const run = spawnSync(process.execPath, ['-r', './scripts/register.js', __filename, CHILD_FLAG], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (run.status !== 0) throw new Error(`run ${i + 1} failed (${run.status}): ${run.stderr}`);
    results.push(JSON.parse(run.stdout) as RunFigures);
  }
  const stat = (pick: (r: RunFigures) => number) => {
    const sorted = results.map(pick).sort((a, b) => a - b);
    return { median: Math.round(sorted[Math.floor(sorted.length / 2)]), min: Math.round(sorted[0]) };
  };
  const [first] = results;
  const summary = {
    objects: first.objects,
    runs,
    importMs: stat((r) => r.importMs),
    coldMs: stat((r) => r.coldMs),
    warmMs: stat((r) => r.warmMs),
    celRulesEvaluated: first.celRulesEvaluated,
    celRulesSkipped: first.celRulesSkipped,
    issues: first.issues,
  };
  console.log(
    `check/validation over dist/ (${summary.objects} objects, Kubernetes 1.27.0 + 1.32.0), ${runs} processes, median (fastest):`,
  );
  console.log(`  import            ${summary.importMs.median} ms (${summary.importMs.min})`);
  console.log(
    `  first validation  ${summary.coldMs.median} ms (${summary.coldMs.min})  cold: schemas read, CEL loaded, rules compiled`,
  );
  console.log(`  second validation ${summary.warmMs.median} ms (${summary.warmMs.min})  warm`);
  console.log(
    `  CEL rule evaluations ${summary.celRulesEvaluated}, rules skipped ${summary.celRulesSkipped}, issues ${summary.issues}`,
  );
  writeFileSync(values.json!, `${JSON.stringify(summary, null, 2)}\n`);
  return 0;
}

process.exitCode = main();
