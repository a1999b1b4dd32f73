/**
 * The GitOps side of dist/: Argo CD Applications that deploy each environment's chosen strategy from this repository,
 * and, per environment, the app of apps that deploys that environment's Applications.
 */
import { Chart, type App } from 'cdk8s';
import { ArgoCdApplication, type ArgoCdSyncPolicy } from './argo-cd-application';
import { argoCdClusters, type ArgoCdCluster, type EnvironmentConfig } from './environments';
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

/** What a fork edits (repoURL, targetRevision) before `npm run synth`: every Application takes it from here. */
export const GITOPS: GitOpsConfig = {
  repoURL: 'https://github.com/example-org/grpc-k8s-lb.git',
  targetRevision: 'main',
  distPath: 'dist',
  argoCdNamespace: 'argocd',
  project: 'default',
  // dist/ is generated and reviewed in git: what left git should leave the cluster, and hand edits are undone.
  syncPolicy: { automated: true, prune: true, selfHeal: true },
};

/**
 * Where one cluster's Argo CD manifests go under dist/: its Applications, and the root (app of apps) that deploys
 * them. One root per cluster, because one Argo CD runs in each cluster: a root that deployed every cluster's
 * Applications would put the other clusters' objects into this one. An environment's own cluster is named like it.
 */
export function argoCdDirs(cluster: Pick<ArgoCdCluster, 'name'>): {
  readonly applications: string;
  readonly root: string;
} {
  return { applications: `argocd/${cluster.name}/applications`, root: `argocd/${cluster.name}/root` };
}

/** The clusters of an environment (checked: each deploys a strategy the environment renders). */
export function environmentClusters(env: EnvironmentConfig): ArgoCdCluster[] {
  environmentStrategies(env);
  return argoCdClusters(env);
}

/** A cluster's Applications: one, deploying `dist/<env>/<cluster.strategy>` to the cluster. */
export function argoCdApplications(
  app: App,
  env: EnvironmentConfig,
  cluster: ArgoCdCluster = environmentClusters(env)[0],
  gitops: GitOpsConfig = GITOPS,
): ArgoCdApplication[] {
  const chart = new Chart(app, 'applications');
  return [
    new ArgoCdApplication(chart, 'application', {
      name: `greeter-${cluster.name}`,
      repoURL: gitops.repoURL,
      targetRevision: gitops.targetRevision,
      path: `${gitops.distPath}/${env.name}/${cluster.strategy}`,
      destinationServer: cluster.destinationServer,
      destinationNamespace: env.namespaces.app,
      argoCdNamespace: existingNamespace(gitops.argoCdNamespace),
      project: gitops.project,
      syncPolicy: gitops.syncPolicy,
    }),
  ];
}

/**
 * A cluster's app of apps: one Application, applied by hand once to the cluster's Argo CD, that deploys the cluster's
 * Applications (`dist/argocd/<cluster>/applications`) and nothing else.
 */
export function argoCdRootApplication(
  app: App,
  cluster: Pick<ArgoCdCluster, 'name'>,
  gitops: GitOpsConfig = GITOPS,
): ArgoCdApplication {
  const chart = new Chart(app, 'root');
  return new ArgoCdApplication(chart, 'application', {
    name: ROOT_APPLICATION_NAME,
    repoURL: gitops.repoURL,
    targetRevision: gitops.targetRevision,
    path: `${gitops.distPath}/${argoCdDirs(cluster).applications}`,
    destinationNamespace: gitops.argoCdNamespace,
    argoCdNamespace: existingNamespace(gitops.argoCdNamespace),
    project: gitops.project,
    syncPolicy: gitops.syncPolicy,
  });
}

/** The root Application's name: the same in every cluster, since each cluster's Argo CD holds one root. */
export const ROOT_APPLICATION_NAME = 'grpc-k8s-lb';
