/**
 * The package grpc-js-kubernetes-resolver (resolver/index.ts) against a fake API server that speaks list and watch
 * (harness/fake-kube-api.ts) and real greeter servers, nothing mocked. The clients are processes of their own
 * (harness/resolver-client.ts: registerKubernetesResolver() and a plain grpc-js channel with round_robin, reporting each
 * call), because @kubernetes/client-node is ESM-only: Node 20's require(esm) loads it, jest's module loader cannot.
 * Target parsing, address selection and the error a bad target throws from a channel's constructor run in-process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  KubernetesTargetError,
  TARGET_FORM,
  parseKubernetesTarget,
  readPodNamespace,
  readyAddresses,
  registerKubernetesResolver,
} from 'grpc-js-kubernetes-resolver';
import { ENDPOINT_SLICE_READER_RULES } from '../../lib/endpoint-slice-reader';
import {
  FakeKubeApi,
  FAKE_TOKEN,
  writeKubeconfig,
  type EndpointSlice,
  type RecordedRequest,
} from '../../harness/fake-kube-api';
import { startTestServer } from '../../harness/greeter';
import { HANG_MS } from '../../harness/wait';
import { freePort, startTs, stopProcess, type RunningProcess } from '../../harness/processes';

const TARGET = 'kubernetes:///greeter.testing:grpc';
const SELECTOR = 'kubernetes.io/service-name=greeter';

describe('kubernetes target', () => {
  test.each([
    ['kubernetes:///greeter.testing:grpc', { service: 'greeter', namespace: 'testing', port: 'grpc' }],
    ['kubernetes:///greeter.testing:50051', { service: 'greeter', namespace: 'testing', port: 50051 }],
    [
      'kubernetes:///greeter.testing.svc.cluster.local:grpc',
      { service: 'greeter', namespace: 'testing', port: 'grpc' },
    ],
    ['kubernetes:///greeter:grpc-web', { service: 'greeter', namespace: 'pod-namespace', port: 'grpc-web' }],
  ])('%s resolves %j', (target, expected) => {
    expect(parseKubernetesTarget(target, () => 'pod-namespace')).toEqual(expected);
  });

  test.each([
    ['kubernetes:greeter.testing:grpc', 'kubernetes:/// (three slashes)'],
    ['kubernetes://testing/greeter:grpc', 'the authority "testing" is not supported'],
    ['kubernetes:///greeter.testing', 'the port is missing'],
    ['kubernetes:///Greeter.testing:grpc', 'service "Greeter" is not a Service name'],
    ['kubernetes:///1greeter.testing:grpc', 'service "1greeter"'],
    ['kubernetes:///.testing:grpc', 'service ""'],
    ['kubernetes:///greeter.Testing:grpc', 'namespace "Testing"'],
    [
      'kubernetes:///greeter.testing.cluster.local:grpc',
      'only .svc[.<cluster domain>] may follow the namespace, got ".cluster.local"',
    ],
    ['kubernetes:///greeter.testing:0', 'port 0 is not from 1 to 65535'],
    ['kubernetes:///greeter.testing:65536', 'port 65536'],
    ['kubernetes:///greeter.testing:', 'port ""'],
    ['kubernetes:///greeter.testing:grpc_web', 'port "grpc_web"'],
    ['kubernetes:///greeter.testing:grpc--web', 'port "grpc--web"'],
    ['kubernetes:///greeter.testing:a-port-name-too-long', 'port "a-port-name-too-long"'],
  ])('%s is rejected: %s', (target, reason) => {
    const parse = () => parseKubernetesTarget(target, () => 'pod-namespace');
    expect(parse).toThrow(KubernetesTargetError);
    expect(parse).toThrow(`invalid kubernetes target ${JSON.stringify(target)}: `);
    expect(parse).toThrow(reason);
    expect(parse).toThrow(`expected ${TARGET_FORM}`);
  });

  test("a bad target throws from the grpc-js channel's constructor, naming the target and the form", () => {
    registerKubernetesResolver();
    const target = 'kubernetes:///greeter.testing';
    const make = () => new grpc.Client(target, grpc.credentials.createInsecure());
    expect(make).toThrow(KubernetesTargetError);
    expect(make).toThrow(
      `invalid kubernetes target "${target}": the port is missing; expected kubernetes:///<service>[.<namespace>[.svc[.<cluster domain>]]]:<port name or number>`,
    );
  });

  test('without a namespace it is the pod\'s, from the ServiceAccount\'s namespace file, else "default"', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'k8s-namespace-'));
    try {
      writeFileSync(path.join(dir, 'namespace'), 'apps\n');
      writeFileSync(path.join(dir, 'empty'), '');
      expect(readPodNamespace(path.join(dir, 'namespace'))).toBe('apps');
      expect(readPodNamespace(path.join(dir, 'empty'))).toBe('default');
      expect(readPodNamespace(path.join(dir, 'missing'))).toBe('default');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** An EndpointSlice of the controller's shape: one address per endpoint (all 127.0.0.1 here), ports by name. */
