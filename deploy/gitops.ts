/**
 * The GitOps side of dist/: Argo CD Applications that deploy each environment's chosen strategy from this repository,
 * and the app of apps that deploys those Applications.
 */
import { Chart, type App } from 'cdk8s';
import { ArgoCdApplication, type ArgoCdSyncPolicy } from './argo-cd-application';
import type { EnvironmentConfig } from './environments';
import { environmentStrategies } from './strategies';
import { existingNamespace } from '../lib';

/** Where Argo CD finds this repository, and how it syncs it. */
export interface GitOpsConfig {
  /** The repository Argo CD clones: set it to your fork. */
  readonly repoURL: string;
  /** Branch, tag or commit Argo CD follows. */
  readonly targetRevision: string;
  /** The directory `npm run synth` writes, relative to the repository root. */
  readonly distPath: string;
  /** Namespace Argo CD runs in. */
  readonly argoCdNamespace: string;
  readonly project: string;
  readonly syncPolicy: ArgoCdSyncPolicy;
}

export const GITOPS: GitOpsConfig = {
  repoURL: 'https://github.com/example-org/grpc-k8s-lb.git',
  targetRevision: 'main',
  distPath: 'dist',
  argoCdNamespace: 'argocd',
  project: 'default',
  // dist/ is generated and reviewed in git: what left git should leave the cluster, and hand edits are undone.
  syncPolicy: { automated: true, prune: true, selfHeal: true },
};

/** Where the Argo CD manifests go under dist/: the children (one Application per environment), and the root. */
export const ARGO_CD_DIRS = { applications: 'argocd/applications', root: 'argocd/root' } as const;

/** The strategy an environment's Application deploys (checked: one the environment renders). */
function deployedStrategy(env: EnvironmentConfig): string {
  environmentStrategies(env);
  return env.argoCd.strategy;
}

/** One Application per environment, deploying `dist/<env>/<argoCd.strategy>` to the environment's cluster. */
export function argoCdApplications(app: App, envs: readonly EnvironmentConfig[], gitops: GitOpsConfig = GITOPS): ArgoCdApplication[] {
  return envs.map((env) => {
    const chart = new Chart(app, env.name);
    return new ArgoCdApplication(chart, 'application', {
      name: `greeter-${env.name}`,
      repoURL: gitops.repoURL,
      targetRevision: gitops.targetRevision,
      path: `${gitops.distPath}/${env.name}/${deployedStrategy(env)}`,
      destinationServer: env.argoCd.destinationServer,
      destinationNamespace: env.namespaces.app,
      argoCdNamespace: existingNamespace(gitops.argoCdNamespace),
      project: gitops.project,
      syncPolicy: gitops.syncPolicy,
    });
  });
}

/** The app of apps: one Application, applied by hand once, that deploys every Application in `dist/argocd/applications`. */
export function argoCdRootApplication(app: App, gitops: GitOpsConfig = GITOPS): ArgoCdApplication {
  const chart = new Chart(app, 'root');
  return new ArgoCdApplication(chart, 'application', {
    name: 'grpc-k8s-lb',
    repoURL: gitops.repoURL,
    targetRevision: gitops.targetRevision,
    path: `${gitops.distPath}/${ARGO_CD_DIRS.applications}`,
    destinationNamespace: gitops.argoCdNamespace,
    argoCdNamespace: existingNamespace(gitops.argoCdNamespace),
    project: gitops.project,
    syncPolicy: gitops.syncPolicy,
  });
}
