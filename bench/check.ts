/**
 * How long grpc-lb-check takes on 1,000 objects: prints figures, is not a test. Target: <= 1 s of CPU to check them
 * after start-up (modules loaded), on the first check of the process, as one command-line run does it; the wall time
 * is printed beside it, but on a shared machine it is the CPU time plus the wait for a core.
 *
 *   npm run bench:check -- [--runs N] [--objects N] [--json PATH]
 *
 * The input is generated: apps of a server Deployment, its Service and a client Deployment, in namespaces meshed by
 * Istio, by Linkerd or not at all, fronted by a VirtualService and DestinationRule, an Ingress, a GRPCRoute or a
 * headless Service, so every rule has work. Rows: loading the modules; the first check (parse, graph, validation,
 * rules, text output); later checks in the same process; the whole command as a process from source (`node -r
 * scripts/register.js check/bin.ts FILE`), start-up included; and the packed command, the bundle `npm pack`
 * ships (scripts/bundle-check.ts, built here into a temporary directory), as `npx grpc-lb-check FILE` runs it. The
 * in-process rows also give the CPU time they took (all threads of the process): on a shared machine the wall time
 * is that plus the wait for a core, so the load average is printed with them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { BUNDLE_FILE, bundleCheck } from '../scripts/bundle-check';
import { table } from './h2load';

const ROOT = path.resolve(__dirname, '..');
const TARGET_CPU_SECONDS = 1.0;

type Mesh = 'istio' | 'linkerd' | 'none';
type Front = 'istio' | 'ingress' | 'grpcroute' | 'headless';
const MESHES: readonly Mesh[] = ['istio', 'linkerd', 'none'];
const FRONTS: Record<Mesh, readonly Front[]> = {
  istio: ['istio', 'grpcroute'],
  linkerd: ['grpcroute', 'headless'],
  none: ['ingress', 'headless', 'grpcroute'],
};

function namespace(name: string, mesh: Mesh): object {
  const labels = mesh === 'istio' ? { 'istio-injection': 'enabled' } : {};
  const annotations = mesh === 'linkerd' ? { 'linkerd.io/inject': 'enabled' } : {};
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, annotations } };
}

function deployment(name: string, ns: string, container: object): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { terminationGracePeriodSeconds: 30, containers: [container] },
      },
    },
  };
}

/** One app: 3 to 5 objects. */
function app(i: number, ns: string, mesh: Mesh, front: Front): object[] {
  const name = `app-${i}`;
  const headless = front === 'headless';
  const serviceName = headless ? `${name}-headless` : name;
  const appProtocol = mesh === 'linkerd' ? 'kubernetes.io/h2c' : 'grpc';
  const server = deployment(name, ns, {
    name: 'server',
    image: `example/${name}:1.0`,
    env: [
      { name: 'SHUTDOWN_GRACE_MS', value: '20000' },
      { name: 'MAX_CONNECTION_AGE_MS', value: '30000' },
    ],
    ports: [{ name: 'grpc', containerPort: 50051 }],
    readinessProbe: { grpc: { port: 50051 } },
  });
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: serviceName, namespace: ns },
    spec: {
      ...(headless ? { clusterIP: 'None' } : {}),
      selector: { app: name },
      ports: [{ name: 'grpc', port: 50051, targetPort: 'grpc', appProtocol }],
    },
  };
  const target = headless
    ? `dns:///${serviceName}.${ns}.svc.cluster.local:50051`
    : `${serviceName}.${ns}.svc.cluster.local:50051`;
  const client = deployment(`${name}-client`, ns, {
    name: 'client',
    image: 'example/client:1.0',
    env: [
      { name: 'TARGET', value: target },
      { name: 'LB_POLICY', value: headless ? 'round_robin' : 'pick_first' },
    ],
  });
  const objects = [server, service, client];
  if (front === 'istio') {
    objects.push(
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name, namespace: ns },
        spec: { hosts: [name], http: [{ route: [{ destination: { host: name, port: { number: 50051 } } }] }] },
      },
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'DestinationRule',
        metadata: { name, namespace: ns },
        spec: { host: name, trafficPolicy: { loadBalancer: { simple: 'LEAST_REQUEST' } } },
      },
    );
  } else if (front === 'ingress') {
    objects.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name, namespace: ns, annotations: { 'nginx.ingress.kubernetes.io/backend-protocol': 'GRPC' } },
      spec: {
        ingressClassName: 'nginx',
        rules: [
          {
            host: `${name}.example.com`,
            http: {
              paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: 50051 } } } }],
            },
          },
        ],
      },
    });
  } else if (front === 'grpcroute') {
    objects.push({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GRPCRoute',
      metadata: { name, namespace: ns },
      spec: { parentRefs: [{ name: 'edge', namespace: 'edge' }], rules: [{ backendRefs: [{ name, port: 50051 }] }] },
    });
  }
  return objects;
}

