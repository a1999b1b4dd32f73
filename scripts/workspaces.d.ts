/** Each workspace with a source entry: its package name → the absolute path of `<folder>/index.ts`. */
export function sourceEntries(): Record<string, string>;
