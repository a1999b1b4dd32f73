/** The strict schema and CEL validation (check/validation), reported as findings on their objects. */
import type { ValidationIssue } from '../validation';
import { describe, type Finding, type Rule } from '../findings';
import type { ObjectRef } from '../graph';
import { removalOf } from './removed-api';

export const schemaRule: Rule = {
  id: 'schema',
  title: 'Object does not match its OpenAPI schema',
  why: 'The API server rejects an object that does not match its schema (or, for a field it prunes, silently drops it): the load-balancing setup it belongs to is then not what the manifests say.',
  source:
    'upstream/sources.json: Kubernetes OpenAPI definitions and the CRDs of Istio, Gateway API and Envoy Gateway at their release tags',
  severity: 'error',
  check: ({ graph, validation }) =>
    validationFindings(
      graph.objects,
      validation.issues.filter((i) => i.kind === 'schema'),
      schemaRule.id,
    ),
};

export const celRule: Rule = {
  id: 'cel',
  title: "Object breaks a CRD's CEL validation rule",
  why: 'The API server evaluates x-kubernetes-validations rules on create and update and rejects an object that breaks one: the route or policy never exists in the cluster.',
  source: 'upstream/sources.json: the CRDs (x-kubernetes-validations) at their release tags',
  severity: 'error',
  check: ({ graph, validation }) =>
    validationFindings(
      graph.objects,
      validation.issues.filter((i) => i.kind === 'cel'),
      celRule.id,
    ),
};

function validationFindings(
  objects: readonly ObjectRef[],
  issues: readonly ValidationIssue[],
  ruleId: string,
): Finding[] {
  return issues.flatMap((issue): Finding[] => {
    const object = objects[issue.objectIndex];
    if (object === undefined) return [];
    const version = issue.kubernetesVersion === undefined ? '' : ` (Kubernetes ${issue.kubernetesVersion})`;
    return [
      {
        rule: ruleId,
        severity: 'error',
        object,
        path: issue.path,
        message: `${issue.message}${issue.rule === undefined ? '' : ` (rule: ${issue.rule})`}${version}`,
        fix:
          issue.rule === undefined
            ? `make ${issue.path || 'the object'} match the ${object.apiVersion} ${object.kind} schema`
            : `make ${issue.path || 'the object'} satisfy the rule ${issue.rule}`,
        related: [],
      },
    ];
  });
}

export const unknownKindRule: Rule = {
  id: 'unknown-kind',
  title: 'Kind with no schema to check it against',
  why: 'Nothing checks an object of a kind the validation has no schema for: a typo in its apiVersion or kind, or a field it misspells, reaches the cluster unnoticed (or is refused there).',
  source: 'upstream/sources.json (the kinds the validation knows)',
  severity: 'warning',
  check: ({ graph, validation }) =>
    validation.unknownKinds.flatMap((unknown): Finding[] => {
      const object = graph.objects[unknown.objectIndex];
      // A removed API version is removed-api's finding, with its replacement.
      if (object === undefined || removalOf(object) !== undefined) return [];
      return [
        {
          rule: unknownKindRule.id,
          severity: 'warning',
          object,
          message: `${describe(object)}: no schema for ${unknown.apiVersion} ${unknown.kind}; its fields are not validated`,
          fix: 'check the apiVersion and kind for a typo; if they are right, the kind comes from a CRD grpc-lb-check does not hold (the schemas it holds are listed in its data/sources.json), and only the cluster can validate it',
          related: [],
        },
      ];
    }),
};
