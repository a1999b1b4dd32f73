/**
 * The strategies benchmark's machinery (harness/strategy-run.ts, harness/strategy-paths.ts): its figures on known
 * counts and a synthetic series; what the paths take from dist/; the DNS path resolving through a real dnsmasq to
 * the pods' own addresses; today's scenario on the DNS, L4 and xDS paths; and the rollout race on the DNS, kubernetes
 * and L7 paths, as clusters roll pods: 0 failed calls. Every phase here lasts a number of calls and every wait is for
 * an event (a call, a reply, a process exit), bounded only to catch a hang; the race's cluster durations (readiness
 * period, data plane lags, preStop sleeps) are what it simulates, at a fifth of cluster time. What a path does is
 * asserted where it follows from how it balances (one pinned connection never reaches a new pod; per-call balancing
 * does); never a timing.
 *
 * Needs Debian's dnsmasq-base and nginx (+ libnginx-mod-stream). Without them those suites are skipped with one
 * line saying so, except under CI=true, where the missing package fails the run.
 */
// First: grpc-js reads GRPC_NODE_USE_ALTERNATIVE_RESOLVER as it loads (jest gives each test file its own env).
import '../../harness/dns-authority';
import * as grpc from '@grpc/grpc-js';
import { clientSettings, createGreeterClient } from '../../app/client';
import { defaultSettings } from '../../app/config';
import { DNSMASQ_INSTALL_HINT, dnsmasqMissing, startDnsmasq } from '../../harness/dnsmasq';
import { NGINX_INSTALL_HINT, nginxMissing } from '../../harness/nginx';
import { LoopbackPods, podHost, type PodAddress } from '../../harness/pods';
import {
  CallTimeline,
  FAIR_SHARE,
  evenness,
  fairShareAfter,
  lagged,
  runRace,
  runStrategyPath,
  type Scenario,
} from '../../harness/strategy-run';
import {
  DATA_PLANES,
  ambientPath,
  dnsPath,
  kubernetesPath,
  l4Path,
  l7Path,
  renderedClient,
  renderedServer,
  stopXdsControlPlane,
  xdsPath,
  type StrategyPath,
} from '../../harness/strategy-paths';
import { startTs } from '../../harness/processes';
import { RACE_OF_THE_TEST } from '../../harness/race-run';
import { describeWhenInstalled } from '../../harness/system-packages';
import { HANG_MS } from '../../harness/wait';

afterAll(() => stopXdsControlPlane());

describe('evenness over the pods', () => {
  test('equal counts: max/min 1, coefficient of variation 0', () => {
    expect(
      evenness(
        ['a', 'b', 'c'],
        new Map([
          ['a', 100],
          ['b', 100],
          ['c', 100],
        ]),
      ),
    ).toEqual({ byPod: { a: 100, b: 100, c: 100 }, maxMinRatio: 1, coefficientOfVariation: 0 });
  });

  test('50/100/150: max/min 3, CV = population standard deviation / mean = 40.82 / 100', () => {
    const figures = evenness(
      ['a', 'b', 'c'],
      new Map([
        ['a', 50],
        ['b', 100],
        ['c', 150],
      ]),
    );
    expect(figures.maxMinRatio).toBe(3);
    expect(figures.coefficientOfVariation).toBeCloseTo(Math.sqrt(5000 / 3) / 100, 10);
  });

  test('every call on one pod of three: max/min infinite (null), CV √2; a pod with no call still counts', () => {
    const figures = evenness(['a', 'b', 'c'], new Map([['b', 300]]));
    expect(figures).toMatchObject({ byPod: { a: 0, b: 300, c: 0 }, maxMinRatio: null });
    expect(figures.coefficientOfVariation).toBeCloseTo(Math.SQRT2, 10);
  });
});

