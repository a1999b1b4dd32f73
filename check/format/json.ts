/**
 * `--format json`: the report as one JSON document, its shape described by json-report.schema.json beside this
 * file (which tests validate the output against).
 */
import type { CheckReport } from '../check';
import type { ObjectRef } from '../graph';
import type { ManifestInput } from '../input';

/** The JSON form of an object reference. */
export interface JsonObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  file: string;
  line: number;
  template?: string;
}

export const JSON_REPORT_VERSION = 1;

function jsonRef(ref: ObjectRef): JsonObjectRef {
  const { file, line, template } = ref.location;
  return { apiVersion: ref.apiVersion, kind: ref.kind, namespace: ref.namespace, name: ref.name, file, line, template };
}

export function formatJson(report: CheckReport, input: Pick<ManifestInput, 'files' | 'skipped'>): string {
  const rules = new Map(report.rules.map((rule) => [rule.id, rule]));
  return `${JSON.stringify(
    {
      version: JSON_REPORT_VERSION,
      tool: 'grpc-lb-check',
      summary: {
        errors: report.errors,
        warnings: report.warnings,
        objects: report.objects,
        files: [...input.files],
        skipped: input.skipped.map(({ file, reason }) => ({ file, reason })),
      },
      findings: report.findings.map((finding) => ({
        rule: finding.rule,
        severity: finding.severity,
        object: jsonRef(finding.object),
        path: finding.path,
        message: finding.message,
        why: rules.get(finding.rule)?.why,
        fix: finding.fix,
        source: rules.get(finding.rule)?.source,
        related: finding.related.map(jsonRef),
      })),
      suppressed: report.suppressed.map(({ finding, reason, by }) => ({
        rule: finding.rule,
        severity: finding.severity,
        object: jsonRef(finding.object),
        message: finding.message,
        reason,
        by,
      })),
      validation: { celRulesEvaluated: report.celRulesEvaluated, celRulesSkipped: report.celRulesSkipped },
    },
    null,
    2,
  )}\n`;
}
