/** Test PKI made with openssl: a CA and a server certificate for one DNS name (or IP address), as `npm run certs` does for the walkthrough. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export interface TestCertificates {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

export function makeCertificates(host: string): TestCertificates {
  const dir = mkdtempSync(path.join(tmpdir(), 'greeter-tls-'));
  try {
    return writeCertificates(dir, host);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function writeCertificates(dir: string, host: string): TestCertificates {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=greeter test CA',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${host}`,
    '-keyout',
    file('tls.key'),
    '-out',
    file('tls.csr'),
  );
  // Clients verify the subjectAltName, not the CN.
  writeFileSync(file('san.ext'), `subjectAltName = ${isIP(host) ? 'IP' : 'DNS'}:${host}\n`);
  openssl(
    'x509',
    '-req',
    '-in',
    file('tls.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    file('san.ext'),
    '-out',
    file('tls.crt'),
  );
  return { dir, caFile: file('ca.crt'), certFile: file('tls.crt'), keyFile: file('tls.key') };
}
