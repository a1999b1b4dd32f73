/**
 * grpc-lb-check as a Helm or kubectl user gets it: `npm pack -w check` (one esbuild bundle with the schemas beside
 * it) installed offline into an empty project, and run as `npx grpc-lb-check` runs it, on standard input and on a
 * directory; it brings no dependency at all, so no cdk8s.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { main as checkFromSource } from '../../check/cli';
import { installConsumer, packWorkspace, type PackedPackage } from '../../harness/packages';
import { ROOT } from '../../harness/processes';

const work = mkdtempSync(path.join(tmpdir(), 'check-package-'));
const consumerDir = path.join(work, 'consumer');
const installedDir = path.join(consumerDir, 'node_modules', 'grpc-lb-check');
/** A directory of manifests a user would check: one strategy this repository renders. */
const RENDERED = path.join(ROOT, 'dist', 'gke', 'istio-ilb');
let pack: PackedPackage;
let installed: { packages: string[]; bytes: number };

beforeAll(async () => {
  pack = await packWorkspace('check');
  installed = await installConsumer(consumerDir, { local: [pack] });
  process.stdout.write(
    `grpc-lb-check package: ${path.basename(pack.tarball)} ${(pack.size / 1024).toFixed(0)} KiB packed, ` +
      `${(pack.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${pack.files.length} files; ` +
      `installed: ${installed.packages.length} packages (${installed.packages.join(', ')}), ` +
      `${(installed.bytes / 1024 / 1024).toFixed(1)} MiB\n`,
  );
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** What the installed bin did: exit status and output. */
interface BinRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `npx grpc-lb-check ARGS` in the consumer, as a user runs it: node_modules/.bin, with `stdin` piped in. */
function grpcLbCheck(args: readonly string[], stdin = ''): Promise<BinRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(consumerDir, 'node_modules', '.bin', 'grpc-lb-check'), args, {
      cwd: consumerDir,
      stdio: 'pipe',
    });
    const [stdout, stderr]: string[][] = [[], []];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: stdout.join(''), stderr: stderr.join('') }));
    child.stdin.end(stdin);
  });
}

/** The same command run from this repository's sources against upstream/, in this process. */
async function checkWithSources(args: readonly string[]): Promise<BinRun> {
  const [stdout, stderr]: string[][] = [[], []];
  const status = await checkFromSource(args, {
    stdin: Readable.from([]),
    stdout: (text) => stdout.push(text),
    stderr: (text) => stderr.push(text),
  });
  return { status, stdout: stdout.join(''), stderr: stderr.join('') };
}

interface JsonReport {
  summary: { errors: number; warnings: number; objects: number };
  findings: Array<{
    rule: string;
    severity: string;
    object: { kind: string; namespace?: string; name: string; file: string; line: number };
  }>;
  validation: { celRulesEvaluated: number };
}

// A payments service in a namespace no mesh injects, and a checkout client dialing its ClusterIP: every call of
// checkout goes to one payments pod (grpc-clusterip-single-pod, on the Service).
const UNBALANCED = `apiVersion: v1
kind: Namespace
metadata: { name: billing }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: payments, namespace: billing }
spec:
  replicas: 3
  selector: { matchLabels: { app: payments } }
  template:
    metadata: { labels: { app: payments } }
    spec:
      containers:
        - name: payments
          image: registry.example.com/shop/payments:2.3.4
          ports: [{ name: grpc, containerPort: 9090 }]
          readinessProbe: { grpc: { port: 9090 } }
---
apiVersion: v1
kind: Service
metadata: { name: payments, namespace: billing }
spec:
  selector: { app: payments }
  ports: [{ name: grpc, port: 9090, targetPort: grpc }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: checkout, namespace: billing }
spec:
  selector: { matchLabels: { app: checkout } }
  template:
    metadata: { labels: { app: checkout } }
    spec:
      containers:
        - name: checkout
          image: registry.example.com/shop/checkout:1.0.0
          env: [{ name: PAYMENTS_ADDRESS, value: "payments.billing.svc.cluster.local:9090" }]
`;

const errors = (report: JsonReport) =>
  report.findings
    .filter((f) => f.severity === 'error')
    .map((f) => `${f.rule} on ${f.object.kind} ${f.object.namespace}/${f.object.name}`);

