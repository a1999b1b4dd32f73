import { rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { GreeterClient } from '../../app/proto';
import { clientSettings, createGreeterClient, runClient } from '../../app/client';
import { defaultSettings } from '../../app/config';
import { makeCertificates } from '../../harness/certs';
import { checkHealth, healthClient, listServicesByReflection, startTestServer } from '../../harness/greeter';
import { startTcpBalancer } from '../../harness/tcp-balancer';
import { HANG_MS } from '../../harness/wait';

const clientDefaults = defaultSettings(clientSettings);
const quietOutput = { info: () => undefined, error: () => undefined };
const collectingOutput = () => {
  const lines = { info: [] as string[], error: [] as string[] };
  return { lines, output: { info: (l: string) => lines.info.push(l), error: (l: string) => lines.error.push(l) } };
};

type Started = Awaited<ReturnType<typeof startTestServer>>;
const running: Started[] = [];
async function serve(podName: string, overrides: Parameters<typeof startTestServer>[1] = {}) {
  const started = await startTestServer(podName, overrides);
  running.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map(({ server }) => server.shutdown('test done')));
});

/** One SayHello over a fresh channel: the reply, the `hostname` header, or the error. */
function sayHello(client: GreeterClient, name: string) {
  return new Promise<{ message?: string; hostname?: string; error?: grpc.ServiceError }>((resolve) => {
    let hostname: string | undefined;
    const call = client.SayHello({ name }, new grpc.Metadata(), { deadline: Date.now() + HANG_MS }, (error, reply) =>
      resolve(error ? { error } : { message: reply!.message, hostname }),
    );
    call.on('metadata', (md) => (hostname = String(md.get('hostname')[0])));
  });
}

