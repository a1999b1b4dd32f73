/**
 * grpc-lb-check on what this repository renders: every directory of dist/ passes (exit 0), checked one by one and
 * all at once the way `npm run check -- dist` does; and the pipe from `kubectl kustomize` (what `kustomize build .`
 * prints) through standard input.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { describeWhenInstalled } from '../../harness/system-packages';
import { manifestDirs, readManifestDir, type KubeObject } from '../../harness/manifests';
import { ROOT } from '../../harness/processes';
import { runJson } from './run';

const DIST = path.join(ROOT, 'dist');
const dirs = manifestDirs(DIST).map((dir) => path.relative(ROOT, dir));
const CHECK = [process.execPath, '-r', path.join(ROOT, 'scripts', 'register.js'), path.join(ROOT, 'check', 'bin.ts')];

test.each(dirs)('%s has no errors', async (dir) => {
  const { findings, status } = await runJson([path.join(ROOT, dir)]);
  expect(
    findings
      .filter((f) => f.severity === 'error')
      .map((f) => `${f.rule} on ${f.object.kind} ${f.object.name}: ${f.message}`),
  ).toEqual([]);
  expect(status).toBe(0);
});

test('`npm run check -- dist` exits 0, and SARIF names the files as given', () => {
  const run = spawnSync('npm', ['run', '--silent', 'check', '--', '--format', 'sarif', 'dist'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const uris = JSON.parse(run.stdout).runs[0].results.map(
    (r: { locations: Array<{ physicalLocation: { artifactLocation: { uri: string } } }> }) =>
      r.locations[0].physicalLocation.artifactLocation.uri,
  );
  // The nginx-ingress strategy's Ingress: ingress-nginx is retired (a warning).
  expect(uris).toEqual(
    expect.arrayContaining([expect.stringMatching(/^dist\/[a-z-]+\/nginx-ingress\/0002-ingress\.k8s\.yaml$/)]),
  );
});

/** A copy of a dist/ directory without the objects `drop` selects, file by file. */
function copyWithout(dir: string, drop: (object: KubeObject) => boolean): { copy: string; dropped: number } {
  const copy = mkdtempSync(path.join(tmpdir(), 'dist-copy-'));
  let dropped = 0;
  for (const { file, objects } of readManifestDir(path.join(ROOT, dir))) {
    const kept = objects.filter((object) => !drop(object));
    dropped += objects.length - kept.length;
    writeFileSync(path.join(copy, file), kept.map((object) => stringify(object)).join('---\n'));
  }
  return { copy, dropped };
}

const FAULTS: Array<readonly [dir: string, what: string, drop: (o: KubeObject) => boolean, rule: string]> = [
  // ztunnel is L4 only: with the waypoint gone, nothing balances the client's calls (the Service still names it).
  ...['gke', 'docker-desktop'].map(
    (env) =>
      [
        `dist/${env}/istio-ambient`,
        'the waypoint',
        (o: KubeObject) => o.kind === 'Gateway' && o.spec.gatewayClassName === 'istio-waypoint',
        'grpc-clusterip-single-pod',
      ] as const,
  ),
  // GKE's default HTTP health check fails on a gRPC server: no endpoint is healthy.
  [
    'dist/gke/gke-gateway',
    'the HealthCheckPolicy',
    (o) => o.kind === 'HealthCheckPolicy',
    'gke-gateway-grpc-health-check',
  ],
];

describe.each(FAULTS)('%s without %s', (dir, _what, drop, rule) => {
  let copy: string;
  beforeAll(() => {
    const result = copyWithout(dir, drop);
    copy = result.copy;
    expect(result.dropped).toBe(1);
  });
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  test(`grpc-lb-check reports ${rule} on the greeter Service as an error (exit 1)`, async () => {
    const { findings, status } = await runJson([copy]);
    const errors = findings.filter((f) => f.severity === 'error');
    expect(errors.map((f) => `${f.rule} on ${f.object.kind} ${f.object.name}`)).toEqual([`${rule} on Service greeter`]);
    expect(status).toBe(1);
  });

  test('with --partial (the input is not the whole cluster) it is no error', async () => {
    const { findings, status } = await runJson(['--partial', copy]);
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(status).toBe(0);
  });
});

const kubectlMissing =
  spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0
    ? undefined
    : 'kubectl is not installed';
describeWhenInstalled(
  'kubectl kustomize | grpc-lb-check -',
  kubectlMissing,
  'apt-get install -y kubernetes-client',
)('kubectl kustomize | grpc-lb-check -', () => {
  test.each(['dist/gke/istio-ilb', 'dist/gke/nginx-ingress'])('%s through a pipe', async (dir) => {
    const kustomize = spawn('kubectl', ['kustomize', path.join(ROOT, dir)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const check = spawn(CHECK[0], [...CHECK.slice(1), '--format', 'json', '-'], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 20_000,
    });
    kustomize.stdout.pipe(check.stdin);
    let stdout = '';
    let stderr = '';
    check.stdout.on('data', (chunk) => (stdout += chunk));
    check.stderr.on('data', (chunk) => (stderr += chunk));
    const status = await new Promise<number | null>((resolve) => check.on('close', resolve));
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.summary).toEqual(expect.objectContaining({ errors: 0, files: ['<stdin>'] }));
    expect(report.summary.objects).toBeGreaterThan(5);
  });
});
