/**
 * Synthesizes every environment into dist/<env>/ (or only those named: `npm run synth -- docker-desktop`).
 * Thin on purpose: the constructs in lib/ hold the logic. `npm run synth` and `npx cdk8s synth` both run this file.
 */
import * as path from 'node:path';
import { App } from 'cdk8s';
import { ENVIRONMENTS, environment, istioIlbWalkthrough } from './lib';

export function synthesize(outdir: string, names: readonly string[] = Object.keys(ENVIRONMENTS)): void {
  // Build every environment before writing any: an unknown name or a bad prop fails with nothing written.
  const apps = names.map(environment).map((env) => {
    const app = new App({ outdir: path.join(outdir, env.name) });
    istioIlbWalkthrough(app, env);
    return app;
  });
  for (const app of apps) app.synth();
}

if (require.main === module) {
  try {
    synthesize(process.env.CDK8S_OUTDIR ?? 'dist', process.argv.length > 2 ? process.argv.slice(2) : undefined);
  } catch (error) {
    console.error(`synth: ${(error as Error).message}`);
    process.exit(1);
  }
}
