/**
 * `npm run demo:lb` leaves nothing behind: whether it ends, fails, gets SIGINT or SIGTERM, or its stdout pipe closes
 * (`npm run demo:lb | head`), no greeter, nginx or temp directory outlives it. Each case runs the real demo as a
 * process with its own TMPDIR, records the processes it started, stops it mid-run, and checks.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import * as path from 'node:path';
import { NGINX_INSTALL_HINT, nginxMissing } from '../../harness/nginx';
import { startTs, stopProcess, type RunningProcess } from '../../harness/processes';
import { describeWhenInstalled } from '../../harness/system-packages';

/**
 * The demo and everything it started, found even after the demo is gone and they were handed to another parent:
 * the processes with this TMPDIR in their environment (children inherit it) or on their command line (nginx clears
 * its environment, but its master names its prefix, a dir in TMPDIR), and their children (nginx's worker).
 */
function runningFor(tmp: string): string[] {
  const processes = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
        const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
        return [{ pid, ppid, command, marked: environ.includes(`TMPDIR=${tmp}`) || command.includes(tmp) }];
      } catch {
        return []; // ended while we looked
      }
    });
  const ours = new Set(processes.filter((p) => p.marked).map((p) => p.pid));
  return processes.filter((p) => ours.has(p.pid) || ours.has(p.ppid)).map((p) => `${p.pid} ${p.command}`);
}

/** What the demo left in its TMPDIR, other than node's compile cache (a cache, not a run's directory). */
const leftIn = (dir: string) => readdirSync(dir).filter((entry) => !entry.startsWith('v8-compile-cache'));

const EXIT_WITHIN_MS = 15_000;

describeWhenInstalled(
  'demo:lb cleanup',
  nginxMissing(),
  NGINX_INSTALL_HINT,
)('npm run demo:lb cleans up', () => {
  let tmp: string;
  let demo: RunningProcess | undefined;
  const startDemo = (args: readonly string[], env: Record<string, string> = {}) => {
    demo = startTs('demo/lb.ts', ['--pods', '2', ...args], { TMPDIR: tmp, ...env });
    return demo;
  };
  /** The demo's exit code (or signal), failing if it takes longer than EXIT_WITHIN_MS. */
  const exitOf = async (proc: RunningProcess) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>(
      (_, reject) =>
        (timer = setTimeout(
          () =>
            reject(
              new Error(
                `demo:lb still running ${EXIT_WITHIN_MS} ms after it was stopped; stdout: ${proc.stdout.join('\n')}`,
              ),
            ),
          EXIT_WITHIN_MS,
        )),
    );
    try {
      return await Promise.race([proc.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  /** Waits until the demo runs its paths (greeters and nginx up), and returns what it started. */
  const runningProcesses = async (proc: RunningProcess) => {
    await proc.waitForLine(/^\d+ paths, /, 30_000);
    const started = runningFor(tmp);
    // The demo, four greeters, nginx's master and its worker.
    expect(started.filter((p) => p.includes('app/server.ts'))).toHaveLength(4);
    expect(started.filter((p) => p.includes('nginx'))).toHaveLength(2);
    expect(leftIn(tmp).length).toBeGreaterThan(0);
  };

  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'demo-cleanup-'));
  });
  afterEach(async () => {
    if (demo) await stopProcess(demo);
    demo = undefined;
    rmSync(tmp, { recursive: true, force: true });
  });

  test.each(['SIGINT', 'SIGTERM'] as const)(
    'on %s mid-run it stops every greeter and nginx, removes its temp dirs, and exits 128 + the signal',
    async (signal) => {
      const proc = startDemo(['--calls', '1000000']);
      await runningProcesses(proc);
      proc.child.kill(signal);
      expect(await exitOf(proc)).toBe(128 + constants.signals[signal]);
      expect(runningFor(tmp)).toEqual([]);
      expect(leftIn(tmp)).toEqual([]);
    },
    60_000,
  );

  test('when its stdout pipe closes (`| head`) it stops at its next write, cleans up, and exits 141 (as SIGPIPE)', async () => {
    const proc = startDemo([]);
    await runningProcesses(proc);
    proc.child.stdout!.destroy();
    expect(await exitOf(proc)).toBe(128 + constants.signals.SIGPIPE);
    expect(runningFor(tmp)).toEqual([]);
    expect(leftIn(tmp)).toEqual([]);
  }, 60_000);

  test('when it ends it leaves nothing, and when it fails after starting the greeters it stops them too', async () => {
    const ended = startDemo(['--calls', '20', '--age-path-ms', '200']);
    await runningProcesses(ended);
    expect(await exitOf(ended)).toBe(0);
    expect(runningFor(tmp)).toEqual([]);
    expect(leftIn(tmp)).toEqual([]);

    // Without openssl on PATH, the TLS listener's certificate cannot be made: nginx never starts.
    const failed = startDemo([], { PATH: '/nonexistent' });
    await failed.waitForLine(/^starting /, 30_000);
    expect(await exitOf(failed)).toBe(1);
    expect(failed.stderr.join('\n')).toMatch(/demo:lb failed: .*openssl/);
    expect(runningFor(tmp)).toEqual([]);
    expect(leftIn(tmp)).toEqual([]);
  }, 90_000);

  test('--print-config prints the nginx configuration and exits 0 at once, starting nothing', async () => {
    const started = Date.now();
    const proc = startDemo(['--print-config']);
    expect(await exitOf(proc)).toBe(0);
    const seconds = (Date.now() - started) / 1000;
    expect(proc.stdout.join('\n')).toMatch(/worker_processes 1;[\s\S]*grpc_pass grpc:\/\/greeter_l7;[\s\S]*stream \{/);
    expect(proc.stdout.some((line) => line.startsWith('starting '))).toBe(false);
    expect(leftIn(tmp)).toEqual([]);
    process.stderr.write(`demo:lb --print-config exited after ${seconds.toFixed(1)} s (ts-node start included)\n`);
  }, 30_000);
});
