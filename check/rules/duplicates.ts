/** The same object twice in one directory (or one stream): `kubectl apply` keeps the last, silently. */
import * as path from 'node:path';
import { describe, type Finding, type Rule } from '../findings';
import type { ObjectRef } from '../graph';

const directory = (ref: ObjectRef) => path.dirname(ref.location.file);
const identity = (ref: ObjectRef) =>
  `${ref.apiVersion.split('/').slice(0, -1).join('/')}\0${ref.kind}\0${ref.namespace ?? ''}\0${ref.name}\0${directory(ref)}`;

export const rule: Rule = {
  id: 'duplicate-object',
  title: 'Same object twice in one directory or stream',
  why: 'Applied together, the later copy replaces the earlier one: what the checks read from the first copy (ports, selectors, routes) is not what the cluster gets.',
  source: 'https://kubernetes.io/docs/reference/kubectl/generated/kubectl_apply/',
  severity: 'warning',
  check({ graph }) {
    // Copies in different directories are separate deployments checked together (e.g. dist/<env>/<strategy>/).
    const first = new Map<string, ObjectRef>();
    const findings: Finding[] = [];
    for (const ref of graph.objects) {
      const earlier = first.get(identity(ref));
      if (earlier === undefined) {
        first.set(identity(ref), ref);
        continue;
      }
      findings.push({
        rule: rule.id,
        severity: rule.severity,
        object: ref,
        message: `${describe(ref)} is also at ${earlier.location.file}:${earlier.location.line}; applied together, this copy replaces that one`,
        fix: 'keep one copy',
        related: [earlier],
      });
    }
    return findings;
  },
};