describe('fair share of a new pod', () => {
  const pods = ['greeter-0', 'greeter-1', 'greeter-2', 'greeter-3'];
  /** 100 calls a second from `fromMs` to `toMs`, one per 10 ms slot, each ending mid-slot; greeter-3 answers the slots `isNew` picks. */
  function callsFor(timeline: CallTimeline, fromMs: number, toMs: number, isNew: (slot: number) => boolean) {
    for (let slot = 0; fromMs + slot * 10 < toMs; slot++)
      timeline.record({ endedAt: fromMs + slot * 10 + 5, pod: isNew(slot) ? pods[3] : pods[slot % 3] });
  }
  const tenPercent = (slot: number) => slot % 10 === 0;
  const fortyPercent = (slot: number) => slot % 5 < 2;

  test('found at the start of the first whole 1 s window where it answered ≥ 20%', () => {
    const timeline = new CallTimeline();
    callsFor(timeline, 0, 3000, () => false); // before it was added
    callsFor(timeline, 3000, 5000, tenPercent); // added at 3.05 s: 10%, not enough
    callsFor(timeline, 5000, 8000, fortyPercent); // from 5 s on: 40%
    // Windows start on 100 ms steps from 3.1 s. [4.3 s, 5.3 s): 7 of 70 calls, then 12 of 30: 19%.
    // [4.4 s, 5.4 s): 6 of 60, then 16 of 40: 22%, the first ≥ 20%. 4.4 - 3.05 = 1.35 s.
    expect(fairShareAfter(timeline, pods[3], 3050, 8000)).toBeCloseTo(1.35, 10);
    // That window must have ended by `until`.
    expect(fairShareAfter(timeline, pods[3], 3050, 5399)).toBeUndefined();
    expect(fairShareAfter(timeline, pods[3], 3050, 5400)).toBeCloseTo(1.35, 10);
  });

  test('never, when it stays below the share', () => {
    const timeline = new CallTimeline();
    callsFor(timeline, 0, 10_000, (slot) => slot % 100 < 19); // 19% in every 100 calls in a row
    expect(fairShareAfter(timeline, pods[3], 0, 10_000)).toBeUndefined();
    expect(fairShareAfter(timeline, pods[3], 0, 10_000, { ...FAIR_SHARE, share: FAIR_SHARE.share - 0.01 })).toBe(0);
  });

  test('a window with fewer than minCalls calls says nothing about shares', () => {
    const timeline = new CallTimeline();
    const everyMs = 1000 / (FAIR_SHARE.minCalls - 2); // a whole number of ms: every 1 s window holds the same calls
    for (let t = 0; t < 5000; t += everyMs) timeline.record({ endedAt: t + 1, pod: pods[3] });
    expect(fairShareAfter(timeline, pods[3], 0, 5000)).toBeUndefined();
  });

  test('failed calls count as calls the new pod did not answer', () => {
    const timeline = new CallTimeline();
    for (let t = 0; t < 2000; t += 10) timeline.record({ endedAt: t + 5, pod: t % 40 === 0 ? pods[3] : undefined });
    // greeter-3 answered 25% of all calls; the others failed.
    expect(timeline.window(0, 1000)).toEqual({ calls: 100, byPod: new Map([[pods[3], 25]]) });
    expect(fairShareAfter(timeline, pods[3], 0, 2000)).toBe(0);
  });
});

test("the paths dial with the settings the strategies render, and take their pods' drain delay and readiness period from dist/", () => {
  expect(renderedClient('headless')).toEqual({
    target: 'dns:///greeter-headless.testing.svc.cluster.local:50051',
    lb: 'round_robin',
    maxAttempts: 3,
    waitForReady: true,
    dnsMinTimeBetweenResolutionsMs: 2000,
  });
  expect(renderedClient('k8s-resolver')).toEqual({
    target: 'kubernetes:///greeter.testing:grpc',
    lb: 'round_robin',
    maxAttempts: 3,
    waitForReady: true,
    dnsMinTimeBetweenResolutionsMs: undefined,
  });
  // Retries of an xds: target are the control plane's route's (app/xds.ts).
  expect(renderedClient('istio-proxyless')).toMatchObject({
    target: 'xds:///greeter.testing.svc.cluster.local:50051',
    lb: 'round_robin',
    maxAttempts: 1,
  });
  expect(renderedClient('nginx-ingress')).toMatchObject({ lb: 'pick_first', maxAttempts: 3, waitForReady: true });
  // Behind a headless Service the pods outlast the cluster DNS cache; elsewhere GrpcApp's default.
  expect(renderedServer('headless')).toEqual({
    drainDelayMs: 31_000,
    readinessPeriodMs: 5000,
    maxConnectionAgeMs: 10_000,
  });
  expect(renderedServer('nginx-ingress')).toEqual({ drainDelayMs: 5000, readinessPeriodMs: 5000 });
  for (const strategy of [
    'headless',
    'nginx-ingress',
    'k8s-resolver',
    'istio-proxyless',
    'linkerd',
    'istio-ambient',
  ] as const) {
    const lags = [dnsPath(), l7Path(), kubernetesPath(), xdsPath(), l4Path(), ambientPath()]
      .filter((path) => path.strategy === strategy)
      .map((path) => DATA_PLANES[path.dataPlane].lagMs);
    // The preStop sleep outlasts the lag of the data plane in front of the pods.
    for (const lag of lags) expect(renderedServer(strategy).drainDelayMs).toBeGreaterThan(lag);
  }
  // The ambient client dials the ClusterIP Service: its one connection is what ztunnel carries to the waypoint.
  expect(renderedClient('istio-ambient')).toMatchObject({
    target: 'greeter.testing.svc.cluster.local:50051',
    lb: 'pick_first',
    maxAttempts: 3,
    waitForReady: true,
  });
});

