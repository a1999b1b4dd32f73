/** grpc-lb-check as a library: read manifests, check them, format the report. */
export { checkManifests, DEFAULT_LINKERD_VERSION, type CheckOptions, type CheckReport } from './check';
export type { Finding, RuleInfo, Severity } from './findings';
export type { ObjectRef } from './graph';
export { formatJson } from './format/json';
export { formatSarif } from './format/sarif';
export { formatText } from './format/text';
export {
  InputError,
  MAX_INPUT_BYTES,
  parseManifests,
  readManifests,
  type KubeObject,
  type ManifestObject,
  type SourceLocation,
} from './input';
export { RULES } from './rules';
