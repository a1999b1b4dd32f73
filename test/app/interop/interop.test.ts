/**
 * Interop with a client in another language: greeter_client.py runs on Debian's python3-grpcio (gRPC core in C,
 * no generated code, hand-encoded protobuf) against a real server process, plaintext and TLS.
 *
 * Needs `apt-get install -y python3-grpcio` (Debian's /usr/bin/python3, not a pyenv python). Without it the
 * suite is skipped with one line saying so, except under CI=true, where the missing package fails the run.
 */
import { execFile, execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { makeCertificates, type TestCertificates } from '../../../harness/certs';
import { startServerProcess, stopProcess, type ServerProcess } from '../../../harness/processes';
import { describeWhenInstalled } from '../../../harness/system-packages';

const PYTHON = '/usr/bin/python3';
const CLIENT = path.join(__dirname, 'greeter_client.py');
const INSTALL_HINT = 'apt-get install -y python3-grpcio';
const TLS_HOST = 'grpc.example.com';
const EXPECTED_SERVICES = ['helloworld.Greeter', 'grpc.health.v1.Health'];

/** Why Debian's python cannot run the client, or undefined when it can import grpc. */
function pythonGrpcMissing(): string | undefined {
  try {
    // -I: isolated mode, so PYTHONPATH/PYTHONHOME or user site-packages from a pyenv setup cannot leak in.
    execFileSync(PYTHON, ['-I', '-c', 'import grpc'], { stdio: 'ignore', timeout: 15_000 });
    return undefined;
  } catch {
    return `${PYTHON} cannot import grpc`;
  }
}

interface ClientRun {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** Runs the Python client to completion; never rejects, so failures can be asserted on. */
function runPythonClient(args: readonly string[]): Promise<ClientRun> {
  return new Promise((resolve) => {
    execFile(PYTHON, ['-I', CLIENT, ...args], { timeout: 20_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.signal ?? error.code ?? -1) : 0, stdout, stderr });
    });
  });
}

/** Runs the client expecting success and returns its JSON result. */
async function interrogate(args: readonly string[]) {
  const run = await runPythonClient(args);
  if (run.code !== 0) throw new Error(`python client exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return JSON.parse(run.stdout) as {
    message: string;
    hostname: string | null;
    health: Record<string, string>;
    services_v1alpha: string[];
    services_v1: string[];
  };
}

describeWhenInstalled(
  'python interop',
  pythonGrpcMissing(),
  INSTALL_HINT,
)('python grpcio client interop', () => {
  describe('plaintext', () => {
    const pod = 'interop-pod';
    let server: ServerProcess | undefined;
    beforeAll(async () => {
      server = await startServerProcess(pod);
    });
    afterAll(async () => {
      if (server) await stopProcess(server);
    });

    test('SayHello, hostname header, health and both reflection versions', async () => {
      const result = await interrogate(['--target', `127.0.0.1:${server!.port}`, '--name', 'interop']);
      expect(result.message).toBe(`Hello interop from ${pod}`);
      expect(result.hostname).toBe(pod);
      expect(result.health).toEqual({ '': 'SERVING', 'helloworld.Greeter': 'SERVING' });
      expect(result.services_v1alpha).toEqual(expect.arrayContaining(EXPECTED_SERVICES));
      expect(result.services_v1).toEqual(expect.arrayContaining(EXPECTED_SERVICES));
    });
  });

  describe('TLS', () => {
    const pod = 'interop-tls-pod';
    let certs: TestCertificates | undefined;
    let server: ServerProcess | undefined;
    beforeAll(async () => {
      certs = makeCertificates(TLS_HOST);
      server = await startServerProcess(pod, { TLS_CERT_FILE: certs.certFile, TLS_KEY_FILE: certs.keyFile });
    });
    afterAll(async () => {
      try {
        if (server) await stopProcess(server);
      } finally {
        if (certs) rmSync(certs.dir, { recursive: true, force: true });
      }
    });

    test(`verifies the server as ${TLS_HOST} when dialing 127.0.0.1`, async () => {
      const result = await interrogate([
        '--target',
        `127.0.0.1:${server!.port}`,
        '--ca',
        certs!.caFile,
        '--server-name',
        TLS_HOST,
        '--name',
        'interop',
      ]);
      expect(result.message).toBe(`Hello interop from ${pod}`);
      expect(result.hostname).toBe(pod);
      expect(result.health).toEqual({ '': 'SERVING', 'helloworld.Greeter': 'SERVING' });
      expect(result.services_v1alpha).toEqual(expect.arrayContaining(EXPECTED_SERVICES));
      expect(result.services_v1).toEqual(expect.arrayContaining(EXPECTED_SERVICES));
    });

    test('fails with UNAVAILABLE when the certificate does not name the dialed host', async () => {
      const run = await runPythonClient([
        '--target',
        `127.0.0.1:${server!.port}`,
        '--ca',
        certs!.caFile,
        '--name',
        'interop',
      ]);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/SayHello failed: UNAVAILABLE/);
    });
  });
});