test('a lagged data plane acts on the changes in the order it heard of them, one after the other', async () => {
  const applied: string[] = [];
  let releaseFirst!: () => void;
  const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
  const pod = (name: string): PodAddress => ({ name, host: '127.0.0.1', port: 1 });
  const plane = lagged(
    {
      added: async (p) => {
        if (p.name === 'a') await firstHeld;
        applied.push(`+${p.name}`);
      },
      removing: async (p) => void applied.push(`-${p.name}`),
    },
    0,
  );
  const changes = [plane.added(pod('a')), plane.removing(pod('b')), plane.added(pod('c'))];
  const second = changes[1].then(() => [...applied]);
  releaseFirst();
  await Promise.all(changes);
  // The removal waited for the addition it was told of after.
  expect(await second).toEqual(['+a', '-b']);
  expect(applied).toEqual(['+a', '-b', '+c']);
});

/** Phases of a number of calls: the figures' shape and what follows from each path's balancing, not their size. */
const TINY: Scenario = {
  concurrency: 4,
  warmup: { calls: 50 },
  steady: { calls: 300 },
  fourthPod: { calls: 300 },
  settle: { calls: 100 },
};

/** The race at a fifth of cluster time; the count goes on for 100 calls after the last old pod has ended. */
const RACE = RACE_OF_THE_TEST;
const RACE_TIME_SCALE = 0.2;
const silent = () => undefined;

/** The race on one path: every call answered, every old pod drained and ended with 0. */
async function expectRaceWithoutFailures(
  path: StrategyPath,
  figuresOf = () => runRace(path, RACE, silent, RACE_TIME_SCALE),
) {
  const figures = await figuresOf();
  expect({ failures: figures.failures, byStatus: figures.byStatus }).toEqual({ failures: 0, byStatus: {} });
  expect(figures.calls).toBeGreaterThan(0);
  expect(figures.steps.map((step) => step.exitCode)).toEqual([0, 0, 0]);
  expect(figures.dataPlane.name).toBe(path.dataPlane);
  return figures;
}

