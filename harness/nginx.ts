/**
 * nginx as our own foreground child process, with its own prefix and temp dir (never the system service): renders
 * the configuration from the template in nginx-config.ts on free 127.0.0.1 ports, starts nginx, waits until every
 * listener accepts connections, and stops it.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { makeCertificates, type TestCertificates } from './certs';
import { freePort, startProcess, stopProcess, type RunningProcess } from './processes';
import { GATEWAY_HOST, STREAM_MODULE, renderNginxConfig, type Backend, type ListenerSpec } from './nginx-config';
import { HANG_MS } from './wait';

export const NGINX = '/usr/sbin/nginx';
export const NGINX_INSTALL_HINT = 'apt-get install -y nginx libnginx-mod-stream';

/** Why nginx cannot run the demo here, or undefined when it can. */
export function nginxMissing(): string | undefined {
  if (!existsSync(NGINX)) return `${NGINX} not found`;
  if (!existsSync(STREAM_MODULE)) return `${STREAM_MODULE} (the stream module) not found`;
  return undefined;
}

/** For scripts: what is missing and how to install it, or undefined when nginx can run. */
export function nginxNeeded(): string | undefined {
  const missing = nginxMissing();
  return missing && `needs nginx: ${missing}; install it with: ${NGINX_INSTALL_HINT}`;
}

export interface Nginx<K extends string> {
  /** The port of each listener, on 127.0.0.1. */
  ports: Record<K, number>;
  /** The CA and certificate of the TLS listeners (for GATEWAY_HOST), when there is one. */
  certificates?: TestCertificates;
  /** The rendered configuration. */
  readonly config: string;
  process: RunningProcess;
  /** nginx's error log so far (warnings and errors). */
  errorLog(): string;
  /**
   * Renders the configuration again with other backends on the same ports and reloads it (SIGHUP), as a proxy
   * follows endpoint changes: new connections and calls use the new backends, and the old worker keeps the
   * connections it holds until they close. Resolves once a worker with the new configuration runs; with
   * `untilOldWorkersExit`, once the old workers have exited too (an old worker usually ends its HTTP/2 client
   * connections with GOAWAY within a fraction of a second; one holding an L4 connection lasts as long as that
   * connection), but no later than OLD_WORKERS_WAIT_MS after the new worker runs: one that a busy connection keeps
   * may outlast it.
   */
  reconfigure(
    backends: Partial<Record<K, readonly Backend[]>>,
    options?: { untilOldWorkersExit?: boolean },
  ): Promise<void>;
  stop(): Promise<void>;
}

