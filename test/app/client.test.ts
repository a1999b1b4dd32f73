/** The client as users run it (`npm run client -- …`) and its pure helpers. */
import { rmSync } from 'node:fs';
import { once } from 'node:events';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import {
  MAX_DETAILS_CHARS,
  clientSettings,
  defaultName,
  describeFailure,
  formatSummary,
  goLogTime,
  runClient,
} from '../../app/client';
import { defaultSettings } from '../../app/config';
import { greeterService } from '../../app/proto';
import { makeCertificates } from '../../harness/certs';
import { startTestServer } from '../../harness/greeter';
import { startTs } from '../../harness/processes';
import { HANG_MS, settles } from '../../harness/wait';

describe('client helpers', () => {
  test('goLogTime prints the Go log timestamp in local time', () => {
    expect(goLogTime(new Date(2019, 9, 9, 14, 21, 32))).toBe('2019/10/09 14:21:32');
  });

  test.each([
    [{ target: 'grpc.example.com:443' }, 'grpc.example.com:443'],
    [
      { target: 'dns:///greeter-headless.testing.svc.cluster.local:50051' },
      'greeter-headless.testing.svc.cluster.local:50051',
    ],
    [{ target: 'istio-ilbgateway.istio-system:443', serverName: 'grpc.example.com' }, 'grpc.example.com:443'],
    [{ target: '10.0.0.7', serverName: 'grpc.example.com' }, 'grpc.example.com:443'],
  ])('default name for %j is %s', (config, expected) => {
    expect(defaultName(config)).toBe(expected);
  });

  test('the summary gives count, share and a bar per pod, sorted by pod', () => {
    const summary = formatSummary({
      calls: 5,
      failures: 1,
      byPod: new Map([
        ['greeter-b', 1],
        ['greeter-a', 3],
      ]),
      byStatus: new Map([['UNAVAILABLE', 1]]),
    });
    expect(summary.split('\n')).toEqual([
      'summary: 5 calls, 1 failed (UNAVAILABLE=1), 2 pods',
      `  greeter-a       3  75.0% ${'#'.repeat(30)}`,
      `  greeter-b       1  25.0% ${'#'.repeat(10)}`,
    ]);
  });
});

describe('failed calls as the client prints them', () => {
  test('a known status by name, its message as sent', () => {
    expect(describeFailure({ code: grpc.status.UNAVAILABLE, details: 'no pod' })).toEqual({
      status: 'UNAVAILABLE',
      text: 'UNAVAILABLE: no pod',
    });
  });

  test('a grpc-status that is not a number (grpc-js hands it over as NaN) is INTERNAL, said to be malformed; a long message is cut', () => {
    const { status, text } = describeFailure({ code: NaN, details: 'x'.repeat(8000) });
    expect(status).toBe('INTERNAL');
    expect(text).toBe(
      `INTERNAL: malformed grpc-status from the server (not a status code); its message: ${'x'.repeat(MAX_DETAILS_CHARS)}… (${8000 - MAX_DETAILS_CHARS} more characters)`,
    );
  });

  test('a status code gRPC does not define is shown by number', () => {
    expect(describeFailure({ code: 99 as grpc.status, details: '' }).status).toBe('status 99');
  });
});

/**
 * A plain node:http2 server on 127.0.0.1 that handles every stream with `respond`; stopped after each test, its
 * sessions ended first (a server's close waits for them).
 */
