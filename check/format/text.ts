/** The default output: findings grouped by object, each with why it matters and the fix. */
import type { CheckReport } from '../check';
import type { ManifestInput } from '../input';
import { describe, type Finding } from '../findings';
import { whereIs } from './location';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function formatText(report: CheckReport, input: Pick<ManifestInput, 'files' | 'skipped'>): string {
  const { files } = input;
  const why = new Map(report.rules.map((rule) => [rule.id, rule.why]));
  const groups = new Map<number, Finding[]>();
  for (const finding of report.findings)
    groups.set(finding.object.index, [...(groups.get(finding.object.index) ?? []), finding]);
  const lines: string[] = [];
  for (const findings of groups.values()) {
    const { object } = findings[0];
    lines.push(`${describe(object)}  ${whereIs(object)}`);
    for (const finding of findings) {
      lines.push(
        `  ${finding.severity.padEnd(7)} ${finding.rule}${finding.path === undefined ? '' : `  at ${finding.path}`}`,
      );
      lines.push(`          ${finding.message}`);
      lines.push(`          why: ${why.get(finding.rule) ?? ''}`);
      lines.push(`          fix: ${finding.fix}`);
      for (const related of finding.related) lines.push(`          see: ${describe(related)}  ${whereIs(related)}`);
    }
    lines.push('');
  }
  if (report.suppressed.length > 0) {
    lines.push(`suppressed (${plural(report.suppressed.length, 'finding')}, not counted):`);
    for (const { finding, reason, by } of report.suppressed)
      lines.push(`  ${finding.rule} on ${describe(finding.object)}  ${whereIs(finding.object)}: ${reason} (${by})`);
    lines.push('');
  }
  if (input.skipped.length > 0) {
    lines.push(`skipped (not Kubernetes objects, ${plural(input.skipped.length, 'file')}):`);
    for (const { file, reason } of input.skipped) lines.push(`  ${file}: ${reason}`);
    lines.push('');
  }
  const cel =
    report.celRulesEvaluated + report.celRulesSkipped.length > 0
      ? `; ${plural(report.celRulesEvaluated, 'CEL rule')} evaluated, ${report.celRulesSkipped.length} skipped`
      : '';
  const verdict =
    report.findings.length === 0
      ? 'no findings'
      : `${plural(report.errors, 'error')}, ${plural(report.warnings, 'warning')}`;
  lines.push(`${verdict} in ${plural(report.objects, 'object')} from ${plural(files.length, 'file')}${cel}`);
  return `${lines.join('\n')}\n`;
}