describe('greeter server over loopback', () => {
  test('replies with the pod name in the message and the hostname header', async () => {
    const { target } = await serve('greeter-abc');
    const client = createGreeterClient({ ...clientDefaults, target });
    await expect(sayHello(client, 'grpc.example.com:443')).resolves.toEqual({
      message: 'Hello grpc.example.com:443 from greeter-abc',
      hostname: 'greeter-abc',
    });
    client.close();
  });

  test('health reports SERVING for the server and for helloworld.Greeter; unknown services are NOT_FOUND', async () => {
    const { target } = await serve('greeter-health');
    await expect(checkHealth(target, '')).resolves.toBe('SERVING');
    await expect(checkHealth(target, 'helloworld.Greeter')).resolves.toBe('SERVING');
    await expect(checkHealth(target, 'no.such.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  test('draining turns health NOT_SERVING for watchers before the server closes', async () => {
    const { server, target } = await serve('greeter-watch', { shutdownGraceMs: 5000 });
    const client = healthClient(target);
    const watch = client.Watch({ service: 'helloworld.Greeter' });
    const statuses: string[] = [];
    const notServing = new Promise<void>((resolve) =>
      watch.on('data', ({ status }: { status: string }) => {
        statuses.push(status);
        if (status === 'SERVING') void server.shutdown('test');
        if (status === 'NOT_SERVING') resolve();
      }),
    );
    watch.on('error', () => undefined);
    await notServing;
    // The watch is itself a call in flight: ending it lets the drain finish without the grace timer.
    watch.cancel();
    await expect(server.shutdown('test')).resolves.toEqual({ forced: false });
    expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
    client.close();
  });

  test('reflection lists the greeter and health services', async () => {
    const { target } = await serve('greeter-reflection');
    const services = await listServicesByReflection(target);
    expect(services).toEqual(expect.arrayContaining(['helloworld.Greeter', 'grpc.health.v1.Health']));
  });

  test('a name over the limit is INVALID_ARGUMENT and the server keeps serving', async () => {
    const { target } = await serve('greeter-limits', { maxNameBytes: 1024 });
    const client = createGreeterClient({ ...clientDefaults, target });
    // 342 three-byte characters: under the limit in UTF-16 units, over it in UTF-8 bytes.
    const tooLong = await sayHello(client, '€'.repeat(342));
    expect(tooLong.error).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'name is 1026 bytes; the limit is 1024',
    });
    await expect(sayHello(client, 'x'.repeat(1024))).resolves.toMatchObject({ hostname: 'greeter-limits' });
    client.close();
  });

  test('a message over the receive limit is RESOURCE_EXHAUSTED and the server keeps serving', async () => {
    const { target } = await serve('greeter-big', { maxReceiveMessageBytes: 64 * 1024, maxNameBytes: 1024 * 1024 });
    const client = createGreeterClient({ ...clientDefaults, target });
    const huge = await sayHello(client, 'x'.repeat(100 * 1024));
    expect(huge.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    await expect(sayHello(client, 'after')).resolves.toEqual({
      message: 'Hello after from greeter-big',
      hostname: 'greeter-big',
    });
    client.close();
  });

  test('TLS: the client reaches grpc.example.com by address with a server-name override, and fails without it', async () => {
    const pki = makeCertificates('grpc.example.com');
    try {
      const { server } = await serve('greeter-tls', { tlsCertFile: pki.certFile, tlsKeyFile: pki.keyFile });
      const { lines, output } = collectingOutput();
      const result = await runClient(
        {
          ...clientDefaults,
          target: `127.0.0.1:${server.port}`,
          caFile: pki.caFile,
          serverName: 'grpc.example.com',
          count: 3,
          intervalMs: 0,
        },
        output,
      );
      expect(result.failures).toBe(0);
      // The Go sample's log line: the name defaults to the host the client believes it talks to.
      expect(lines.info).toHaveLength(3);
      for (const line of lines.info)
        expect(line).toMatch(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d Hello grpc\.example\.com:\d+ from greeter-tls$/);

      const mismatched = await runClient(
        { ...clientDefaults, target: `localhost:${server.port}`, caFile: pki.caFile, count: 1, deadlineMs: HANG_MS },
        quietOutput,
      );
      expect(mismatched).toMatchObject({ calls: 1, failures: 1, byStatus: new Map([['UNAVAILABLE', 1]]) });
    } finally {
      rmSync(pki.dir, { recursive: true, force: true });
    }
  });

  test('TLS with PLAINTEXT_PORT: calls over TLS on the port, health checks without TLS on the plaintext port, which speaks no TLS', async () => {
    const pki = makeCertificates('grpc.example.com');
    try {
      const { server } = await serve('greeter-both', {
        tlsCertFile: pki.certFile,
        tlsKeyFile: pki.keyFile,
        plaintextPort: 0,
      });
      expect(server.plaintextPort).toEqual(expect.any(Number));
      expect(server.plaintextPort).not.toBe(server.port);
      const tls = await runClient(
        {
          ...clientDefaults,
          target: `127.0.0.1:${server.port}`,
          caFile: pki.caFile,
          serverName: 'grpc.example.com',
          count: 1,
          intervalMs: 0,
        },
        quietOutput,
      );
      expect(tls.failures).toBe(0);
      // What a kubelet gRPC probe or a Google Cloud gRPC health check does: grpc.health.v1 Check without TLS.
      await expect(checkHealth(`127.0.0.1:${server.plaintextPort}`, '')).resolves.toBe('SERVING');
      await expect(checkHealth(`127.0.0.1:${server.port}`, '')).rejects.toMatchObject({
        code: grpc.status.UNAVAILABLE,
      });
    } finally {
      rmSync(pki.dir, { recursive: true, force: true });
    }
  });

  test('PLAINTEXT_PORT without TLS is refused, naming the setting', async () => {
    await expect(startTestServer('greeter-plain', { plaintextPort: 0 })).rejects.toThrow(/PLAINTEXT_PORT/);
  });

  test('max connection age: behind an L4 balancer a single channel reconnects and reaches every backend, no call fails', async () => {
    const age = { maxConnectionAgeMs: 300, maxConnectionAgeGraceMs: 2000 };
    const backends = [await serve('greeter-0', age), await serve('greeter-1', age)];
    const balancer = await startTcpBalancer(backends.map(({ server }) => server.port));
    try {
      const result = await runClient(
        { ...clientDefaults, target: `127.0.0.1:${balancer.port}`, count: 150, intervalMs: 10, concurrency: 2 },
        quietOutput,
      );
      expect(result.failures).toBe(0);
      expect([...result.byPod.keys()].sort()).toEqual(['greeter-0', 'greeter-1']);
      expect(balancer.connections).toBeGreaterThanOrEqual(2);
    } finally {
      await balancer.close();
    }
  });

  test('without max connection age the same channel stays on one backend (the problem this project solves)', async () => {
    const backends = [await serve('greeter-0'), await serve('greeter-1')];
    const balancer = await startTcpBalancer(backends.map(({ server }) => server.port));
    try {
      const result = await runClient(
        { ...clientDefaults, target: `127.0.0.1:${balancer.port}`, count: 150, intervalMs: 0, concurrency: 5 },
        quietOutput,
      );
      expect(result.failures).toBe(0);
      expect(result.byPod.size).toBe(1);
      expect(balancer.connections).toBe(1);
    } finally {
      await balancer.close();
    }
  });

  test('round_robin over all backends spreads calls evenly once every subchannel is ready', async () => {
    const backends = [await serve('greeter-0'), await serve('greeter-1'), await serve('greeter-2')];
    const target = `ipv4:${backends.map(({ server }) => `127.0.0.1:${server.port}`).join(',')}`;
    const config = { ...clientDefaults, target, lb: 'round_robin' as const, intervalMs: 0, concurrency: 3 };
    const result = await runClient({ ...config, count: 300, warmupMs: 300 }, quietOutput);
    expect(result.failures).toBe(0);
    for (const pod of ['greeter-0', 'greeter-1', 'greeter-2']) expect(result.byPod.get(pod)).toBe(100);
  });
});