describeWhenInstalled(
  'dnsmasq',
  dnsmasqMissing(),
  DNSMASQ_INSTALL_HINT,
)('the DNS path through dnsmasq', () => {
  const NAME = 'greeter-headless.testing.svc.cluster.local';

  test('dnsmasq answers the A records it is given, and follows a change', async () => {
    const dnsmasq = await startDnsmasq({ [NAME]: ['127.0.0.11', '127.0.0.12', '127.0.0.13'] });
    try {
      expect(dnsmasq.server).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(await dnsmasq.resolve(NAME)).toEqual(['127.0.0.11', '127.0.0.12', '127.0.0.13']);
      await dnsmasq.setRecords({ [NAME]: ['127.0.0.12', '127.0.0.13', '127.0.0.14'] });
      expect(await dnsmasq.resolve(NAME)).toEqual(['127.0.0.12', '127.0.0.13', '127.0.0.14']);
      await expect(dnsmasq.setRecords({ 'other.testing.svc.cluster.local': ['127.0.0.11'] })).rejects.toThrow(
        'names are fixed when it starts',
      );
    } finally {
      await dnsmasq.stop();
    }
  });

  test("the app's client resolves the headless name through dnsmasq and reaches each pod at its own address", async () => {
    const pods = await LoopbackPods.start(3);
    try {
      const running = await dnsPath().start(pods.pods);
      try {
        const server = /^dns:\/\/(127\.0\.0\.1:\d+)\//.exec(running.target)?.[1];
        expect(running.target).toBe(`dns://${server}/${NAME}:${pods.port}`);
        expect(running.lb).toBe('round_robin');
        const client = createGreeterClient({
          ...defaultSettings(clientSettings),
          target: running.target,
          lb: running.lb,
        });
        try {
          const peers = new Map<string, string>();
          for (let i = 0; i < 30; i++) {
            const peer = await new Promise<string>((resolve, reject) => {
              let pod = '';
              const call = client.SayHello(
                { name: 'dns' },
                new grpc.Metadata(),
                { deadline: Date.now() + HANG_MS },
                (error) => (error ? reject(error) : resolve(`${pod} ${call.getPeer()}`)),
              );
              call.on('metadata', (metadata: grpc.Metadata) => (pod = String(metadata.get('hostname')[0])));
            });
            const [pod, address] = peer.split(' ');
            peers.set(pod, address);
          }
          // The name exists only in dnsmasq: every pod answered, each from the address its A record gives.
          expect(Object.fromEntries(peers)).toEqual(
            Object.fromEntries(pods.pods.map((pod, i) => [pod.name, `${podHost(i)}:${pods.port}`])),
          );
        } finally {
          client.close();
        }
      } finally {
        await running.stop();
      }
    } finally {
      await pods.stop();
    }
  });

  test("today's scenario on the DNS path: figures add up, and without a dropped connection the fourth pod gets no call", async () => {
    const figures = await runStrategyPath(dnsPath(), TINY, silent);
    expect(figures).toMatchObject({
      client: { lb: 'round_robin', maxAttempts: 3, waitForReady: true, dnsMinTimeBetweenResolutionsMs: 2000 },
      steady: { calls: 300 },
      fourthPod: { pod: 'greeter-3', fairShareAfterSeconds: null, share: 0 },
      rollout: { pods: 4 },
    });
    expect(Object.keys(figures.steady.byPod)).toEqual(['greeter-0', 'greeter-1', 'greeter-2']);
    expect(Object.values(figures.steady.byPod).reduce((a, b) => a + b, 0)).toBe(
      figures.steady.calls - figures.steady.failures,
    );
    // round_robin over the three A records: every pod answered.
    expect(figures.steady.maxMinRatio).not.toBeNull();
    expect(figures.rollout.steps.map((step) => step.exitCode)).toEqual([0, 0, 0, 0]);
    expect(figures.rollout.failures).toBe(Object.values(figures.rollout.byStatus).reduce((a, b) => a + b, 0));
  });

  test('the race on the DNS path: no call fails while the cluster DNS cache still answers old pods', async () => {
    const figures = await expectRaceWithoutFailures(dnsPath());
    // The rendered preStop sleep, and a lag that answers removed pods all along.
    expect(figures.drainDelayMs).toBe(Math.round(renderedServer('headless').drainDelayMs * RACE_TIME_SCALE));
    expect(figures.dataPlane.lagMs).toBe(Math.round(DATA_PLANES['cluster-dns'].lagMs * RACE_TIME_SCALE));
  });
});

describe('the kubernetes path through the fake API server', () => {
  test('the race: no call fails while the EndpointSlice watch carries each change', async () => {
    const path = kubernetesPath();
    // A process of its own: jest's module loader cannot load @kubernetes/client-node (ESM-only), Node 20 can.
    await expectRaceWithoutFailures(path, async () => {
      const run = startTs('harness/race-run.ts', [path.name, String(RACE_TIME_SCALE)], {}, 'swc');
      const code = await run.exited;
      if (code !== 0) throw new Error(`race-run exited with ${code}: ${run.stderr.join('\n')}`);
      return JSON.parse(run.stdout[run.stdout.length - 1]) as Awaited<ReturnType<typeof runRace>>;
    });
  });
});

