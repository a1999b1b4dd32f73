/**
 * The ObjectMeta checks every create goes through, built-in or custom (k8s.io/apimachinery
 * pkg/api/validation/objectmeta.go, ValidateObjectMeta): a name or generateName, a namespace that is a DNS-1123
 * label, label keys and values, annotation keys and the 256 KiB limit on all annotations together.
 */
import { dns1123Label, labelValue, qualifiedName } from 'grpc-k8s-lb-common';
import type { SchemaIssue } from './schema';
import { indexPath, isJsonObject, type Json } from './schema-types';

const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function metadataIssues(metadata: Json | undefined): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const report = (path: string, message: string) => issues.push({ path, message });
  if (!isJsonObject(metadata)) {
    report('metadata', 'Required value: name or generateName is required');
    return issues;
  }
  const { name, generateName, namespace, labels, annotations } = metadata;
  if (!name && !generateName) report('metadata.name', 'Required value: name or generateName is required');
  if (typeof namespace === 'string' && namespace !== '') {
    for (const error of dns1123Label(namespace))
      report('metadata.namespace', `Invalid value: ${JSON.stringify(namespace)}: ${error}`);
  }
  if (isJsonObject(labels)) {
    for (const [key, value] of Object.entries(labels)) {
      for (const error of qualifiedName(key))
        report('metadata.labels', `Invalid value: ${JSON.stringify(key)}: ${error}`);
      if (typeof value === 'string')
        for (const error of labelValue(value))
          report(indexPath('metadata.labels', key), `Invalid value: ${JSON.stringify(value)}: ${error}`);
    }
  }
  if (isJsonObject(annotations)) {
    let size = 0;
    for (const [key, value] of Object.entries(annotations)) {
      // Annotation keys are checked lower-cased: upper-case letters are allowed there.
      for (const error of qualifiedName(key.toLowerCase()))
        report('metadata.annotations', `Invalid value: ${JSON.stringify(key)}: ${error}`);
      size += Buffer.byteLength(key) + (typeof value === 'string' ? Buffer.byteLength(value) : 0);
    }
    if (size > TOTAL_ANNOTATION_SIZE_LIMIT)
      report('metadata.annotations', `Too long: must have at most ${TOTAL_ANNOTATION_SIZE_LIMIT} bytes`);
  }
  return issues;
}
