/**
 * `npm run certs`: the walkthrough's openssl step. The certificate it makes must be one the greeter serves and the client
 * test (configured exactly as dist/ configures it) verifies over real TLS, and the key must stay out of git and dist/.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { defaultSettings } from '../../app/config';
import { clientSettings, runClient } from '../../app/client';
import { ENVIRONMENTS, requiredTlsSecrets } from '../../deploy';
import { createSecretCommand, makeSelfSignedCertificate } from '../../scripts/certs';
import { startTestServer } from '../../harness/greeter';
import { containerEnv, manifestDirs, readManifestDir } from '../../harness/manifests';
import { ROOT, startProcess } from '../../harness/processes';
import { HANG_MS } from '../../harness/wait';

const env = ENVIRONMENTS['docker-desktop'];
const dir = mkdtempSync(path.join(tmpdir(), 'certs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runCerts = (...args: string[]) =>
  startProcess(process.execPath, ['-r', './scripts/register.js', 'scripts/certs.ts', ...args]);

test('makes a self-signed certificate for the host, a private key only its owner reads, and prints the secret command', async () => {
  const out = path.join(dir, 'made');
  const proc = runCerts(env.name, '--out', out);
  expect(await proc.exited).toBe(0);
  const files = { certFile: path.join(out, 'tls.crt'), keyFile: path.join(out, 'tls.key') };
  // One Secret per namespace a front door reads it in: the Istio gateway's, and the app's (Ingress, Gateway API).
  const secrets = requiredTlsSecrets(env);
  expect(secrets).toContainEqual(
    expect.objectContaining({
      namespace: env.namespaces.gateway,
      secretName: env.tls.secretName,
      strategies: expect.arrayContaining(['istio-ilb', 'istio-ambient']),
    }),
  );
  expect(secrets).toContainEqual(
    expect.objectContaining({
      namespace: env.namespaces.app,
      secretName: env.tls.secretName,
      strategies: expect.arrayContaining(['nginx-ingress']),
    }),
  );
  for (const secret of secrets) expect(proc.stdout).toContain(`  ${createSecretCommand(secret, files)}`);
  expect(createSecretCommand(secrets[0], files)).toContain(
    `kubectl create secret tls ${env.tls.secretName} -n ${env.namespaces.gateway} --cert=${files.certFile} --key=${files.keyFile}`,
  );
  expect(statSync(files.keyFile).mode & 0o777).toBe(0o600);
  const text = execFileSync(
    'openssl',
    ['x509', '-in', files.certFile, '-noout', '-subject', '-issuer', '-ext', 'subjectAltName'],
    { encoding: 'utf8' },
  );
  expect(text).toContain(`subject=CN = ${env.host}`);
  expect(text).toContain(`issuer=CN = ${env.host}`);
  expect(text).toContain(`DNS:${env.host}`);

  const before = readFileSync(files.keyFile, 'utf8');
  const again = runCerts(env.name, '--out', out);
  expect(await again.exited).toBe(0);
  expect(again.stdout[0]).toMatch(/^kept existing /);
  expect(readFileSync(files.keyFile, 'utf8')).toBe(before);
});

test('the client, set up as dist/ sets up the client test, verifies the greeter serving that certificate', async () => {
  const files = makeSelfSignedCertificate(env.host, path.join(dir, 'tls'));
  const [rendered] = readManifestDir(path.join(ROOT, 'dist', env.name, 'istio-ilb'))
    .flatMap((f) => f.objects)
    .filter((o) => o.kind === 'Deployment')
    .map((deployment) => containerEnv(deployment.spec.template.spec.containers[0]))
    .filter((settings) => settings.SERVER_NAME !== undefined);
  const { server } = await startTestServer('greeter-tls', { tlsCertFile: files.certFile, tlsKeyFile: files.keyFile });
  try {
    const lines: string[] = [];
    // The gateway's cluster DNS name does not resolve here: dial the server's address, with everything else as rendered.
    const result = await runClient(
      {
        ...defaultSettings(clientSettings),
        target: `127.0.0.1:${server.port}`,
        serverName: rendered.SERVER_NAME,
        caFile: files.certFile,
        count: 3,
        intervalMs: 0,
      },
      { info: (line) => lines.push(line), error: (line) => lines.push(line) },
    );
    expect(result.failures).toBe(0);
    expect(lines.filter((l) => l.endsWith(`Hello ${env.host}:${server.port} from greeter-tls`))).toHaveLength(3);

    const wrongHost = await runClient(
      {
        ...defaultSettings(clientSettings),
        target: `127.0.0.1:${server.port}`,
        serverName: 'other.example.com',
        caFile: files.certFile,
        count: 1,
        deadlineMs: HANG_MS,
      },
      { info: () => undefined, error: () => undefined },
    );
    expect(wrongHost.failures).toBe(1);
  } finally {
    await server.shutdown('test done');
  }
});

test('an unknown environment exits 1 with one line', async () => {
  const proc = runCerts('minikube', '--out', path.join(dir, 'never'));
  expect(await proc.exited).toBe(1);
  expect(proc.stderr).toEqual(['certs: unknown environment "minikube": expected one of "gke", "docker-desktop"']);
  expect(readdirSync(dir)).not.toContain('never');
});

test('key material never enters git or dist/: certs/ is ignored and dist/ holds no Secret and no key', () => {
  expect(
    execFileSync('git', ['check-ignore', 'certs/grpc.example.com/tls.key'], { cwd: ROOT, encoding: 'utf8' }).trim(),
  ).toBe('certs/grpc.example.com/tls.key');
  for (const dir of manifestDirs(path.join(ROOT, 'dist'))) {
    for (const file of readManifestDir(dir)) {
      expect(file.objects.filter((o) => o.kind === 'Secret')).toEqual([]);
      expect(file.text).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
    }
  }
});
