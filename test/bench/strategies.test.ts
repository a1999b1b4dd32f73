/**
 * The strategies benchmark's machinery (harness/strategy-run.ts, harness/strategy-paths.ts): its figures on known
 * counts and a synthetic series, the DNS path resolving through a real dnsmasq to the pods' own addresses, and the
 * whole scenario on the DNS, L4 and xDS paths with tiny phases. What a path does is asserted where it follows from how it
 * balances (one pinned connection never reaches a new pod; per-call balancing does); never a timing.
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
import { LoopbackPods, podHost } from '../../harness/pods';
import {
  CallTimeline,
  FAIR_SHARE,
  evenness,
  fairShareAfter,
  runStrategyPath,
  type Scenario,
} from '../../harness/strategy-run';
import { ambientPath, dnsPath, l4Path, renderedClient, xdsPath, type StrategyPath } from '../../harness/strategy-paths';
import { describeWhenInstalled } from '../../harness/system-packages';

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

test('the DNS, kubernetes and xDS paths dial what the headless, k8s-resolver and istio-proxyless strategies render', () => {
  expect(renderedClient('headless')).toEqual({
    target: 'dns:///greeter-headless.testing.svc.cluster.local:50051',
    lb: 'round_robin',
  });
  expect(renderedClient('k8s-resolver')).toEqual({ target: 'kubernetes:///greeter.testing:grpc', lb: 'round_robin' });
  expect(renderedClient('istio-proxyless')).toEqual({
    target: 'xds:///greeter.testing.svc.cluster.local:50051',
    lb: 'round_robin',
  });
  expect(renderedClient('nginx-ingress').lb).toBe('pick_first');
  // The ambient client dials the ClusterIP Service: its one connection is what ztunnel carries to the waypoint.
  expect(renderedClient('istio-ambient')).toEqual({
    target: 'greeter.testing.svc.cluster.local:50051',
    lb: 'pick_first',
  });
});

/** Tiny phases: the figures' shape and what follows from each path's balancing, not their size. */
const TINY: Scenario = {
  concurrency: 4,
  warmupMs: 300,
  steadyMs: 1000,
  fairShareWaitMs: 2500,
  settleMs: 300,
  recoveryWaitMs: 1000,
};
const silent = () => undefined;

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
                { deadline: Date.now() + 5000 },
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
  }, 60_000);

  test('the whole scenario on the DNS path: figures add up', async () => {
    const figures = await runStrategyPath(dnsPath(), TINY, silent);
    expect(figures).toMatchObject({
      path: 'DNS',
      lb: 'round_robin',
      fourthPod: { pod: 'greeter-3' },
      rollout: { pods: 4 },
    });
    expect(Object.keys(figures.steady.byPod)).toEqual(['greeter-0', 'greeter-1', 'greeter-2']);
    expect(Object.values(figures.steady.byPod).reduce((a, b) => a + b, 0)).toBe(
      figures.steady.calls - figures.steady.failures,
    );
    // round_robin over the three A records: every pod answered.
    expect(figures.steady.maxMinRatio).not.toBeNull();
    // No connection drops while it waits, so grpc-js does not resolve again: the fourth pod gets no call.
    expect(figures.fourthPod.fairShareAfterSeconds).toBeNull();
    expect(figures.fourthPod.lastSecondShare).toBe(0);
    expect(figures.rollout.steps.map((step) => step.exitCode)).toEqual([0, 0, 0, 0]);
    expect(figures.rollout.failures).toBe(Object.values(figures.rollout.byStatus).reduce((a, b) => a + b, 0));
  }, 90_000);
});

describeWhenInstalled(
  'nginx',
  nginxMissing(),
  NGINX_INSTALL_HINT,
)('the scenario behind nginx', () => {
  test('L4: one connection stays on one pod, so evenness is infinite and the fourth pod never gets a call', async () => {
    const progress: string[] = [];
    const figures = await runStrategyPath(l4Path(), TINY, (line) => progress.push(line));
    expect(figures).toMatchObject({
      path: 'L4',
      lb: 'pick_first',
      steady: { maxMinRatio: null },
      fourthPod: { fairShareAfterSeconds: null, lastSecondShare: 0 },
    });
    expect(Object.values(figures.steady.byPod).filter((count) => count > 0)).toHaveLength(1);
    expect(figures.steady.coefficientOfVariation).toBeCloseTo(Math.SQRT2, 10);
    expect(figures.rollout.steps.map((step) => step.exitCode)).toEqual([0, 0, 0, 0]);
    expect(progress.map((line) => line.split(':')[0])).toEqual([
      expect.stringMatching(
        /^\[L4\] 3 pods on 127\.0\.0\.11, 127\.0\.0\.12, 127\.0\.0\.13 port \d+ via nginx stream on 127\.0\.0\.1$/,
      ),
      '[L4] steady 1.0 s',
      '[L4] greeter-3 added at 127.0.0.14',
      expect.stringMatching(/^\[L4\] rollout of 4 pods in [\d.]+ s$/),
    ]);
  }, 90_000);
});

describeWhenInstalled(
  'nginx',
  nginxMissing(),
  NGINX_INSTALL_HINT,
)('the ambient path: an L4 relay for ztunnel, then an L7 proxy for the waypoint', () => {
  test('one pick_first connection through the L4 relay still reaches every pod', async () => {
    const figures = await runStrategyPath(ambientPath(), TINY, silent);
    expect(figures).toMatchObject({ path: 'ambient', lb: 'pick_first', fourthPod: { pod: 'greeter-3' } });
    // Behind the relay, the waypoint stand-in balances each call: every pod answered, unlike the L4 path.
    expect(Object.values(figures.steady.byPod).every((count) => count > 0)).toBe(true);
    expect(figures.steady.maxMinRatio).not.toBeNull();
    expect(figures.rollout.steps.map((step) => step.exitCode)).toEqual([0, 0, 0, 0]);
  }, 90_000);
});

describe('the xDS path through the harness control plane', () => {
  test("the whole scenario, the client's own LB policy set to pick_first: the control plane's ROUND_ROBIN balances anyway", async () => {
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
      path: 'xDS',
      lb: 'pick_first',
      target: renderedClient('istio-proxyless').target,
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
    expect(figures.fourthPod.lastSecondShare).toBeGreaterThan(0);
    expect(figures.rollout.steps.map((step) => step.exitCode)).toEqual([0, 0, 0, 0]);
    expect(figures.rollout.failures).toBe(Object.values(figures.rollout.byStatus).reduce((a, b) => a + b, 0));
    // grpc-js-xds kept the first bootstrap, so a second start here is refused by name.
    await expect(xdsPath().start([])).rejects.toThrow(
      /^the xDS path starts once per process: grpc-js-xds here keeps its first bootstrap \(control plane 127\.0\.0\.1:\d+\), now stopped$/,
    );
  }, 90_000);
});
