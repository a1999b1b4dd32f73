/**
 * The rollout race on one path, in a process of its own, for the test of a path whose client jest's module loader
 * cannot load (the kubernetes path: @kubernetes/client-node is ESM-only, which Node 20 requires and jest cannot):
 *
 *   node -r ./scripts/register.js harness/race-run.ts <path name> <time scale>
 *
 * runs harness/strategy-run.ts's runRace with every data plane's default lag, 4 callers, 50 successful calls before
 * and 100 calls after the rollout, and writes the figures as one JSON line on stdout.
 */
// First: grpc-js must read GRPC_NODE_USE_ALTERNATIVE_RESOLVER as it loads, so a DNS path can name its server.
import './dns-authority';
import { runRace, type RaceScenario } from './strategy-run';
import { DATA_PLANES, strategyPaths, type DataPlaneName } from './strategy-paths';

/** What the test and this process agree on: the race at the test's scale, its phases a number of calls. */
export const RACE_OF_THE_TEST: RaceScenario = {
  concurrency: 4,
  pauseMs: 0,
  warmup: { calls: 50 },
  settle: { calls: 100 },
  lagsMs: Object.fromEntries(Object.entries(DATA_PLANES).map(([name, { lagMs }]) => [name, lagMs])) as Record<
    DataPlaneName,
    number
  >,
};

async function main(name: string | undefined, timeScale: number): Promise<void> {
  const path = strategyPaths({ maxConnectionAgeMs: 500 }).find((candidate) => candidate.name === name);
  if (!path) throw new Error(`race-run: no path named ${JSON.stringify(name)}`);
  const figures = await runRace(path, RACE_OF_THE_TEST, () => undefined, timeScale);
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

if (require.main === module) {
  main(process.argv[2], Number(process.argv[3])).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`race-run: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
