/** Real processes for tests and benchmarks: started here, stopped only by whoever started them. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { HANG_MS } from './wait';

export const ROOT = path.resolve(__dirname, '..');

export interface RunningProcess {
  child: ChildProcess;
  /** Every stdout line so far. */
  stdout: string[];
  stderr: string[];
  /** Resolves with the first stdout line that matches; rejects if the process exits first, or after timeoutMs. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /**
   * Resolves once `ready(stdout)` holds, checked now and on every stdout line; rejects naming `what` if the process
   * exits first, or after timeoutMs.
   */
  waitUntil(what: string, ready: (stdout: readonly string[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or the signal name) once the process has ended and all its output is read. */
  exited: Promise<number | string>;
}

/**
 * How a TypeScript file of this repository runs: `ts-node` (transpile-only) as `npm run server`/`client` do, or
 * `swc` through scripts/register.js (transpiles cached across processes: starts about twice as fast), for where many
 * processes start and how they start is not what is measured.
 */
export type TsRunner = 'ts-node' | 'swc';
const TS_REGISTER: Record<TsRunner, string> = {
  'ts-node': 'ts-node/register',
  swc: path.join(ROOT, 'scripts', 'register.js'),
};

export function startTs(
  script: string,
  args: readonly string[],
  env: Record<string, string> = {},
  runner: TsRunner = 'ts-node',
): RunningProcess {
  return startProcess(process.execPath, ['-r', TS_REGISTER[runner], path.join(ROOT, script), ...args], { env });
}

export function startProcess(
  command: string,
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): RunningProcess {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    stdout.push(line);
    for (const check of [...waiters]) check();
  });
  readline.createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  // 'close' comes after 'exit' once stdout and stderr have ended, so every line is read by then.
  const exited = new Promise<number | string>((resolve) =>
    child.once('close', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const output = () => `stdout: ${stdout.join('\n')}; stderr: ${stderr.join('\n')}`;
  /** Resolves with `found(stdout)` once it is not undefined: checked now and on every line. */
  const waitFor = <T>(what: string, found: () => T | undefined, timeoutMs: number): Promise<T> => {
    const now = found();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const settle = (error?: Error, value?: T) => {
        waiters.delete(check);
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(value!);
      };
      const check = () => {
        const value = found();
        if (value !== undefined) settle(undefined, value);
      };
      const timer = setTimeout(() => settle(new Error(`not within ${timeoutMs} ms: ${what}; ${output()}`)), timeoutMs);
      waiters.add(check);
      void exited.then(() => waiters.has(check) && settle(new Error(`exited before ${what}; ${output()}`)));
    });
  };
  return {
    child,
    stdout,
    stderr,
    exited,
    waitForLine: (pattern, timeoutMs = HANG_MS) =>
      waitFor(`a line matching ${pattern}`, () => stdout.find((line) => pattern.test(line)), timeoutMs),
    waitUntil: (what, ready, timeoutMs = HANG_MS) =>
      waitFor(what, () => (ready(stdout) ? true : undefined), timeoutMs).then(() => undefined),
  };
}

export interface ServerProcess extends RunningProcess {
  /** Its POD_NAME: what its replies' `hostname` header says. */
  pod: string;
  port: number;
}

/** The port from a greeter's JSON `listening` line (grpc-go's bench server prints the same line). */
export async function listeningPort(proc: RunningProcess, timeoutMs?: number): Promise<number> {
  return JSON.parse(await proc.waitForLine(/"msg":"listening"/, timeoutMs)).port;
}

/** Starts `app/server.ts` on 127.0.0.1 with a free port and waits for its `listening` line. */
export async function startServerProcess(
  podName: string,
  env: Record<string, string> = {},
  runner?: TsRunner,
): Promise<ServerProcess> {
  const proc = startTs('app/server.ts', [], { HOST: '127.0.0.1', PORT: '0', POD_NAME: podName, ...env }, runner);
  return { ...proc, pod: podName, port: await listeningPort(proc) };
}

/** SIGTERM to a process we started; SIGKILL if it is still there after timeoutMs. Resolves with how it ended. */
export async function stopProcess(proc: RunningProcess, timeoutMs = HANG_MS): Promise<number | string> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) {
    proc.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      proc.child.kill('SIGKILL');
      // A child of its own that outlives it may hold the pipes open: they are not waited for then.
      proc.child.stdout?.destroy();
      proc.child.stderr?.destroy();
    }, timeoutMs);
    await proc.exited;
    clearTimeout(timer);
  }
  return proc.exited;
}

/** A port on 127.0.0.1 that was free a moment ago, for a process that must bind it itself (a clash is possible). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
