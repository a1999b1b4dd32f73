/**
 * The greeter client's xds:/// path, nothing mocked: the client CLI as users run it (app/client.ts, so
 * @grpc/grpc-js-xds in a process of its own, reading GRPC_XDS_BOOTSTRAP as under Istio's grpc-agent), a real ADS
 * server (harness/xds-control-plane.ts) and real greeter processes, all on 127.0.0.1. The client fetches the Listener,
 * RouteConfiguration, Cluster and ClusterLoadAssignment over ADS, ACKs each, and balances as they say; the test reads
 * one `… from <pod>` line per reply.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ConfigError } from '../../app/config';
import { XDS_BOOTSTRAP_CONFIG_ENV, XDS_BOOTSTRAP_ENV, enableXds } from '../../app/xds';
import { makeCertificates } from '../../harness/certs';
import { startLoad } from '../../harness/load';
import { startPods, type Pods } from '../../harness/pods';
import { startServerProcess, startTs, stopProcess, type RunningProcess } from '../../harness/processes';
import { HANG_MS } from '../../harness/wait';
import { DEFAULT_CLIENT_NODE_ID, XdsControlPlane, type XdsEndpoint } from '../../harness/xds-control-plane';

// Each test starts a client process (about 2 s, most of it loading grpc-js-xds) and waits for hundreds or thousands
// of calls: fast on an idle machine, many times slower on a busy one, so every wait counts calls, not time, and the
// limits are generous.
jest.setTimeout(3 * HANG_MS);

const LISTENER = 'greeter.testing.svc.cluster.local:50051';
/** Cluster names as Istio gives them: `outbound|<port>|<subset>|<host>`. */
const istioCluster = (subset = '') => `outbound|50051|${subset}|greeter.testing.svc.cluster.local`;
const CLUSTER = istioCluster();
const REPLY_FROM = / from (\S+)$/;

let plane: XdsControlPlane;
let pods: Pods;
let dir: string;
let bootstrapEnv: Record<string, string>;
const started: RunningProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'xds-test-'));
  [plane, pods] = await Promise.all([XdsControlPlane.start(), startPods(4)]);
  bootstrapEnv = plane.writeBootstrap(path.join(dir, 'grpc-bootstrap.json'));
}, 2 * HANG_MS);