/** Exactly `count` objects. */
export function generate(count: number): object[] {
  const objects: object[] = [
    namespace('edge', 'none'),
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'edge', namespace: 'edge' },
      spec: {
        gatewayClassName: 'istio',
        listeners: [{ name: 'grpc', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } } }],
      },
    },
  ];
  for (let i = 0; objects.length < count; i++) {
    const mesh = MESHES[i % MESHES.length];
    const ns = `team-${Math.floor(i / 10)}-${mesh}`;
    if (i % 10 < MESHES.length) objects.push(namespace(ns, mesh));
    objects.push(...app(i, ns, mesh, FRONTS[mesh][i % FRONTS[mesh].length]));
  }
  return objects.slice(0, count);
}

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1e6;
};
const loads = () => loadavg().map((load) => Number(load.toFixed(2)));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      objects: { type: 'string', default: '1000' },
      json: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  const count = Number(values.objects);
  if (!Number.isInteger(runs) || runs < 2 || runs > 100)
    throw new Error(`--runs ${JSON.stringify(values.runs)}: expected an integer from 2 to 100`);
  if (!Number.isInteger(count) || count < 10 || count > 100_000)
    throw new Error(`--objects ${JSON.stringify(values.objects)}: expected an integer from 10 to 100000`);
  const text = generate(count)
    .map((object) => stringify(object))
    .join('---\n');
  const work = mkdtempSync(path.join(tmpdir(), 'bench-check-'));
  try {
    const file = path.join(work, 'objects.yaml');
    writeFileSync(file, text);
    const loadBefore = loads();

    // Required here, not imported above: loading the modules is one of the figures.
    let started = process.hrtime.bigint();
    const check = require('../check') as typeof import('../check');
    const load = seconds(started);

    const checkOnce = () => {
      const [begin, cpu] = [process.hrtime.bigint(), process.cpuUsage()];
      const objects = check.parseManifests(text, file);
      const report = check.checkManifests(objects);
      check.formatText(report, { files: [file], skipped: [] });
      return { seconds: seconds(begin), cpu: cpuSeconds(cpu), report };
    };
    const first = checkOnce();
    const later = Array.from({ length: runs - 1 }, () => checkOnce());

    const processRuns = (command: readonly string[]) =>
      Array.from({ length: runs }, () => {
        started = process.hrtime.bigint();
        const result = spawnSync(process.execPath, command, { cwd: ROOT, stdio: 'pipe' });
        if (result.status !== (first.report.errors > 0 ? 1 : 0))
          throw new Error(`${command.join(' ')} exited ${result.status}: ${result.stderr}`);
        return seconds(started);
      });
    const fromSource = processRuns(['-r', './scripts/register.js', 'check/bin.ts', file]);
    const { bundle } = await bundleCheck(path.join(work, 'packed'));
    const packed = processRuns([bundle, file]);
    const loadAfter = loads();

    const rows = [
      { label: 'load check/ (once per process)', median: load, min: load },
      {
        label: `first check of ${count} objects after start-up`,
        median: first.seconds,
        min: first.seconds,
        cpu: first.cpu,
      },
      {
        label: `later checks of ${count} objects (${runs - 1} runs)`,
        median: median(later.map((r) => r.seconds)),
        min: Math.min(...later.map((r) => r.seconds)),
        cpu: median(later.map((r) => r.cpu)),
      },
      {
        label: `the command from source as a process, start-up included (${runs} runs)`,
        median: median(fromSource),
        min: Math.min(...fromSource),
      },
      {
        label: `the packed command (${BUNDLE_FILE}) as a process, start-up included (${runs} runs)`,
        median: median(packed),
        min: Math.min(...packed),
      },
    ];
    const { errors, warnings, celRulesEvaluated } = first.report;
    console.log(
      `grpc-lb-check on ${count} generated objects (${errors} errors, ${warnings} warnings, ${celRulesEvaluated} CEL rules evaluated); ${cpus().length} cores, node ${process.version}; load average ${loadBefore.join(' ')} before, ${loadAfter.join(' ')} after`,
    );
    console.log(
      table([
        ['what', '', 'median s', 'fastest s', 'CPU s'],
        ...rows.map((row) => [row.label, '', row.median.toFixed(3), row.min.toFixed(3), row.cpu?.toFixed(3) ?? '']),
      ]),
    );
    const verdict = first.cpu <= TARGET_CPU_SECONDS ? 'meets' : 'MISSES';
    console.log(
      `first check after start-up: CPU ${first.cpu.toFixed(3)} s (wall ${first.seconds.toFixed(3)} s at load ${loadAfter[0]}), ${verdict} the ${TARGET_CPU_SECONDS} s of CPU target`,
    );
    if (values.json) {
      writeFileSync(
        values.json,
        `${JSON.stringify({ cores: cpus().length, node: process.version, loadAverage: { before: loadBefore, after: loadAfter }, objects: count, runs, findings: { errors, warnings }, rows }, null, 2)}\n`,
      );
    }
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().then((status) => {
    process.exitCode = status;
  });
}
