/** A suppression annotation without the reason beside it: it suppresses nothing, and says so. */
import type { Finding, Rule } from '../findings';
import { IGNORE_ANNOTATION, IGNORE_REASON_ANNOTATION, objectIgnores } from '../suppression';

export const rule: Rule = {
  id: 'ignore-without-reason',
  title: `${IGNORE_ANNOTATION} without ${IGNORE_REASON_ANNOTATION}`,
  why: 'A suppressed finding is a decision someone made: without the reason, the next reader cannot tell a considered exception from a silenced fault, so the suppression takes effect only with its reason.',
  source: 'docs/grpc-lb-check.md (Suppressing a finding)',
  severity: 'warning',
  check({ graph }) {
    return graph.objects.flatMap((ref): Finding[] => {
      const ignores = objectIgnores(graph, ref);
      if (ignores === undefined || ignores.reason !== '') return [];
      return [
        {
          rule: rule.id,
          severity: 'warning',
          object: ref,
          path: `metadata.annotations.${IGNORE_ANNOTATION}`,
          message: `${IGNORE_ANNOTATION}: "${ignores.rules.join(',')}" has no ${IGNORE_REASON_ANNOTATION} beside it: the findings it names are still reported`,
          fix: `add the annotation ${IGNORE_REASON_ANNOTATION}: "<why this finding is acceptable here>"`,
          related: [],
        },
      ];
    });
  },
};
