/**
 * `--format sarif`: SARIF 2.1.0 (OASIS, errata 01), which CI systems (GitHub code scanning among them) turn into
 * annotations on a pull request. Tests validate the output against the official schema (upstream/schemas/).
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CheckReport } from '../check';
import { describe, type Finding } from '../findings';
import type { ObjectRef } from '../graph';
import { STDIN } from '../input';

export const SARIF_SCHEMA_URI =
  'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

/** A file path as a SARIF artifact URI: relative paths stay relative (to where the check ran), absolute become file:. */
function artifactUri(file: string): string {
  if (path.isAbsolute(file)) return pathToFileURL(file).href;
  return file.split(path.sep).map(encodeURIComponent).join('/');
}

function location(ref: ObjectRef, id?: number) {
  const logicalLocations = [{ name: ref.name, fullyQualifiedName: describe(ref), kind: 'resource' }];
  // Standard input has no file to point at: the object's name is the location.
  const physicalLocation =
    ref.location.file === STDIN
      ? undefined
      : { artifactLocation: { uri: artifactUri(ref.location.file) }, region: { startLine: ref.location.line } };
  return { id, physicalLocation, logicalLocations, message: id === undefined ? undefined : { text: describe(ref) } };
}

export function formatSarif(report: CheckReport): string {
  const ruleIndex = new Map(report.rules.map((rule, i) => [rule.id, i]));
  const result = (finding: Finding, suppression?: { kind: string; justification: string }) => ({
    ruleId: finding.rule,
    ruleIndex: ruleIndex.get(finding.rule),
    level: finding.severity,
    message: {
      text: `${describe(finding.object)}${finding.path === undefined ? '' : ` (${finding.path})`}: ${finding.message}. Fix: ${finding.fix}`,
    },
    locations: [location(finding.object)],
    relatedLocations: finding.related.length === 0 ? undefined : finding.related.map((ref, i) => location(ref, i)),
    suppressions: suppression === undefined ? undefined : [suppression],
    properties: { fix: finding.fix, path: finding.path },
  });
  const log = {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'grpc-lb-check',
            rules: report.rules.map((rule) => ({
              id: rule.id,
              shortDescription: { text: rule.title },
              fullDescription: { text: rule.why },
              help: { text: `${rule.why}\nSource: ${rule.source}` },
              defaultConfiguration: { level: rule.severity },
            })),
          },
        },
        results: [
          ...report.findings.map((finding) => result(finding)),
          // Suppressed findings stay in the log, marked (SARIF 2.1.0 §3.35 suppressions): CI shows them as dismissed.
          ...report.suppressed.map(({ finding, reason, by }) =>
            result(finding, { kind: by.startsWith('annotation') ? 'inSource' : 'external', justification: reason }),
          ),
        ],
        columnKind: 'unicodeCodePoints',
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
