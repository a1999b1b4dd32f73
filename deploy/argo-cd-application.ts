import { Construct } from 'constructs';
import * as argo from '../imports/argoproj.io';
import { PropValidator, type INamespace } from '../lib';

/** How Argo CD keeps the cluster in step with git. */
export interface ArgoCdSyncPolicy {
  /**
   * Sync on every new commit, without a person pressing Sync.
   * @default true
   */
  readonly automated?: boolean;
  /**
   * Delete objects that were removed from git (only with `automated`).
   * @default false (Argo CD's own default: nothing is deleted unless asked)
   */
  readonly prune?: boolean;
  /**
   * Undo changes made in the cluster by hand (only with `automated`).
   * @default false
   */
  readonly selfHeal?: boolean;
}

export interface ArgoCdApplicationProps {
  /** Name of the Application. */
  readonly name: string;
  /** Git repository Argo CD reads, such as `https://github.com/example-org/grpc-k8s-lb.git`. */
  readonly repoURL: string;
  /** Branch, tag or commit to follow. */
  readonly targetRevision: string;
  /** Directory in the repository: a synthesized `dist/<env>/<strategy>` (its `Kustomization` file lists the files). */
  readonly path: string;
  /** The namespace of objects that name none; with `CreateNamespace=true` Argo CD creates it if missing. */
  readonly destinationNamespace: string;
  /**
   * The cluster to deploy to, by API server URL as registered in Argo CD.
   * @default 'https://kubernetes.default.svc' (the cluster Argo CD runs in)
   */
  readonly destinationServer?: string;
  /**
   * Namespace Argo CD runs in and reads Applications from.
   * @default 'argocd'
   */
  readonly argoCdNamespace?: INamespace;
  /**
   * Argo CD project.
   * @default 'default'
   */
  readonly project?: string;
  /**
   * Sync policy.
   * @default { automated: true, prune: false, selfHeal: false }
   */
  readonly syncPolicy?: ArgoCdSyncPolicy;
  /**
   * `argocd.argoproj.io/sync-wave` of the Application itself, for an app of apps that orders its children.
   * @default - none (wave 0)
   */
  readonly syncWave?: number;
}

// A host (no space, no "/") after https://, then an optional path.
const API_SERVER_URL = /^https:\/\/[^\s/]+(\/[^\s]*)?$/;

/** A Kubernetes API server URL, as Argo CD registers a cluster: `https://kubernetes.default.svc`. */
export function apiServerUrl(check: PropValidator, prop: string, value: string): string {
  if (typeof value !== 'string' || !API_SERVER_URL.test(value))
    throw check.error(prop, value, 'an https:// API server URL');
  return value;
}

const GIT_URL = /^(https:\/\/[^\s]+|ssh:\/\/[^\s]+|git@[^\s:]+:[^\s]+)$/;
const REPO_PATH = /^(?!\/)(?!.*\.\.)[A-Za-z0-9._/-]+$/;

/**
 * An Argo CD `Application` (argoproj.io/v1alpha1) that deploys one directory of this repository's dist/ to a cluster.
 * `CreateNamespace=true` is always set; `PruneLast=true` deletes removed objects only after everything else synced.
 */
export class ArgoCdApplication extends Construct {
  readonly name: string;
  readonly application: argo.Application;

  constructor(scope: Construct, id: string, props: ArgoCdApplicationProps) {
    super(scope, id);
    const check = PropValidator.of(this);
    this.name = check.dnsSubdomain('name', props.name);
    if (typeof props.repoURL !== 'string' || !GIT_URL.test(props.repoURL)) {
      throw check.error('repoURL', props.repoURL, 'a git URL (https://, ssh:// or git@host:path)');
    }
    if (
      typeof props.targetRevision !== 'string' ||
      props.targetRevision.trim() === '' ||
      /\s/.test(props.targetRevision)
    ) {
      throw check.error('targetRevision', props.targetRevision, 'a branch, tag or commit');
    }
    if (typeof props.path !== 'string' || !REPO_PATH.test(props.path)) {
      throw check.error('path', props.path, 'a relative directory in the repository, without ".."');
    }
    const destinationNamespace = check.dnsLabel('destinationNamespace', props.destinationNamespace);
    const server = apiServerUrl(
      check,
      'destinationServer',
      props.destinationServer ?? 'https://kubernetes.default.svc',
    );
    const project = check.dnsSubdomain('project', props.project ?? 'default');
    const { automated = true, prune = false, selfHeal = false } = props.syncPolicy ?? {};
    if (!automated && (prune || selfHeal))
      throw check.error('syncPolicy', props.syncPolicy, 'automated where prune or selfHeal is set');
    const syncWave = props.syncWave;
    if (syncWave !== undefined && !Number.isInteger(syncWave)) throw check.error('syncWave', syncWave, 'an integer');

    const spec: argo.ApplicationSpec = {
      project,
      source: { repoUrl: props.repoURL, targetRevision: props.targetRevision, path: props.path },
      destination: { server, namespace: destinationNamespace },
      syncPolicy: {
        ...(automated ? { automated: { prune, selfHeal } } : {}),
        syncOptions: ['CreateNamespace=true', 'PruneLast=true'],
      },
    };
    this.application = new argo.Application(this, 'Resource', {
      metadata: {
        name: this.name,
        namespace: (props.argoCdNamespace ?? { name: 'argocd' }).name,
        annotations: syncWave === undefined ? undefined : { [SYNC_WAVE_ANNOTATION]: String(syncWave) },
        // Deleting the Application deletes what it deployed (Argo CD's cascade), rather than orphaning it.
        finalizers: ['resources-finalizer.argocd.argoproj.io'],
      },
      spec,
    });
  }
}

/** The annotation Argo CD orders a sync by: lower waves are applied, and healthy, before higher ones. */
export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';
