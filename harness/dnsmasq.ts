/**
 * A real DNS server for the DNS paths: Debian's dnsmasq as our own foreground child on 127.0.0.1:<port>, answering
 * A records from a hosts file of its own, as cluster DNS answers for a headless Service (one A record per ready pod).
 * Changing the records rewrites the file and reloads it (SIGHUP), then waits until dnsmasq answers with them.
 * Nothing else is answered: no upstream servers, and the names are local (NODATA for AAAA and TXT, as CoreDNS).
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { promises as dns } from 'node:dns';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePort, startProcess, stopProcess, type RunningProcess } from './processes';
import { HANG_MS } from './wait';

export const DNSMASQ = '/usr/sbin/dnsmasq';
export const DNSMASQ_INSTALL_HINT = 'apt-get install -y dnsmasq-base';

/** Why dnsmasq cannot run here, or undefined when it can. */
export function dnsmasqMissing(): string | undefined {
  return existsSync(DNSMASQ) ? undefined : `${DNSMASQ} not found`;
}

/** Name → IPv4 addresses. */
export type DnsRecords = Record<string, readonly string[]>;

export interface Dnsmasq {
  /** `127.0.0.1:<port>`: the authority of a `dns://<server>/<name>:<port>` target. */
  server: string;
  /** Serves these records from now on; resolves once dnsmasq answers with them. */
  setRecords(records: DnsRecords): Promise<void>;
  /** The A records dnsmasq answers for `name` now, sorted. */
  resolve(name: string): Promise<string[]>;
  process: RunningProcess;
  stop(): Promise<void>;
}

const START_ATTEMPTS = 3;
/** How long to ask until dnsmasq answers with the records it was given (it says nothing when it has read them). */
const ANSWER_TIMEOUT_MS = HANG_MS;

function hostsFile(records: DnsRecords): string {
  return Object.entries(records)
    .flatMap(([name, addresses]) => addresses.map((address) => `${address} ${name}\n`))
    .join('');
}

const sameAddresses = (a: readonly string[], b: readonly string[]) => [...a].sort().join() === [...b].sort().join();

/**
 * Starts dnsmasq on a free 127.0.0.1 port with these records (the names are fixed: only their addresses change
 * later) and resolves once it answers with them.
 */
export async function startDnsmasq(records: DnsRecords): Promise<Dnsmasq> {
  const missing = dnsmasqMissing();
  if (missing) throw new Error(`${missing}: ${DNSMASQ_INSTALL_HINT}`);
  const names = Object.keys(records);
  const dir = mkdtempSync(path.join(tmpdir(), 'grpc-lb-dnsmasq-'));
  // Run as root, dnsmasq drops to nobody, who must still read the hosts file when it reloads.
  chmodSync(dir, 0o755);
  const hosts = path.join(dir, 'hosts');
  const write = (next: DnsRecords) => {
    writeFileSync(hosts, hostsFile(next));
    chmodSync(hosts, 0o644);
  };
  try {
    write(records);
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const proc = startProcess(DNSMASQ, [
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--no-resolv',
        '--no-hosts',
        `--addn-hosts=${hosts}`,
        ...names.map((name) => `--local=/${name}/`),
        '--listen-address=127.0.0.1',
        '--bind-interfaces',
        `--port=${port}`,
        '--pid-file=',
        '--log-facility=-',
      ]);
      const server = `127.0.0.1:${port}`;
      const resolver = new dns.Resolver({ timeout: 500, tries: 1 });
      resolver.setServers([server]);
      const resolve = async (name: string) => (await resolver.resolve4(name)).sort();
      const answersWith = async (expected: DnsRecords) => {
        const deadline = Date.now() + ANSWER_TIMEOUT_MS;
        let seen = '';
        for (;;) {
          const answers = await Promise.all(
            Object.keys(expected).map((name) =>
              resolve(name).catch((error: NodeJS.ErrnoException) => String(error.code)),
            ),
          );
          // A name with no address left is answered NODATA, as a headless Service with no ready pod.
          const matches = (answer: string[] | string, addresses: readonly string[]) =>
            Array.isArray(answer) ? sameAddresses(answer, addresses) : addresses.length === 0 && answer === 'ENODATA';
          if (answers.every((answer, i) => matches(answer, Object.values(expected)[i]))) return;
          seen = JSON.stringify(answers);
          if (proc.child.exitCode !== null)
            throw new Error(`dnsmasq exited with ${await proc.exited}: ${proc.stderr.join('\n')}`);
          if (Date.now() > deadline)
            throw new Error(
              `dnsmasq on ${server} did not answer ${JSON.stringify(expected)} within ${ANSWER_TIMEOUT_MS} ms; it answered ${seen}; stderr: ${proc.stderr.join('\n')}`,
            );
          await new Promise((resolveTimer) => setTimeout(resolveTimer, 20));
        }
      };
      try {
        await answersWith(records);
      } catch (error) {
        await stopProcess(proc);
        // Another process took the port between freePort and dnsmasq's bind: pick another.
        if (attempt < START_ATTEMPTS && /Address already in use/i.test(proc.stderr.join('\n'))) continue;
        throw error;
      }
      return {
        server,
        process: proc,
        resolve,
        setRecords: async (next) => {
          const unknown = Object.keys(next).filter((name) => !names.includes(name));
          if (unknown.length > 0)
            throw new Error(
              `dnsmasq serves only ${names.join(', ')}: names are fixed when it starts, got ${unknown.join(', ')}`,
            );
          write(next);
          proc.child.kill('SIGHUP');
          await answersWith(next);
        },
        stop: async () => {
          try {
            await stopProcess(proc);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
      };
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