describe('the packed grpc-lb-check', () => {
  test('installs alone: no dependency, so no cdk8s, no constructs library', () => {
    expect(installed.packages).toEqual(['grpc-lb-check']);
    expect(pack.manifest.dependencies ?? {}).toEqual({});
    expect(pack.manifest.peerDependencies ?? {}).toEqual({});
  });

  test('holds one bundled file with its data beside it: JSON schemas, their sources, the licences', () => {
    const paths = pack.files.map((file) => file.path);
    expect(pack.manifest.bin).toEqual({ 'grpc-lb-check': 'build/grpc-lb-check.js' });
    expect(paths.filter((file) => file.endsWith('.js'))).toEqual(['build/grpc-lb-check.js']);
    expect(readFileSync(path.join(installedDir, 'build', 'grpc-lb-check.js'), 'utf8')).toMatch(
      /^#!\/usr\/bin\/env node\n/,
    );
    const data = paths.filter((file) => file.startsWith('build/data/')).map((file) => file.slice('build/data/'.length));
    expect(data).toEqual(
      expect.arrayContaining([
        'sources.json',
        'schemas/k8s-v1.27.0-definitions.json',
        'schemas/k8s-v1.32.0-definitions.json',
        'crds/istio-1.30.3-crds.json',
      ]),
    );
    expect(data.filter((file) => !file.endsWith('.json'))).toEqual([]);
    expect(paths).toContain('build/THIRD-PARTY-LICENSES.txt');
    expect(
      paths.filter((file) => !file.startsWith('build/') && !['package.json', 'README.md', 'LICENSE'].includes(file)),
    ).toEqual([]);
  });

  test('a directory: a strategy this repository renders has no error, CRDs and CEL rules included', async () => {
    const result = await grpcLbCheck(['--format', 'json', RENDERED]);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as JsonReport;
    expect(errors(report)).toEqual([]);
    expect(result.status).toBe(0);
    expect(report.summary.objects).toBeGreaterThan(10);
    // The VirtualService, Gateway and DestinationRule went through their CRDs' rules: the shipped data was found.
    expect(report.validation.celRulesEvaluated).toBeGreaterThan(0);
  });

  test('a planted unbalanced client: exit 1 with grpc-clusterip-single-pod on the Service, from a file and from standard input', async () => {
    writeFileSync(path.join(consumerDir, 'unbalanced.yaml'), UNBALANCED);
    const fromFile = await grpcLbCheck(['--format', 'json', 'unbalanced.yaml']);
    const fromStdin = await grpcLbCheck(['--format', 'json', '-'], UNBALANCED);
    for (const [result, file] of [
      [fromFile, 'unbalanced.yaml'],
      [fromStdin, '<stdin>'],
    ] as const) {
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 1, stderr: '' });
      const report = JSON.parse(result.stdout) as JsonReport;
      expect(errors(report)).toEqual(['grpc-clusterip-single-pod on Service billing/payments']);
      // The Service document's first line (its apiVersion, just above its kind).
      expect(report.findings.find((f) => f.severity === 'error')?.object).toEqual(
        expect.objectContaining({ file, line: UNBALANCED.split('\n').indexOf('kind: Service') }),
      );
    }
    const text = await grpcLbCheck(['-'], UNBALANCED);
    expect(text.status).toBe(1);
    expect(text.stdout).toMatch(/grpc-clusterip-single-pod/);
  });

  test('bad input: exit 2 with the reason and no stack trace', async () => {
    const result = await grpcLbCheck(['-'], 'kind: [unclosed');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^grpc-lb-check: <stdin>:1: not YAML or JSON/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  test('reports exactly what the checker run from source against upstream/ reports', async () => {
    writeFileSync(path.join(consumerDir, 'unbalanced.yaml'), UNBALANCED);
    const inputs = [RENDERED, path.join(consumerDir, 'unbalanced.yaml')];
    for (const format of ['json', 'sarif', 'text']) {
      const args = ['--format', format, ...inputs];
      const [fromPackage, fromSource] = await Promise.all([grpcLbCheck(args), checkWithSources(args)]);
      expect(fromPackage).toEqual(fromSource);
    }
  });
});