afterAll(async () => {
  await Promise.all(started.map((proc) => stopProcess(proc)));
  await plane?.stop();
  await pods?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Pods by index, as EDS endpoints. */
function endpoints(...indexes: number[]): XdsEndpoint[] {
  return indexes.map((index) => ({ host: '127.0.0.1', port: pods.ports[index] }));
}

beforeEach(() => {
  plane.setService({ listener: LISTENER, clusters: { [CLUSTER]: endpoints(0, 1, 2) } });
});

/**
 * The client CLI dialing a listener, with a bootstrap; stopped after the tests if still running. Its calls' deadline
 * only catches a hang: the first calls wait for the client to load grpc-js-xds and fetch its resources.
 */
function startClient(args: string[], env: Record<string, string> = bootstrapEnv, listener = LISTENER): RunningProcess {
  const deadline = ['--deadline-ms', String(HANG_MS)];
  const client = startTs('app/client.ts', ['--target', plane.target(listener), ...deadline, ...args], env);
  started.push(client);
  return client;
}

/** Replies per pod in the client's stdout lines from index `from`. */
function repliesByPod(lines: readonly string[], from = 0, to = lines.length): Map<string, number> {
  const byPod = new Map<string, number>();
  for (const line of lines.slice(from, to)) {
    const pod = REPLY_FROM.exec(line)?.[1];
    if (pod) byPod.set(pod, (byPod.get(pod) ?? 0) + 1);
  }
  return byPod;
}

/** A client calling until stopped (by default two calls in flight, 1 ms apart), once each of `pods` has replied 20 times. */
async function runningClient(
  podNames: readonly string[],
  args = ['--interval-ms', '1', '--concurrency', '2'],
): Promise<RunningProcess> {
  const client = startClient(args);
  await client.waitUntil(`20 replies from each of ${podNames.join(', ')}`, (stdout) => {
    const byPod = repliesByPod(stdout);
    return podNames.every((pod) => (byPod.get(pod) ?? 0) >= 20);
  });
  return client;
}

/** Resolves once the client has printed `count` more lines than it had. */
function moreLines(client: RunningProcess, count: number, what: string): Promise<number> {
  const from = client.stdout.length;
  return client.waitUntil(what, (stdout) => stdout.length >= from + count).then(() => from);
}

/** SIGTERM the client and check it ended as one with no failed call does: exit 0, a summary with 0 failed. */
async function expectNoFailedCall(client: RunningProcess): Promise<void> {
  expect(await stopProcess(client)).toBe(0);
  expect(client.stderr.filter((line) => line.includes('call failed'))).toEqual([]);
  expect(client.stdout.find((line) => line.startsWith('summary:'))).toMatch(/^summary: \d+ calls, 0 failed,/);
}

describe('the bootstrap is a setting like any other', () => {
  const missing = { [XDS_BOOTSTRAP_ENV]: '', [XDS_BOOTSTRAP_CONFIG_ENV]: '' };

  test('an xds: target without a bootstrap exits 2 naming GRPC_XDS_BOOTSTRAP, before any call', async () => {
    const client = startClient(['--count', '1'], missing);
    expect(await client.exited).toBe(2);
    expect(client.stderr).toEqual([
      `greeter-client: invalid ${XDS_BOOTSTRAP_ENV}="": expected the path of an xDS bootstrap file for an xds: target (Istio's grpc-agent sets it), or ${XDS_BOOTSTRAP_CONFIG_ENV} holding the bootstrap JSON`,
    ]);
  });

  const file = (name: string, text: string) => {
    const bootstrap = path.join(dir, name);
    writeFileSync(bootstrap, text);
    return bootstrap;
  };
  const target = `xds:///${LISTENER}`;
  const insecure = grpc.credentials.createInsecure();
  test.each([
    [
      'a file that is not there',
      () => ({ [XDS_BOOTSTRAP_ENV]: path.join(dir, 'missing.json') }),
      XDS_BOOTSTRAP_ENV,
      'a readable xDS bootstrap file (ENOENT',
    ],
    [
      'a file that is not JSON',
      () => ({ [XDS_BOOTSTRAP_ENV]: file('text.json', 'xds') }),
      XDS_BOOTSTRAP_ENV,
      'an xDS bootstrap: not JSON',
    ],
    [
      'no xds_servers',
      () => ({ [XDS_BOOTSTRAP_ENV]: file('no-servers.json', '{"xds_servers":[],"node":{"id":"a","locality":{}}}') }),
      XDS_BOOTSTRAP_ENV,
      'xds_servers must list at least one server',
    ],
    [
      'no node',
      () => ({
        [XDS_BOOTSTRAP_ENV]: file(
          'no-node.json',
          '{"xds_servers":[{"server_uri":"127.0.0.1:1","channel_creds":[{"type":"insecure"}]}]}',
        ),
      }),
      XDS_BOOTSTRAP_ENV,
      'node must be an object',
    ],
    [
      "a server without channel_creds, by grpc-js-xds's own rules",
      () => ({
        [XDS_BOOTSTRAP_CONFIG_ENV]: '{"xds_servers":[{"server_uri":"127.0.0.1:1"}],"node":{"id":"a","locality":{}}}',
      }),
      XDS_BOOTSTRAP_CONFIG_ENV,
      'channel_creds missing in xds_servers element',
    ],
  ])('%s', (_what, env, setting, reason) => {
    const enable = () => enableXds({ target, maxAttempts: 1 }, insecure, env());
    expect(enable).toThrow(ConfigError);
    expect(enable).toThrow(`invalid ${setting}=`);
    expect(enable).toThrow(reason);
  });

  test('MAX_ATTEMPTS above 1 is refused: the route from the control plane carries the retries', () => {
    expect(() => enableXds({ target, maxAttempts: 3 }, insecure, bootstrapEnv)).toThrow(
      `invalid MAX_ATTEMPTS="3": expected 1 with TARGET=${target}`,
    );
  });
});

describe('xds:/// through the control plane', () => {
  test('spreads calls evenly over three pods: each within ±5 points of a third over 300 calls', async () => {
    // Counted once each pod has replied, so every subchannel is connected.
    const client = await runningClient(pods.names.slice(0, 3), ['--interval-ms', '0']);
    const from = await moreLines(client, 300, '300 more replies');
    const byPod = repliesByPod(client.stdout, from, from + 300);
    expect([...byPod.keys()].sort()).toEqual(pods.names.slice(0, 3));
    for (const [pod, count] of byPod)
      expect({ pod, share: Math.abs(count / 300 - 1 / 3) <= 0.05 }).toEqual({ pod, share: true });
    await expectNoFailedCall(client);
    // The client, by its bootstrap's node id, ACKed each of the four resources and NACKed none.
    const replies = plane.events
      .filter((event) => event.client === DEFAULT_CLIENT_NODE_ID && event.event !== 'sent')
      .map((event) => `${event.kind} ${event.event}`);
    expect(new Set(replies)).toEqual(new Set(['listener ack', 'route ack', 'cluster ack', 'endpoints ack']));
  });

  test('sends calls to an endpoint added by EDS once it has ACKed the update', async () => {
    const client = await runningClient(pods.names.slice(0, 3));
    const push = plane.setEndpoints(CLUSTER, endpoints(0, 1, 2, 3));
    await push.acked();
    await client.waitForLine(new RegExp(` from ${pods.names[3]}$`));
    await expectNoFailedCall(client);
  });

  test('sends no more calls to an endpoint removed from EDS, and no call fails, not even once its pod is gone', async () => {
    const leaving = await startServerProcess('greeter-leaving');
    started.push(leaving);
    plane.setService({
      listener: LISTENER,
      clusters: { [CLUSTER]: [...endpoints(0, 1, 2), { host: '127.0.0.1', port: leaving.port }] },
    });
    const client = await runningClient([...pods.names.slice(0, 3), 'greeter-leaving']);

    await plane.setEndpoints(CLUSTER, endpoints(0, 1, 2)).acked();
    // Calls picked before the client applied the update may still be answered, and replies written before the ACK
    // may still be on their way through the pipe: 300 replies settle both, then 300 more must include none from it.
    await moreLines(client, 300, '300 replies after the ACK');
    const settled = await moreLines(client, 300, '300 more replies');
    expect(repliesByPod(client.stdout, settled).get('greeter-leaving')).toBeUndefined();

    // As Kubernetes does once the endpoint is gone: the pod is stopped, and the client does not notice.
    expect(await stopProcess(leaving)).toBe(0);
    const afterStop = await moreLines(client, 300, '300 replies after the pod stopped');
    expect([...repliesByPod(client.stdout, afterStop).keys()].sort()).toEqual(pods.names.slice(0, 3));
    await expectNoFailedCall(client);
  });

  test('splits 80/20 by weighted clusters pushed to a running client: within ±3 points over 4,000 calls', async () => {
    const stable = istioCluster('stable');
    const canary = istioCluster('canary');
    plane.setService({
      listener: LISTENER,
      clusters: { [stable]: endpoints(0, 1), [canary]: endpoints(2) },
      weights: { [stable]: 1, [canary]: 0 },
    });
    const client = await runningClient(pods.names.slice(0, 2), ['--interval-ms', '0', '--concurrency', '4']);
    expect(repliesByPod(client.stdout).get(pods.names[2])).toBeUndefined();

    await plane.setWeights(LISTENER, { [stable]: 80, [canary]: 20 }).acked();
    // Counted from the canary's first reply, the first call routed by the new weights (at most 3 calls in flight from
    // before it may follow). A cluster is picked per call at random by weight, so 1,000 calls miss ±3 points about
    // one run in 55 by chance alone (σ = 1.26 points); over 4,000 (σ = 0.63) a miss would take a 4.7σ draw.
    await client.waitForLine(new RegExp(` from ${pods.names[2]}$`));
    const from = client.stdout.findIndex((line) => line.endsWith(` from ${pods.names[2]}`));
    await client.waitUntil('4,000 replies after the update', (stdout) => stdout.length >= from + 4000);
    const byPod = repliesByPod(client.stdout, from, from + 4000);
    const canaryShare = (byPod.get(pods.names[2]) ?? 0) / 4000;
    expect(Math.abs(canaryShare - 0.2)).toBeLessThanOrEqual(0.03);
    expect((byPod.get(pods.names[0]) ?? 0) + (byPod.get(pods.names[1]) ?? 0) + (byPod.get(pods.names[2]) ?? 0)).toBe(
      4000,
    );
    await expectNoFailedCall(client);
  });

  test('a Cluster the client rejects is NACKed with its reason, and calls go on with the last good one', async () => {
    const client = await runningClient(pods.names.slice(0, 3));
    const mark = plane.events.length;
    const rejected = plane.publish([
      {
        kind: 'cluster',
        resource: {
          name: CLUSTER,
          type: 'EDS',
          eds_cluster_config: { eds_config: { ads: {} }, service_name: CLUSTER },
          lb_policy: 'MAGLEV',
        },
      },
    ]);
    await expect(rejected.acked()).rejects.toThrow(`rejected cluster version`);
    const nack = plane.events.slice(mark).find((event) => event.event === 'nack');
    expect(nack).toMatchObject({ kind: 'cluster', client: DEFAULT_CLIENT_NODE_ID });
    expect(nack!.error).toContain('unsupported lb_policy: MAGLEV');

    const afterNack = await moreLines(client, 300, '300 replies after the NACK');
    expect([...repliesByPod(client.stdout, afterNack).keys()].sort()).toEqual(pods.names.slice(0, 3));
    await expectNoFailedCall(client);
  });

  test("TLS as the control plane says: with Istio's ISTIO_MUTUAL Cluster the client verifies the pod with the bootstrap's CA", async () => {
    const host = 'greeter-tls.testing.svc.cluster.local';
    const listener = `${host}:50051`;
    const pki = makeCertificates(host);
    const otherPki = makeCertificates(host);
    try {
      const pod = await startServerProcess('greeter-tls', { TLS_CERT_FILE: pki.certFile, TLS_KEY_FILE: pki.keyFile });
      started.push(pod);
      plane.setService({
        listener,
        clusters: { [`outbound|50051||${host}`]: [{ host: '127.0.0.1', port: pod.port }] },
        tls: { subjectAltNames: [host] },
      });
      // The client's identity is the pod's certificate: the greeter asks for none, so only the client's check is tested.
      const bootstrapWith = (name: string, caCertificateFile: string) =>
        plane.writeBootstrap(path.join(dir, name), {
          certificates: { certificateFile: pki.certFile, privateKeyFile: pki.keyFile, caCertificateFile },
        });

      // The pod speaks only TLS, so these calls succeed only if the client took TLS from the Cluster.
      const trusting = startClient(
        ['--count', '20', '--interval-ms', '0'],
        bootstrapWith('trusting.json', pki.caFile),
        listener,
      );
      expect(await trusting.exited).toBe(0);
      expect(repliesByPod(trusting.stdout)).toEqual(new Map([['greeter-tls', 20]]));

      const distrusting = startClient(
        ['--count', '2', '--interval-ms', '0'],
        bootstrapWith('distrusting.json', otherPki.caFile),
        listener,
      );
      expect(await distrusting.exited).toBe(1);
      expect(distrusting.stdout.find((line) => line.startsWith('summary:'))).toMatch(
        /^summary: 2 calls, 2 failed \(UNAVAILABLE=2\)/,
      );
      // The client shortens long messages (app/client.ts); the start of the TLS error survives.
      expect(distrusting.stderr.every((line) => line.includes('unable to verify the first'))).toBe(true);
    } finally {
      rmSync(pki.dir, { recursive: true, force: true });
      rmSync(otherPki.dir, { recursive: true, force: true });
    }
  });

  test('channels in this process (harness/load.ts, as a benchmark drives them) reach the pods through useInThisProcess', async () => {
    plane.useInThisProcess();
    const load = startLoad({ target: plane.target(LISTENER), concurrency: 4, deadlineMs: HANG_MS });
    try {
      await load.until((counts) => pods.names.slice(0, 3).every((pod) => (counts.byPod.get(pod) ?? 0) >= 20), HANG_MS);
    } finally {
      const result = await load.stop();
      expect(result.failures).toBe(0);
      expect([...result.byPod.keys()].sort()).toEqual(pods.names.slice(0, 3));
    }
  });
});