const rawServers: Array<{ server: http2.Http2Server; sessions: Set<http2.ServerHttp2Session> }> = [];
afterEach(() =>
  Promise.all(
    rawServers.splice(0).map(({ server, sessions }) => {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const session of sessions) session.destroy();
      return closed;
    }),
  ),
);
async function rawGrpcServer(
  respond: (stream: http2.ServerHttp2Stream) => void,
): Promise<{ target: string; firstStream: Promise<http2.ServerHttp2Stream> }> {
  const server = http2.createServer();
  const firstStream = new Promise<http2.ServerHttp2Stream>((resolve) => server.once('stream', resolve));
  server.on('stream', (stream) => {
    stream.on('error', () => undefined);
    respond(stream);
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  rawServers.push({ server, sessions });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { target: `127.0.0.1:${(server.address() as { port: number }).port}`, firstStream };
}

describe('client process', () => {
  test('a server that sends grpc-status "abc" and an 8,000-character message: one short line saying so, exit 1', async () => {
    const { target } = await rawGrpcServer((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': 'abc', 'grpc-message': 'x'.repeat(8000) }));
      stream.end();
    });
    const client = startTs('app/client.ts', ['--target', target, '--count', '1']);
    expect(await client.exited).toBe(1);
    expect(client.stderr).toHaveLength(1);
    expect(client.stderr[0]).toContain('call failed: INTERNAL: malformed grpc-status from the server');
    expect(client.stderr[0].length).toBeLessThan(400);
    expect(client.stdout).toContain('summary: 1 calls, 1 failed (INTERNAL=1), 0 pods');
  });

  test('SIGTERM ends it at once, not when the call in flight reaches its deadline (--count 0, --deadline-ms of an hour)', async () => {
    const { target, firstStream } = await rawGrpcServer(() => undefined); // never answers
    const client = startTs('app/client.ts', ['--target', target, '--count', '0', '--deadline-ms', '3600000']);
    await settles(firstStream, 'the call reaching the server');
    client.child.kill('SIGTERM');
    // The call it gave up is its own doing, not a failure.
    expect(await settles(client.exited, 'the client ending after SIGTERM')).toBe(0);
    expect(client.stdout.at(-1)).toBe('summary: 0 calls, 0 failed, 0 pods');
  });

  test('--tls to an IP address: the certificate is checked against the address, with no DeprecationWarning (RFC 6066: no IP as server name)', async () => {
    const pki = makeCertificates('127.0.0.1');
    try {
      const { server, target } = await startTestServer('greeter-ip', {
        tlsCertFile: pki.certFile,
        tlsKeyFile: pki.keyFile,
      });
      try {
        const client = startTs('app/client.ts', ['--target', target, '--ca-file', pki.caFile, '--count', '1']);
        expect(await client.exited).toBe(0);
        expect(client.stderr.join('\n')).not.toMatch(/Warning/);
        expect(client.stdout[0]).toMatch(/ Hello 127\.0\.0\.1:\d+ from greeter-ip$/);
      } finally {
        await server.shutdown('test done');
      }
    } finally {
      rmSync(pki.dir, { recursive: true, force: true });
    }
  });

  test('logs each reply as the Go sample does, then a per-pod summary, and exits 0', async () => {
    const { server, target } = await startTestServer('greeter-cli');
    try {
      const client = startTs('app/client.ts', [
        '--target',
        target,
        '--count',
        '4',
        '--interval-ms',
        '0',
        '--summary-every',
        '2',
      ]);
      expect(await client.exited).toBe(0);
      const replies = client.stdout.filter((line) => line.includes('Hello'));
      expect(replies).toHaveLength(4);
      for (const line of replies)
        expect(line).toMatch(
          new RegExp(`^\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d Hello ${target} from greeter-cli$`),
        );
      expect(client.stdout.filter((line) => line.startsWith('summary:'))).toEqual([
        'summary: 2 calls, 0 failed, 1 pods',
        'summary: 4 calls, 0 failed, 1 pods',
      ]);
      expect(client.stdout.at(-1)).toMatch(/^ {2}greeter-cli +4 100\.0% #{40}$/);
    } finally {
      await server.shutdown('test done');
    }
  });

  test('exits 1 and reports UNAVAILABLE when the server is not there', async () => {
    const client = startTs('app/client.ts', [
      '--target',
      '127.0.0.1:1',
      '--count',
      '2',
      '--interval-ms',
      '0',
      // Long: a call that waited for it would fail DEADLINE_EXCEEDED, not UNAVAILABLE.
      '--deadline-ms',
      '30000',
    ]);
    expect(await client.exited).toBe(1);
    expect(client.stderr).toHaveLength(2);
    for (const line of client.stderr) expect(line).toContain('call failed: UNAVAILABLE');
    expect(client.stdout).toContain('summary: 2 calls, 2 failed (UNAVAILABLE=2), 0 pods');
  });

  test.each([
    [['--count', '-1'], '--count="-1"'],
    [['--lb', 'random'], '--lb="random"'],
    [['--server-name', 'grpc.example.com'], 'SERVER_NAME="grpc.example.com"'],
    [['--ca-file', '/nonexistent/ca.crt'], '--ca-file="/nonexistent/ca.crt"'],
    [['--max-attempts', '6'], '--max-attempts="6"'],
  ])('bad settings %j exit 2 with one line naming %s', async (args, named) => {
    const client = startTs('app/client.ts', ['--target', '127.0.0.1:1', ...args]);
    expect(await client.exited).toBe(2);
    expect(client.stderr).toHaveLength(1);
    expect(client.stderr[0]).toContain(`invalid ${named}`);
  });
});

describe('client retry policy', () => {
  test('with --max-attempts 2 a call that fails UNAVAILABLE is sent again; with 1 it fails', async () => {
    // Every other attempt fails as a draining pod's refused call does.
    let attempts = 0;
    const server = new grpc.Server();
    server.addService(greeterService, {
      SayHello: (_call: unknown, callback: grpc.sendUnaryData<{ message: string }>) =>
        ++attempts % 2 === 1
          ? callback({ code: grpc.status.UNAVAILABLE, details: 'draining' })
          : callback(null, { message: 'Hello' }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    const silent = { info: () => undefined, error: () => undefined };
    const config = { ...defaultSettings(clientSettings), target: `127.0.0.1:${port}`, intervalMs: 0, quiet: true };
    try {
      expect(await runClient({ ...config, count: 3, maxAttempts: 2 }, silent)).toMatchObject({ calls: 3, failures: 0 });
      expect(attempts).toBe(6);
      expect(await runClient({ ...config, count: 1, maxAttempts: 1 }, silent)).toMatchObject({ calls: 1, failures: 1 });
    } finally {
      server.forceShutdown();
    }
  });
});

describe('client waitForReady', () => {
  test('with --wait-for-ready a call made while no server answers waits and is served once one does; without, it fails UNAVAILABLE', async () => {
    // Something that takes connections and drops them, as a pod that is not up yet: the channel cannot connect.
    const refusing = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const port = (refusing.address() as net.AddressInfo).port;
    const silent = { info: () => undefined, error: () => undefined };
    const config = {
      ...defaultSettings(clientSettings),
      target: `127.0.0.1:${port}`,
      intervalMs: 0,
      quiet: true,
      count: 1,
      // A bound that only catches a hang: the call must be served, not outlive it.
      deadlineMs: HANG_MS,
    };
    const server = new grpc.Server();
    server.addService(greeterService, {
      SayHello: (_call: unknown, callback: grpc.sendUnaryData<{ message: string }>) =>
        callback(null, { message: 'Hello' }),
    });
    try {
      expect(await runClient({ ...config, waitForReady: false }, silent)).toMatchObject({
        calls: 1,
        failures: 1,
        byStatus: new Map([['UNAVAILABLE', 1]]),
      });
      const waiting = runClient({ ...config, waitForReady: true }, silent);
      await once(refusing, 'connection');
      await new Promise((resolve) => refusing.close(resolve));
      await new Promise<number>((resolve, reject) =>
        server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
          error ? reject(error) : resolve(bound),
        ),
      );
      expect(await waiting).toMatchObject({ calls: 1, failures: 0 });
    } finally {
      refusing.close();
      server.forceShutdown();
    }
  });
});