/** nginx tells of neither: how long to wait for its ports to listen, or for a reload's new worker. */
const START_TIMEOUT_MS = HANG_MS;
/** How long a reload with `untilOldWorkersExit` waits for the old workers after the new one runs. */
const OLD_WORKERS_WAIT_MS = 2000;
const START_ATTEMPTS = 3;

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The process ids of an nginx master's workers (Linux /proc). */
function workerPids(masterPid: number): string[] {
  return readFileSync(`/proc/${masterPid}/task/${masterPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
}

/**
 * SIGHUP to the master, then waits for a worker it did not have before: nginx starts one only for a configuration it
 * accepted; with `untilOldWorkersExit`, also until none of the workers it had is left.
 */
async function reload(
  proc: RunningProcess,
  describe: () => string,
  { untilOldWorkersExit = false } = {},
): Promise<void> {
  const masterPid = proc.child.pid!;
  const before = new Set(workerPids(masterPid));
  proc.child.kill('SIGHUP');
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!workerPids(masterPid).some((pid) => !before.has(pid))) {
    if (/\[emerg\]/.test(describe())) throw new Error(`nginx rejected the new configuration\n${describe()}`);
    if (Date.now() > deadline)
      throw new Error(
        `nginx started no worker with the new configuration within ${START_TIMEOUT_MS} ms\n${describe()}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const oldWorkersDeadline = Date.now() + OLD_WORKERS_WAIT_MS;
  while (untilOldWorkersExit && workerPids(masterPid).some((pid) => before.has(pid)) && Date.now() < oldWorkersDeadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
}

/** Resolves once every port accepts connections; rejects when nginx exits first or the time is up. */
async function waitUntilListening(
  proc: RunningProcess,
  ports: readonly number[],
  describe: () => string,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`nginx exited with ${await proc.exited} before listening\n${describe()}`);
    if ((await Promise.all(ports.map(canConnect))).every(Boolean)) return;
    if (Date.now() > deadline)
      throw new Error(`nginx did not listen on ${ports.join(', ')} within ${START_TIMEOUT_MS} ms\n${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Where a run's files go: a new temp dir, so no two runs (or a run and a preview) share a path. */
const RUN_DIR_PREFIX = 'grpc-lb-nginx-';

/**
 * The configuration startNginx would write for these listeners, without starting or writing anything: listener
 * ports from 8443 up and the run dir and certificate paths as placeholders, since a run picks free ones.
 */
export function nginxConfigPreview<K extends string>(listeners: Record<K, ListenerSpec>): string {
  const dir = path.join(tmpdir(), `${RUN_DIR_PREFIX}XXXXXX`);
  const rendered = Object.entries<ListenerSpec>(listeners).map(([name, spec], i) => ({
    ...spec,
    name: `greeter_${name}`,
    port: 8443 + i,
  }));
  const file = (name: string) => path.join(dir, 'tls', name);
  const certificates = {
    dir: path.join(dir, 'tls'),
    caFile: file('ca.crt'),
    certFile: file('tls.crt'),
    keyFile: file('tls.key'),
  };
  return `# Example ports and paths: each run picks free 127.0.0.1 ports and makes its own temp dir and certificates.\n${renderNginxConfig(dir, rendered, certificates)}`;
}

/**
 * Renders the configuration for these listeners, starts nginx in the foreground with its own prefix and temp dir,
 * and resolves once every listener accepts connections. `stop` ends nginx and removes the dir.
 */
export async function startNginx<K extends string>(listeners: Record<K, ListenerSpec>): Promise<Nginx<K>> {
  const missing = nginxMissing();
  if (missing) throw new Error(`${missing}: ${NGINX_INSTALL_HINT}`);
  const entries = Object.entries(listeners) as Array<[K, ListenerSpec]>;
  const certificates = entries.some(([, spec]) => spec.kind === 'grpc-tls')
    ? makeCertificates(GATEWAY_HOST)
    : undefined;
  const dir = mkdtempSync(path.join(tmpdir(), RUN_DIR_PREFIX));
  // Run as root, nginx's workers drop to nobody and create their temp dirs here: they must be able to enter it.
  chmodSync(dir, 0o755);
  const cleanUp = () => {
    rmSync(dir, { recursive: true, force: true });
    if (certificates) rmSync(certificates.dir, { recursive: true, force: true });
  };
  try {
    for (let attempt = 1; ; attempt++) {
      const rendered = await Promise.all(
        entries.map(async ([name, spec]) => ({ ...spec, name: `greeter_${name}`, port: await freePort() })),
      );
      const config = renderNginxConfig(dir, rendered, certificates);
      const configFile = path.join(dir, 'nginx.conf');
      writeFileSync(configFile, config);
      writeFileSync(path.join(dir, 'error.log'), '');
      const proc = startProcess(NGINX, [
        '-p',
        dir,
        '-c',
        configFile,
        '-e',
        path.join(dir, 'error.log'),
        '-g',
        'daemon off;',
      ]);
      const errorLog = () => readIfExists(path.join(dir, 'error.log'));
      const describe = () => `stderr: ${proc.stderr.join('\n')}\nerror.log: ${errorLog()}`;
      try {
        await waitUntilListening(
          proc,
          rendered.map((listener) => listener.port),
          describe,
        );
      } catch (error) {
        await stopProcess(proc);
        // Another process took one of the ports between freePort and nginx's bind: pick new ones.
        if (attempt < START_ATTEMPTS && /Address already in use/.test(describe())) continue;
        throw error;
      }
      const ports = Object.fromEntries(entries.map(([name], i) => [name, rendered[i].port])) as Record<K, number>;
      let current = { listeners: rendered, config };
      return {
        ports,
        certificates,
        get config() {
          return current.config;
        },
        process: proc,
        errorLog,
        reconfigure: async (backends, options) => {
          const listeners = current.listeners.map((listener, i) => ({
            ...listener,
            backends: backends[entries[i][0]] ?? listener.backends,
          }));
          const next = renderNginxConfig(dir, listeners, certificates);
          writeFileSync(configFile, next);
          await reload(proc, describe, options);
          current = { listeners, config: next };
        },
        stop: async () => {
          try {
            await stopProcess(proc);
          } finally {
            cleanUp();
          }
        },
      };
    }
  } catch (error) {
    cleanUp();
    throw error;
  }
}

function readIfExists(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