function slice(
  name: string,
  endpoints: Array<{ pod: string; ready?: boolean; ip?: string }>,
  ports: Record<string, number>,
  { service = 'greeter', namespace = 'testing' } = {},
): EndpointSlice {
  return {
    metadata: {
      name,
      namespace,
      labels: {
        'kubernetes.io/service-name': service,
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
      },
    },
    addressType: 'IPv4',
    endpoints: endpoints.map(({ pod, ready, ip }) => ({
      addresses: [ip ?? '127.0.0.1'],
      conditions: ready === undefined ? {} : { ready, serving: ready, terminating: false },
      targetRef: { kind: 'Pod', name: pod, namespace },
    })),
    ports: Object.entries(ports).map(([portName, port]) => ({ name: portName, port, protocol: 'TCP' })),
  };
}

describe('ready addresses', () => {
  test('every endpoint not marked unready, with the named port of its slice, once, across slices', () => {
    const slices = [
      slice(
        's1',
        [
          { pod: 'a', ip: '10.0.0.1' },
          { pod: 'b', ip: '10.0.0.2', ready: true },
          { pod: 'c', ip: '10.0.0.3', ready: false },
        ],
        { grpc: 8080, metrics: 9090 },
      ),
      // A second slice with another port (a rollout that changed it) and a pod the first slice lists too.
      slice(
        's2',
        [
          { pod: 'd', ip: '10.0.0.4' },
          { pod: 'b', ip: '10.0.0.2' },
        ],
        { grpc: 8081 },
      ),
      slice('s3', [{ pod: 'e', ip: '10.0.0.5' }], { metrics: 9090 }),
      { ...slice('s4', [], { grpc: 8080 }), endpoints: null },
    ];
    expect(readyAddresses(slices, 'grpc')).toEqual([
      { host: '10.0.0.1', port: 8080 },
      { host: '10.0.0.2', port: 8080 },
      { host: '10.0.0.2', port: 8081 },
      { host: '10.0.0.4', port: 8081 },
    ]);
    // A number is dialed as is on every ready endpoint, as kuberesolver does.
    expect(readyAddresses(slices, 50051).map((a) => `${a.host}:${a.port}`)).toEqual([
      '10.0.0.1:50051',
      '10.0.0.2:50051',
      '10.0.0.4:50051',
      '10.0.0.5:50051',
    ]);
  });
});

/**
 * Polls until check() returns a value other than undefined/false; rejects after timeoutMs with what it waited for. The
 * bound only catches a hang: a wait may span the resolver's backoff (up to 30 s between retries).
 */
async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = HANG_MS): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Is this request allowed by the Role's rules in the target's namespace? As RBAC decides: group, resource, verb, namespace. */
function allowedByRole(request: RecordedRequest, namespace: string): boolean {
  const route = /^\/apis\/([^/]+)\/[^/]+\/namespaces\/([^/]+)\/([^/]+)$/.exec(request.path);
  if (!route) return false;
  const [, group, requestNamespace, resource] = route;
  return (
    requestNamespace === namespace &&
    ENDPOINT_SLICE_READER_RULES.some(
      (rule) =>
        rule.apiGroups?.includes(group) && rule.resources?.includes(resource) && rule.verbs.includes(request.verb),
    )
  );
}