describeWhenInstalled(
  'nginx',
  nginxMissing(),
  NGINX_INSTALL_HINT,
)('the paths behind nginx', () => {
  test("today's scenario on L4: one connection stays on one pod, so evenness is infinite and the fourth pod never gets a call", async () => {
    const progress: string[] = [];
    const figures = await runStrategyPath(l4Path(), TINY, (line) => progress.push(line));
    expect(figures).toMatchObject({
      client: { lb: 'pick_first' },
      steady: { maxMinRatio: null },
      fourthPod: { fairShareAfterSeconds: null, share: 0 },
    });
    expect(Object.values(figures.steady.byPod).filter((count) => count > 0)).toHaveLength(1);
    expect(figures.steady.coefficientOfVariation).toBeCloseTo(Math.SQRT2, 10);
    expect(figures.rollout.steps.map((step) => step.exitCode)).toEqual([0, 0, 0, 0]);
    expect(progress.map((line) => line.split(':')[0])).toEqual([
      expect.stringMatching(
        /^\[L4\] 3 pods on 127\.0\.0\.11, 127\.0\.0\.12, 127\.0\.0\.13 port \d+ via nginx stream on 127\.0\.0\.1$/,
      ),
      expect.stringMatching(/^\[L4\] steady [\d.]+ s, 300 calls$/),
      '[L4] greeter-3 added at 127.0.0.14',
      '[L4] rollout of 4 pods at once',
    ]);
  });

  test('the race on L7: no call fails while ingress-nginx still routes to pods that left the endpoints', async () => {
    await expectRaceWithoutFailures(l7Path());
  });
});

describeWhenInstalled(
  'nginx',
  nginxMissing(),
  NGINX_INSTALL_HINT,
)('the ambient path: an L4 relay for ztunnel, then an L7 proxy for the waypoint', () => {
  test('one pick_first connection through the L4 relay still reaches every pod', async () => {
    const figures = await runStrategyPath(ambientPath(), TINY, silent);
    expect(figures).toMatchObject({ client: { lb: 'pick_first' }, fourthPod: { pod: 'greeter-3' } });
    // Behind the relay, the waypoint stand-in balances each call: every pod answered, unlike the L4 path.
    expect(Object.values(figures.steady.byPod).every((count) => count > 0)).toBe(true);
    expect(figures.steady.maxMinRatio).not.toBeNull();
    expect(figures.rollout.steps.map((step) => step.exitCode)).toEqual([0, 0, 0, 0]);
  });
});

describe('the xDS path through the harness control plane', () => {
  test("today's scenario, the client's own LB policy set to pick_first: the control plane's ROUND_ROBIN balances anyway", async () => {
    const path = xdsPath();
    // For an xds: target the app's grpc.service_config is only grpc-js's default, used when the resolver gives no
    // service config; the xDS resolver gives its own (xds_cluster_manager over the route's clusters) with every
    // resolution (@grpc/grpc-js 1.14.7 src/resolving-load-balancer.ts handleResolverResult; @grpc/grpc-js-xds 1.14.1
    // src/resolver-xds.ts handleXdsConfig). With pick_first winning, one pod would answer every call.
    const pickFirst: StrategyPath = {
      ...path,
      start: async (pods) => ({ ...(await path.start(pods)), lb: 'pick_first' }),
    };
    const figures = await runStrategyPath(pickFirst, TINY, silent);
    expect(figures).toMatchObject({
      client: { lb: 'pick_first', target: renderedClient('istio-proxyless').target },
      fourthPod: { pod: 'greeter-3' },
      rollout: { pods: 4 },
    });
    expect(Object.keys(figures.steady.byPod)).toEqual(['greeter-0', 'greeter-1', 'greeter-2']);
    expect(Object.values(figures.steady.byPod).reduce((a, b) => a + b, 0)).toBe(
      figures.steady.calls - figures.steady.failures,
    );
    // Round robin over the three endpoints of the first EDS push: every pod answered.
    expect(figures.steady.maxMinRatio).not.toBeNull();
    // The EDS push with the fourth pod reaches the client on its open ADS stream: the pod gets calls.
    expect(figures.fourthPod.share).toBeGreaterThan(0);
    expect(figures.rollout.steps.map((step) => step.exitCode)).toEqual([0, 0, 0, 0]);
    expect(figures.rollout.failures).toBe(Object.values(figures.rollout.byStatus).reduce((a, b) => a + b, 0));
    // The control plane serves one path at a time.
    const running = await path.start([]);
    try {
      await expect(path.start([])).rejects.toThrow(/^an xDS path already runs on this process's control plane/);
    } finally {
      await running.stop();
    }
  });
});
