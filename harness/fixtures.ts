/**
 * The constructs most tests start from: the app's namespace, a greeter and an Istio gateway, in a test chart; and a
 * strategy as `npm run synth` renders it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Chart, Testing } from 'cdk8s';
import { AppNamespace, IstioIlbGateway, existingNamespace } from '../lib';
import { ENVIRONMENTS, type EnvironmentConfig, type Strategy, type StrategyOutput } from '../deploy';
import { GreeterApp } from '../deploy/greeter-app';
import { readManifestDir } from './manifests';

export const image = { repository: 'greeter-server', tag: '1.0.0' };

export function fixture(chart: Chart = Testing.chart()) {
  const namespace = new AppNamespace(chart, 'ns', { name: 'testing' });
  const app = new GreeterApp(chart, 'greeter', { namespace, image });
  const gateway = new IstioIlbGateway(chart, 'gateway', {
    namespace: existingNamespace('istio-system'),
    configNamespace: namespace,
    host: 'grpc.example.com',
    tlsSecretName: 'grpc-tls',
  });
  return { chart, namespace, app, gateway };
}

/**
 * A strategy rendered for each environment that picks it, as `npm run synth` writes it: the environments, and by
 * environment name the strategy's output and its files read back (from a temporary directory, removed after).
 */
export function renderedStrategy<Output extends StrategyOutput>(strategy: Strategy<Output>) {
  const environments = (Object.values(ENVIRONMENTS) as EnvironmentConfig[]).filter((env) =>
    env.strategies.includes(strategy.name),
  );
  const outdir = mkdtempSync(path.join(tmpdir(), `${strategy.name}-`));
  try {
    const rendered = Object.fromEntries(
      environments.map((env) => {
        const app = new App({ outdir: path.join(outdir, env.name) });
        const output = strategy.render(app, env);
        app.synth();
        return [env.name, { output, files: readManifestDir(app.outdir) }];
      }),
    );
    return { environments, rendered };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