function expectOnlyAllowedRequests(api: FakeKubeApi): void {
  expect(api.requests.length).toBeGreaterThan(0);
  for (const request of api.requests) {
    expect({ request, allowed: allowedByRole(request, 'testing') }).toEqual({ request, allowed: true });
    expect(request.method).toBe('GET');
    expect(request.path).toBe('/apis/discovery.k8s.io/v1/namespaces/testing/endpointslices');
    expect(request.query.labelSelector).toBe(SELECTOR);
    expect(request.authorization).toBe(`Bearer ${FAKE_TOKEN}`);
  }
}

/** One line of harness/resolver-client.ts: a call's outcome. */
type CallLine = { ok: true; pod: string } | { ok: false; code: string; details: string };

/** The calls a resolver client reported, from stdout line `from` on. */
function calls(proc: RunningProcess, from = 0): CallLine[] {
  return proc.stdout.slice(from).flatMap((line) => (line.startsWith('{"ok":') ? [JSON.parse(line) as CallLine] : []));
}

/** The pods that answered, in order, from stdout line `from` on. */
function replies(proc: RunningProcess, from = 0): string[] {
  return calls(proc, from).flatMap((call) => (call.ok ? [call.pod] : []));
}

/** The next `count` replies from now, by pod. */
async function nextReplies(proc: RunningProcess, count: number): Promise<Record<string, number>> {
  const from = proc.stdout.length;
  const pods = await until(`${count} replies`, () => replies(proc, from).length >= count && replies(proc, from));
  const byPod: Record<string, number> = {};
  for (const pod of pods.slice(0, count)) byPod[pod] = (byPod[pod] ?? 0) + 1;
  return byPod;
}

/**
 * Resolves once `pod` has had no reply in the last 30 replies from now (with it in a pool of up to four, round_robin
 * would give it every fourth at least).
 */
function gone(proc: RunningProcess, pod: string): Promise<true> {
  const from = proc.stdout.length;
  return until(`${pod} to get no more calls`, () => {
    const pods = replies(proc, from);
    return pods.length - 1 - pods.lastIndexOf(pod) >= 30;
  });
}

/** The resolver client, tracing the resolver, against the API server of this kubeconfig. */
function startResolverClient(kubeconfig: string, env: Record<string, string> = {}): RunningProcess {
  return startTs('harness/resolver-client.ts', [], {
    TARGET,
    KUBECONFIG: kubeconfig,
    INTERVAL_MS: '2',
    DEADLINE_MS: '2000',
    GRPC_TRACE: 'kubernetes_resolver',
    GRPC_VERBOSITY: 'DEBUG',
    ...env,
  });
}

/** Lines grpc-js logged at ERROR (its default logger writes `E <message>` to stderr). */
const errorLines = (proc: RunningProcess, from = 0) => proc.stderr.slice(from).filter((line) => line.startsWith('E '));

