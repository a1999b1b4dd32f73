/** How outputs name where an object is. */
import type { ObjectRef } from '../graph';

/** `file:line`, with the Helm template when the input names one. */
export function whereIs(ref: ObjectRef): string {
  const { file, line, template } = ref.location;
  return `${file}:${line}${template === undefined ? '' : ` (${template})`}`;
}
