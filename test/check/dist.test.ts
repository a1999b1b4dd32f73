/**
 * grpc-lb-check on what this repository renders: every directory of dist/ passes (exit 0), checked one by one and
 * all at once the way `npm run check -- dist` does; and the pipe from `kubectl kustomize` (what `kustomize build .`
 * prints) through standard input.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describeWhenInstalled } from '../../harness/system-packages';
import { manifestDirs } from '../../harness/manifests';
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
