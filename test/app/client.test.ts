/** The client as users run it (`npm run client -- …`) and its pure helpers. */
import * as grpc from '@grpc/grpc-js';
import { clientSettings, defaultName, formatSummary, goLogTime, runClient } from '../../app/client';
import { defaultSettings } from '../../app/config';
import { greeterService } from '../../app/proto';
import { startTestServer } from '../../harness/greeter';
import { startTs } from '../../harness/processes';

describe('client helpers', () => {
  test('goLogTime prints the Go log timestamp in local time', () => {
    expect(goLogTime(new Date(2019, 9, 9, 14, 21, 32))).toBe('2019/10/09 14:21:32');
  });

  test.each([
    [{ target: 'grpc.example.com:443' }, 'grpc.example.com:443'],
    [{ target: 'dns:///greeter-headless.testing.svc.cluster.local:50051' }, 'greeter-headless.testing.svc.cluster.local:50051'],
    [{ target: 'istio-ilbgateway.istio-system:443', serverName: 'grpc.example.com' }, 'grpc.example.com:443'],
    [{ target: '10.0.0.7', serverName: 'grpc.example.com' }, 'grpc.example.com:443'],
  ])('default name for %j is %s', (config, expected) => {
    expect(defaultName(config)).toBe(expected);
  });

  test('the summary gives count, share and a bar per pod, sorted by pod', () => {
    const summary = formatSummary({
      calls: 5,
      failures: 1,
      byPod: new Map([['greeter-b', 1], ['greeter-a', 3]]),
      byStatus: new Map([['UNAVAILABLE', 1]]),
    });
    expect(summary.split('\n')).toEqual([
      'summary: 5 calls, 1 failed (UNAVAILABLE=1), 2 pods',
      `  greeter-a       3  75.0% ${'#'.repeat(30)}`,
      `  greeter-b       1  25.0% ${'#'.repeat(10)}`,
    ]);
  });
});

describe('client process', () => {
  test('logs each reply as the Go sample does, then a per-pod summary, and exits 0', async () => {
    const { server, target } = await startTestServer('greeter-cli');
    try {
      const client = startTs('app/client.ts', ['--target', target, '--count', '4', '--interval-ms', '0', '--summary-every', '2']);
      expect(await client.exited).toBe(0);
      const replies = client.stdout.filter((line) => line.includes('Hello'));
      expect(replies).toHaveLength(4);
      for (const line of replies) expect(line).toMatch(new RegExp(`^\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d Hello ${target} from greeter-cli$`));
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
    const client = startTs('app/client.ts', ['--target', '127.0.0.1:1', '--count', '2', '--interval-ms', '0', '--deadline-ms', '1000']);
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
        ++attempts % 2 === 1 ? callback({ code: grpc.status.UNAVAILABLE, details: 'draining' }) : callback(null, { message: 'Hello' }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
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
