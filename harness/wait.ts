/**
 * Waiting for events in tests: each wait has a bound, and the bound only catches a hang. It is generous because
 * the machine may be busy (two cores shared with other work): how fast something happens is for bench/ to print.
 */

/** How long a test waits for an event before calling it a hang. */
export const HANG_MS = 120_000;

/** `promise`'s outcome, or a rejection naming `what` (read when it fails) if it has not settled within boundMs. */
export function settles<T>(promise: Promise<T>, what: string | (() => string), boundMs = HANG_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    const describe = () => (typeof what === 'string' ? what : what());
    timer = setTimeout(() => reject(new Error(`${describe()}: not within ${boundMs} ms`)), boundMs);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}
