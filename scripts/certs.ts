/**
 * `npm run certs -- <environment> [--out <dir>]`: the walkthrough's TLS step. Makes a self-signed certificate and key
 * for the environment's host with openssl (in `certs/<host>/`, which git ignores), then prints the exact
 * `kubectl create secret tls` command that puts them where the gateway's `credentialName` and the client test
 * look. Key material never enters dist/ or git. Existing files are kept, so running it again only prints.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { requiredTlsSecrets, type RequiredTlsSecret } from '../deploy';
import { environmentArgumentsOrUsage } from './environment-arguments';

export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** Whether this run made them (false: they were there already). */
  readonly created: boolean;
}

/** A self-signed certificate for `host`: its own CA, which is how the client test trusts it (`CA_FILE=tls.crt`). */
export function makeSelfSignedCertificate(host: string, dir: string, days = 365): CertificateFiles {
  const certFile = path.join(dir, 'tls.crt');
  const keyFile = path.join(dir, 'tls.key');
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile, created: false };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-sha256',
      '-days',
      String(days),
      '-subj',
      `/CN=${host}`,
      // Clients check the subjectAltName, not the CN; serverAuth lets strict verifiers accept it for a TLS server.
      '-addext',
      `subjectAltName=DNS:${host}`,
      '-addext',
      'extendedKeyUsage=serverAuth',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      // An empty config: the same certificate whatever defaults the distribution's openssl.cnf adds.
    ],
    { stdio: 'pipe', env: { ...process.env, OPENSSL_CONF: '/dev/null' } },
  );
  return { certFile, keyFile, created: true };
}

/** The command that stores the files as a front door's TLS Secret, idempotent so it can be run again. */
export function createSecretCommand(
  secret: RequiredTlsSecret,
  files: Pick<CertificateFiles, 'certFile' | 'keyFile'>,
): string {
  return `kubectl create secret tls ${secret.secretName} -n ${secret.namespace} --cert=${files.certFile} --key=${files.keyFile} --dry-run=client -o yaml | kubectl apply -f -`;
}

export function main(argv: readonly string[]): number {
  const args = environmentArgumentsOrUsage('certs', argv);
  if (args === undefined) return 2;
  const { env } = args;
  const secrets = requiredTlsSecrets(env);
  if (secrets.length === 0) {
    console.log(
      `${env.name}: ${env.tls.source === 'cert-manager' ? `cert-manager issues the certificate for ${env.host}` : 'no strategy terminates TLS'}; nothing to make.`,
    );
    return 0;
  }
  const dir = args.out ?? path.join('certs', env.host);
  const files = makeSelfSignedCertificate(env.host, dir);
  console.log(
    `${files.created ? 'made' : 'kept existing'} ${files.certFile} and ${files.keyFile} (self-signed for ${env.host})`,
  );
  for (const secret of secrets) {
    console.log(`store them as the TLS Secret of ${secret.strategies.join(', ')}:`);
    console.log(`  ${createSecretCommand(secret, files)}`);
  }
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.error(`certs: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
