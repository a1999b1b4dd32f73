/**
 * Every object in the committed dist/ passes validation as strict as an API server's, on Kubernetes 1.27 and 1.32:
 * built-in kinds against the Kubernetes definitions, custom kinds (Argo CD's Applications too) against their CRDs'
 * schemas and CEL rules.
 */
import * as path from 'node:path';
import { ROOT } from '../../../harness/processes';
import { manifestDirs, readManifestDir } from '../../../harness/manifests';
import { DEFAULT_KUBERNETES_VERSIONS, formatIssue, validateObjects } from '../../../check/validation';

const DIST = path.join(ROOT, 'dist');
const objects = manifestDirs(DIST).flatMap((dir) => readManifestDir(dir).flatMap((file) => file.objects));
const CUSTOM_GROUPS =
  /\.istio\.io\/|^gateway\.networking\.k8s\.io\/|^gateway\.envoyproxy\.io\/|^networking\.gke\.io\/|^argoproj\.io\//;

test(`every object in dist/ is valid on Kubernetes ${DEFAULT_KUBERNETES_VERSIONS.join(' and ')}, CEL rules included`, () => {
  const report = validateObjects(objects);
  const byReason = new Map<string, number>();
  for (const skip of report.celRulesSkipped) byReason.set(skip.reason, (byReason.get(skip.reason) ?? 0) + 1);
  const custom = objects.filter((o) => CUSTOM_GROUPS.test(o.apiVersion));
  process.stdout.write(
    `dist/: ${objects.length} objects (${custom.length} custom) on Kubernetes ${DEFAULT_KUBERNETES_VERSIONS.join(', ')}: ` +
      `${report.celRulesEvaluated} CEL rule evaluations, ${report.celRulesSkipped.length} rules skipped` +
      `${[...byReason].map(([reason, n]) => `\n  skipped ×${n}: ${reason}`).join('')}, ${report.issues.length} violations\n`,
  );
  expect(report.issues.map(formatIssue)).toEqual([]);
  expect(report.unknownKinds).toEqual([]);
  expect(custom.length).toBeGreaterThan(0);
  expect(report.celRulesEvaluated).toBeGreaterThan(custom.length);
});
