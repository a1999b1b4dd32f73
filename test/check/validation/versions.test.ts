/**
 * Validating against several Kubernetes versions at once reports what validating against each alone reports: an
 * issue with no version is found by every version alone, an issue marked with a version by that version alone and
 * by no other; CEL evaluations add up, and the rules skipped are the union. validateObjects does the work that does
 * not depend on the version (a custom object's defaulting, schema and CEL rules) once for all of them: this keeps
 * that honest on dist/, the checker's corpus and their broken variants.
 */
import { validateObjects, type ValidationIssue } from '../../../check/validation';
import { HELD_KUBERNETES_VERSIONS as VERSIONS, manifestCorpus, variantsOf } from './variants';

const key = (issue: ValidationIssue) =>
  JSON.stringify([issue.objectIndex, issue.kind, issue.path, issue.message, issue.rule]);

describe.each(Object.entries(variantsOf(manifestCorpus())))('dist/ and the corpus %s', (_, objects) => {
  const together = validateObjects(objects, { kubernetesVersions: VERSIONS });
  const alone = VERSIONS.map((version) => validateObjects(objects, { kubernetesVersions: [version] }));
  const foundAlone = alone.map((report) => new Set(report.issues.map(key)));

  test(`the issues on ${VERSIONS.join(' and ')} together are those on each alone`, () => {
    for (const issue of together.issues) {
      const foundBy = VERSIONS.filter((_version, v) => foundAlone[v].has(key(issue)));
      expect({ issue, foundBy }).toEqual({
        issue,
        foundBy: issue.kubernetesVersion === undefined ? VERSIONS : [issue.kubernetesVersion],
      });
    }
    const foundTogether = new Set(together.issues.map(key));
    for (const report of alone) expect(report.issues.filter((issue) => !foundTogether.has(key(issue)))).toEqual([]);
    expect(alone.every((report) => report.issues.every((issue) => issue.kubernetesVersion === undefined))).toBe(true);
  });

  test('CEL evaluations add up, skipped rules are the union, unknown kinds the same', () => {
    expect(together.celRulesEvaluated).toBe(alone.reduce((sum, report) => sum + report.celRulesEvaluated, 0));
    const skipKey = (s: object) => JSON.stringify(s);
    expect(new Set(together.celRulesSkipped.map(skipKey))).toEqual(
      new Set(alone.flatMap((report) => report.celRulesSkipped.map(skipKey))),
    );
    for (const report of alone) expect(report.unknownKinds.length).toBeGreaterThanOrEqual(together.unknownKinds.length);
  });
});
