/**
 * One object per group, kind, namespace and name in an App: two would be applied one over the other, and
 * `kubectl apply` would keep whichever came last. A validation on the App, registered once by the library's
 * constructs, finds every such pair at synth (cdk8s runs the validations of the whole tree first).
 */
import { ApiObject } from 'cdk8s';
import { Node, type IConstruct } from 'constructs';

const checkedRoots = new WeakSet<IConstruct>();

/** Adds the duplicate-object check to the construct's App (once per App). */
export function checkUniqueObjects(construct: IConstruct): void {
  const root = Node.of(construct).root;
  if (checkedRoots.has(root)) return;
  checkedRoots.add(root);
  Node.of(root).addValidation({ validate: () => duplicateObjects(root) });
}

/** One message per object that has the identity of an earlier one, naming both construct paths. */
function duplicateObjects(root: IConstruct): string[] {
  const first = new Map<string, ApiObject>();
  const errors: string[] = [];
  for (const construct of Node.of(root).findAll()) {
    if (!ApiObject.isApiObject(construct)) continue;
    const namespace = construct.metadata.namespace ?? '';
    const identity = `${construct.apiGroup || 'core'} ${construct.kind} ${namespace === '' ? '' : `${namespace}/`}${construct.name}`;
    const earlier = first.get(identity);
    if (earlier === undefined) first.set(identity, construct);
    else
      errors.push(
        `${identity} is rendered twice, by ${Node.of(earlier).path} and ${Node.of(construct).path}: give one of them another name (kubectl apply would keep only the last)`,
      );
  }
  return errors;
}
