/**
 * Synthesizes the manifests into dist/. Thin on purpose: the constructs in lib/ hold the logic.
 * `npm run synth` and `npx cdk8s synth` both run this file.
 */
import { App, Chart } from 'cdk8s';
import { AppNamespace } from './lib';

export function synthesize(outdir: string): App {
  const app = new App({ outdir });
  const chart = new Chart(app, 'testing');
  new AppNamespace(chart, 'namespace', { name: 'testing' });
  app.synth();
  return app;
}

if (require.main === module) {
  synthesize(process.env.CDK8S_OUTDIR ?? 'dist');
}