describe('resolving through the Kubernetes API', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'k8s-resolver-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('round_robin follows the pool: pods join (turn ready, a new slice) and leave (not ready, endpoint removed, slice deleted) without a failed call, across a watch that ends, one that expires (ERROR 410) and one answered 410 Gone', async () => {
    const servers = await Promise.all(
      ['greeter-a', 'greeter-b', 'greeter-c', 'greeter-d'].map((pod) => startTestServer(pod)),
    );
    const [a, b, c, d] = servers;
    const api = await FakeKubeApi.start();
    let client: RunningProcess | undefined;
    try {
      const port = { a: a.server.port, b: b.server.port, c: c.server.port, d: d.server.port };
      // greeter-a's other port leads to greeter-c: a resolver that took it would send calls there.
      api.apply(slice('greeter-a', [{ pod: 'greeter-a' }], { grpc: port.a, metrics: port.c }));
      api.apply(slice('greeter-b', [{ pod: 'greeter-b', ready: true }], { grpc: port.b }));
      api.apply(slice('greeter-c', [{ pod: 'greeter-c', ready: false }], { grpc: port.c })); // still starting
      // Decoys the label selector and the namespace must keep out: another Service, and greeter in another namespace.
      api.apply(slice('other', [{ pod: 'greeter-c' }], { grpc: port.c }, { service: 'other' }));
      api.apply(slice('greeter-x', [{ pod: 'greeter-c' }], { grpc: port.c }, { namespace: 'elsewhere' }));

      client = startResolverClient(writeKubeconfig(dir, api.port));
      const proc = client;
      const updates = () =>
        proc.stderr.filter((line) => line.includes('| kubernetes_resolver |') && line.includes(': update: ')).length;

      // The pool is a and b: calls reach exactly them, in turn.
      await until(
        'both pods of the pool to answer',
        () => replies(proc).includes('greeter-a') && replies(proc).includes('greeter-b'),
      );
      const pool = await nextReplies(proc, 60);
      expect(Object.keys(pool).sort()).toEqual(['greeter-a', 'greeter-b']);
      expect(Math.min(...Object.values(pool))).toBeGreaterThanOrEqual(25);

      // c turns ready (MODIFIED): it joins.
      let mark = proc.stdout.length;
      api.apply(slice('greeter-c', [{ pod: 'greeter-c', ready: true }], { grpc: port.c }));
      await until('greeter-c to get calls', () => replies(proc, mark).includes('greeter-c'));
      const three = await nextReplies(proc, 60);
      expect(Object.keys(three).sort()).toEqual(['greeter-a', 'greeter-b', 'greeter-c']);
      expect(Math.min(...Object.values(three))).toBeGreaterThanOrEqual(15);

      // A new pod in a new slice (ADDED): it joins too.
      mark = proc.stdout.length;
      api.apply(slice('greeter-d', [{ pod: 'greeter-d' }], { grpc: port.d }));
      await until('greeter-d to get calls', () => replies(proc, mark).includes('greeter-d'));
      const four = await nextReplies(proc, 80);
      expect(Object.keys(four).sort()).toEqual(['greeter-a', 'greeter-b', 'greeter-c', 'greeter-d']);
      expect(Math.min(...Object.values(four))).toBeGreaterThanOrEqual(15);

      // A change that moves no address (an annotation, an endpoint that is not ready) is not passed on.
      const updatesBefore = updates();
      const unchangedAt = api.apply({
        ...slice(
          'greeter-b',
          [
            { pod: 'greeter-b', ready: true },
            { pod: 'greeter-b2', ready: false, ip: '127.0.0.2' },
          ],
          { grpc: port.b },
        ),
        metadata: {
          ...slice('greeter-b', [], {}).metadata,
          annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': new Date().toISOString() },
        },
      });
      const eventLine = await until('the resolver to see the change', () => {
        const index = proc.stderr.findIndex((line) =>
          line.includes(`MODIFIED greeter-b at resourceVersion ${unchangedAt}`),
        );
        return index >= 0 && index;
      });
      expect(proc.stderr[eventLine + 1]).toContain(`${TARGET}: addresses unchanged`);
      expect(updates()).toBe(updatesBefore);

      // a turns not ready, as a terminating pod does at once while it still serves: it leaves the pool.
      api.apply(slice('greeter-a', [{ pod: 'greeter-a', ready: false }], { grpc: port.a, metrics: port.c }));
      await gone(proc, 'greeter-a');
      expect(Object.keys(await nextReplies(proc, 40)).sort()).toEqual(['greeter-b', 'greeter-c', 'greeter-d']);

      // The API server ends the watch (its timeout): the resolver watches again from where it was, without a list.
      const closedAt = Date.now();
      const lastSeen = api.resourceVersion;
      api.closeWatches();
      await api.waitForRequest((r) => r.at >= closedAt && r.verb === 'watch' && r.query.resourceVersion === lastSeen);
      expect(api.requests.filter((r) => r.at >= closedAt).map((r) => r.verb)).toEqual(['watch']);

      // b's endpoint is removed (an empty slice's endpoints are null in kube-apiserver's JSON): b leaves; its server
      // then stops, as a pod ends after its grace period.
      api.apply({ ...slice('greeter-b', [], { grpc: port.b }), endpoints: null });
      await gone(proc, 'greeter-b');
      await b.server.shutdown('pod deleted');
      expect(Object.keys(await nextReplies(proc, 30)).sort()).toEqual(['greeter-c', 'greeter-d']);

      // a turns ready again while the watch misses it and the history is compacted: watching from the old
      // resourceVersion gets ERROR 410, and only a new list finds a.
      const expiredAt = Date.now();
      const oldVersion = api.resourceVersion;
      api.apply(slice('greeter-a', [{ pod: 'greeter-a', ready: true }], { grpc: port.a, metrics: port.c }), {
        notify: false,
      });
      api.compact();
      mark = proc.stdout.length;
      api.closeWatches();
      await until('greeter-a to get calls again', () => replies(proc, mark).includes('greeter-a'));
      const afterExpiry = api.requests
        .filter((r) => r.at >= expiredAt)
        .map((r) => `${r.verb} ${r.query.resourceVersion ?? '-'}`);
      expect(afterExpiry.slice(0, 3)).toEqual([`watch ${oldVersion}`, 'list -', `watch ${api.resourceVersion}`]);
      expect(Object.keys(await nextReplies(proc, 45)).sort()).toEqual(['greeter-a', 'greeter-c', 'greeter-d']);

      // d turns not ready while the watch misses it, and the API server answers the next watch 410 Gone (HTTP):
      // again only a new list finds the change.
      const goneAt = Date.now();
      const beforeGone = api.resourceVersion;
      api.apply(slice('greeter-d', [{ pod: 'greeter-d', ready: false }], { grpc: port.d }), { notify: false });
      api.failNext(1, 410, 'Gone', `too old resource version: ${beforeGone}`);
      api.closeWatches();
      await gone(proc, 'greeter-d');
      const afterGone = api.requests
        .filter((r) => r.at >= goneAt)
        .map((r) => `${r.verb} ${r.query.resourceVersion ?? '-'}`);
      expect(afterGone.slice(0, 3)).toEqual([`watch ${beforeGone}`, 'list -', `watch ${api.resourceVersion}`]);

      // c's slice is deleted: c leaves.
      api.delete('testing', 'greeter-c');
      await gone(proc, 'greeter-c');
      expect(await nextReplies(proc, 30)).toEqual({ 'greeter-a': 30 });

      // Not one call failed through all of it, and the ended and expired watches were no errors (no retry, no backoff).
      expect(await stopProcess(client)).toBe(0);
      expect(calls(proc).filter((call) => !call.ok)).toEqual([]);
      expect(errorLines(proc)).toEqual([]);
      expectOnlyAllowedRequests(api);
    } finally {
      if (client) await stopProcess(client);
      await api.close();
      await Promise.all(servers.map(({ server }) => server.shutdown('test done')));
    }
  });

  test('API errors: before a first list, calls fail UNAVAILABLE with what failed (down, 403, no ready endpoint); after it, an API server that goes away leaves the pool as it was, and its return is followed; close() leaves nothing running', async () => {
    const [a, b] = await Promise.all(['greeter-a', 'greeter-b'].map((pod) => startTestServer(pod)));
    // Where an API server that is not up yet will listen.
    const apiPort = await freePort();
    const apis: FakeKubeApi[] = [];
    // A deadline far beyond the bounds below: a call that queued instead of failing would time a wait out.
    const client = startResolverClient(writeKubeconfig(dir, apiPort), { INTERVAL_MS: '20', DEADLINE_MS: '60000' });
    const failures = () => calls(client).flatMap((call) => (call.ok ? [] : [call]));
    try {
      const down = await until('a failed call', () => failures()[0]);
      expect(down.code).toBe('UNAVAILABLE');
      expect(down.details).toContain(
        `${TARGET}: list /apis/discovery.k8s.io/v1/namespaces/testing/endpointslices?labelSelector=${SELECTOR} at http://127.0.0.1:${apiPort} failed`,
      );
      expect(down.details).toContain('ECONNREFUSED');
      expect(
        errorLines(client).some((line) => line.includes('ECONNREFUSED') && line.includes('retrying with backoff')),
      ).toBe(true);

      // The API server comes up, but the Role is not bound yet: the 403 is what calls report next. Then the list
      // works, but the one pod is not ready yet: calls fail with the resolver's note on what it found.
      const first = await FakeKubeApi.start({ port: apiPort });
      apis.push(first);
      first.failNext(
        1,
        403,
        'Forbidden',
        'endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:testing:default" cannot list resource "endpointslices" in API group "discovery.k8s.io" in the namespace "testing"',
      );
      first.apply(slice('greeter-a', [{ pod: 'greeter-a', ready: false }], { grpc: a.server.port }));
      const forbidden = await until('a call failed with the 403', () =>
        failures().find((call) => call.details.includes('HTTP 403')),
      );
      expect(forbidden.code).toBe('UNAVAILABLE');
      expect(forbidden.details).toContain('failed: HTTP 403: endpointslices.discovery.k8s.io is forbidden');
      const empty = await until('a call failed for want of a ready pod', () =>
        failures().find((call) => call.details.includes('0 ready endpoints')),
      );
      expect(empty).toEqual({
        ok: false,
        code: 'UNAVAILABLE',
        details: `${TARGET}: 0 ready endpoints with port grpc in 1 EndpointSlices of Service greeter in namespace testing`,
        ms: expect.any(Number),
      });
      first.apply(slice('greeter-a', [{ pod: 'greeter-a', ready: true }], { grpc: a.server.port }));
      await until('greeter-a to answer', () => replies(client).includes('greeter-a'));
      await until('the watch to be open', () => first.openWatches === 1);

      // The API server goes away: the resolver reports it and retries, and calls keep going to the pod it last saw.
      const errorsBefore = client.stderr.length;
      await first.close();
      await until('the resolver to report the API server gone', () =>
        errorLines(client, errorsBefore).some((line) => line.includes('ECONNREFUSED')),
      );
      const whileDown = client.stdout.length;
      await until('30 calls while the API server is down', () => calls(client, whileDown).length >= 30);
      expect(calls(client, whileDown).filter((call) => !call.ok)).toEqual([]);

      // It comes back with a change made meanwhile (the pods are b now): the retried list finds it.
      const second = await FakeKubeApi.start({ port: apiPort });
      apis.push(second);
      second.apply(slice('greeter-b', [{ pod: 'greeter-b' }], { grpc: b.server.port }));
      await until('greeter-b to answer', () => replies(client, whileDown).includes('greeter-b'));
      await gone(client, 'greeter-a');
      await until('the watch to be open again', () => second.openWatches === 1);
      expect(calls(client, whileDown).filter((call) => !call.ok)).toEqual([]);

      // close() ends the watch and every timer: the process then exits by itself, with no process.exit.
      client.child.kill('SIGTERM');
      await client.waitForLine(/"closed":true/, 5000);
      const exit = await Promise.race([
        client.exited,
        new Promise((resolve) => setTimeout(() => resolve('still running 3 s after close()'), 3000).unref()),
      ]);
      expect(exit).toBe(0);
      expect(second.openWatches).toBe(0);
      for (const api of apis) expectOnlyAllowedRequests(api);
    } finally {
      await stopProcess(client);
      for (const api of apis) await api.close();
      await Promise.all([a, b].map(({ server }) => server.shutdown('test done')));
    }
  });
});
