/** This repository's deployment: the environments it renders, their strategies, and the GitOps side of dist/. */
export * from './environments';
export * from './gitops';
export * from './strategy';
export * from './strategies';
export { SYNC_WAVE_ANNOTATION } from './argo-cd-application';
export { annotateSyncWaves } from './sync-waves';
