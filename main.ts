/**
 * Synthesizes dist/: every environment's strategies into dist/<env>/<strategy>/ and, for each of its clusters, Argo CD
 * Applications and root into dist/argocd/<cluster>/, each directory with a `Kustomization` file listing its files. Or only the targets named:
 * `npm run synth -- docker-desktop` (all its strategies), `npm run synth -- gke/linkerd` (one), `npm run synth -- argocd`.
 * Thin on purpose: the constructs in lib/ hold the logic. `npm run synth` and `npx cdk8s synth` both run this file.
 */
import { existsSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'cdk8s';
import { KUSTOMIZATION_FILE_NAMES, writeKustomization } from './deploy/kustomization';
import {
  ENVIRONMENTS,
  annotateSyncWaves,
  argoCdApplications,
  argoCdDirs,
  argoCdRootApplication,
  environment,
  environmentClusters,
  environmentStrategies,
} from './deploy';

const ARGO_CD_TARGET = 'argocd';

/** The Apps one target name stands for, each with the directory under dist/ it writes. */
function appsFor(outdir: string, target: string): App[] {
  const newApp = (dir: string) => new App({ outdir: path.join(outdir, dir) });
  if (target === ARGO_CD_TARGET) {
    const clusters = Object.values(ENVIRONMENTS).flatMap((env) =>
      environmentClusters(env).map((cluster) => ({ env, cluster })),
    );
    const names = clusters.map(({ cluster }) => cluster.name);
    const repeated = names.find((name, index) => names.indexOf(name) !== index);
    if (repeated !== undefined)
      throw new Error(
        `Argo CD cluster ${JSON.stringify(repeated)} is named twice: dist/argocd/${repeated}/ would hold both`,
      );
    return clusters.flatMap(({ env, cluster }) => {
      const dirs = argoCdDirs(cluster);
      const applications = newApp(dirs.applications);
      argoCdApplications(applications, env, cluster);
      const root = newApp(dirs.root);
      argoCdRootApplication(root, cluster);
      return [applications, root];
    });
  }
  const [envName, strategyName, ...rest] = target.split('/');
  const env = environment(envName);
  const strategies = environmentStrategies(env);
  const chosen = strategyName === undefined ? strategies : strategies.filter((s) => s.name === strategyName);
  if (chosen.length === 0 || rest.length > 0) {
    throw new Error(
      `unknown strategy ${JSON.stringify(target)}: ${env.name} renders ${strategies.map((s) => JSON.stringify(`${env.name}/${s.name}`)).join(', ')}`,
    );
  }
  return chosen.map((strategy) => {
    const app = newApp(path.join(env.name, strategy.name));
    strategy.render(app, env);
    annotateSyncWaves(app);
    return app;
  });
}

/**
 * Removes what an earlier synth wrote under `dir` (and directories left empty), so no stale file survives: also a
 * kustomization file under another recognised name, since Kustomize refuses a directory with two.
 */
function removeSynthOutput(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const entryPath = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      removeSynthOutput(entryPath);
      if (readdirSync(entryPath).length === 0) rmdirSync(entryPath);
    } else if (entry.name.endsWith('.k8s.yaml') || KUSTOMIZATION_FILE_NAMES.includes(entry.name)) {
      rmSync(entryPath);
    }
  }
}

export const ALL_TARGETS: readonly string[] = [...Object.keys(ENVIRONMENTS), ARGO_CD_TARGET];

/**
 * Throws, naming the target and the ones there are, unless each is a target `npm run synth -- <target>` takes.
 * Builds the Apps in memory and writes nothing.
 */
export function checkTargets(targets: readonly string[]): void {
  for (const target of targets) appsFor('dist', target);
}

export function synthesize(outdir: string, targets: readonly string[] = ALL_TARGETS): void {
  // Build every app before writing any: an unknown name or a bad prop fails with nothing written.
  const apps = targets.flatMap((target) => appsFor(outdir, target));
  // A full synth owns all of dist/ (a strategy dropped from an environment disappears); a partial one its directories.
  for (const dir of targets === ALL_TARGETS ? [outdir] : apps.map((app) => app.outdir)) removeSynthOutput(dir);
  for (const app of apps) {
    app.synth();
    writeKustomization(app.outdir);
  }
}

if (require.main === module) {
  try {
    synthesize(process.env.CDK8S_OUTDIR ?? 'dist', process.argv.length > 2 ? process.argv.slice(2) : undefined);
  } catch (error) {
    console.error(`synth: ${(error as Error).message}`);
    process.exit(1);
  }
}
