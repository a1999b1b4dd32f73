/**
 * The greeter client with a `kubernetes:///` target: it resolves it through the package grpc-js-kubernetes-resolver
 * (the package's own behaviour is tested in test/resolver/), so a bad target is a bad TARGET setting, and the CLI as
 * users run it balances over the pods a fake API server (harness/fake-kube-api.ts) lists.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { clientSettings, createGreeterClient } from '../../app/client';
import { ConfigError, defaultSettings } from '../../app/config';
import { FakeKubeApi, writeKubeconfig } from '../../harness/fake-kube-api';
import { startTestServer } from '../../harness/greeter';
import { startTs, stopProcess } from '../../harness/processes';

test('a bad kubernetes target is a bad TARGET setting, before any channel exists', () => {
  const make = () =>
    createGreeterClient({ ...defaultSettings(clientSettings), target: 'kubernetes:///greeter.testing' });
  expect(make).toThrow(ConfigError);
  expect(make).toThrow('invalid TARGET="kubernetes:///greeter.testing": expected kubernetes:///<service>');
  expect(make).toThrow('(the port is missing)');
});

test('the CLI balances over the ready pods of the Service the API server lists', async () => {
  const names = ['greeter-a', 'greeter-b'];
  const pods = await Promise.all(names.map((pod) => startTestServer(pod)));
  const api = await FakeKubeApi.start();
  const dir = mkdtempSync(path.join(tmpdir(), 'client-kubernetes-'));
  // One slice per pod: each pod listens on its own port on 127.0.0.1, and a slice has one port per name.
  for (const [index, { server }] of pods.entries()) {
    api.apply({
      metadata: {
        name: names[index],
        namespace: 'testing',
        labels: { 'kubernetes.io/service-name': 'greeter' },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
      ports: [{ name: 'grpc', port: server.port, protocol: 'TCP' }],
    });
  }
  const client = startTs('app/client.ts', ['--count', '100', '--interval-ms', '5', '--name', 'probe'], {
    TARGET: 'kubernetes:///greeter.testing:grpc',
    LB_POLICY: 'round_robin',
    KUBECONFIG: writeKubeconfig(dir, api.port),
  });
  try {
    expect(await client.exited).toBe(0);
    expect(client.stdout.find((line) => line.startsWith('summary:'))).toBe('summary: 100 calls, 0 failed, 2 pods');
    for (const pod of names) expect(client.stdout.some((line) => line.endsWith(`Hello probe from ${pod}`))).toBe(true);
  } finally {
    await stopProcess(client);
    await api.close();
    await Promise.all(pods.map(({ server }) => server.shutdown('test done')));
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
