/**
 * The command's contract: what it reads (files, directories, List kinds, JSON, standard input), how it refuses
 * bad input (file and line, exit 2, never a stack trace), its options, and the validation's issues as findings.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, openSync, ftruncateSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MAX_INPUT_BYTES } from '../../check';
import type { ValidationReport } from '../../check/validation';
import { NO_VALIDATION, runCheck, runJson } from './run';

const CORPUS = path.join(__dirname, 'corpus');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'grpc-lb-check-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

const SERVICE = (name: string, ns = 'shop') =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  ports:\n    - { name: http, port: 80 }\n`;

/** A failed run says why on stderr, with no stack trace, and exits 2. */
function expectRefused(run: { status: number; stdout: string; stderr: string }, message: RegExp) {
  expect(run.stderr).toMatch(message);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.stdout).toBe('');
  expect(run.status).toBe(2);
}

describe('reading', () => {
  test('directories recursively, in name order, skipping (and listing) kustomization files, and dot-directories', async () => {
    write('b/two.yml', SERVICE('two'));
    write('a/one.yaml', `${SERVICE('one')}---\n${SERVICE('three')}`);
    write(
      'a/kustomization.yaml',
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [one.yaml]\n',
    );
    write('.git/config.yaml', 'not: a manifest\n');
    write('notes.txt', 'ignored');
    const run = await runCheck(['--format', 'json', dir], { validate: NO_VALIDATION });
    const report = JSON.parse(run.stdout);
    expect(report.summary).toEqual({
      errors: 0,
      warnings: 0,
      objects: 3,
      files: [path.join(dir, 'a', 'one.yaml'), path.join(dir, 'b', 'two.yml')],
      skipped: [
        { file: path.join(dir, 'a', 'kustomization.yaml'), reason: expect.stringContaining("kustomize's own file") },
      ],
    });
    expect(run.status).toBe(0);
  });

  test('a repository scan skips and lists what is not Kubernetes objects, and checks the rest', async () => {
    write('chart/Chart.yaml', 'apiVersion: v2\nname: shop\nversion: 1.0.0\n');
    write('chart/values.yaml', 'replicaCount: 2\nimage: { repository: shop }\n');
    write('chart/templates/service.yaml', `{{- if .Values.service }}\n${SERVICE('templated')}{{- end }}\n`);
    write('package.json', '{ "name": "shop", "version": "1.0.0" }\n');
    write('ci/cloudbuild.yaml', 'steps:\n  - name: gcr.io/cloud-builders/docker\n');
    write(
      'overlay/kustomization.yaml',
      'resources: [../base]\npatches: [replicas.yaml]\npatchesJson6902:\n  - { path: kind.yaml, target: { kind: Deployment, name: shop } }\n',
    );
    write(
      'overlay/replicas.yaml',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: shop }\nspec: { replicas: 3 }\n',
    );
    write('overlay/kind.yaml', '- op: replace\n  path: /kind\n  value: StatefulSet\n');
    write('base/shop.yaml', `${SERVICE('shop')}---\nnot: an object\n`);
    const run = await runCheck([dir], { validate: NO_VALIDATION });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const listed = run.stdout.slice(run.stdout.indexOf('skipped'));
    for (const [file, reason] of [
      [
        'base/shop.yaml',
        '1 of its documents are not Kubernetes objects (line 10: a mapping without apiVersion or kind)',
      ],
      ['chart/Chart.yaml', "a Helm chart's metadata"],
      ['chart/templates', "a Helm chart's templates"],
      ['chart/values.yaml', 'Helm values'],
      ['ci/cloudbuild.yaml', 'not a Kubernetes object: a mapping without apiVersion or kind'],
      ['overlay/kind.yaml', `a kustomize patch named by ${path.join(dir, 'overlay', 'kustomization.yaml')}`],
      ['overlay/kustomization.yaml', "kustomize's own file"],
      ['overlay/replicas.yaml', 'a kustomize patch named by'],
      ['package.json', 'not a Kubernetes object: a mapping without apiVersion or kind'],
    ])
      expect(listed).toContain(`  ${path.join(dir, file)}: ${reason}`);
    expect(run.stdout).toMatch(/no findings in 1 object from 3 files/);
  });

  test('a file that claims to be an object and is broken still stops the scan (exit 2, file and line)', async () => {
    write('package.json', '{ "name": "shop" }\n');
    write('deploy/broken.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: [unclosed\n');
    expectRefused(await runCheck([dir]), /broken\.yaml:\d+: not YAML or JSON/);
  });

  test('List kinds and JSON, each item with its own line', async () => {
    const file = write(
      'list.json',
      JSON.stringify(
        {
          apiVersion: 'v1',
          kind: 'List',
          items: [
            {
              apiVersion: 'v1',
              kind: 'Service',
              metadata: { name: 'a', namespace: 'shop' },
              spec: { ports: [{ port: 80 }] },
            },
            {
              apiVersion: 'v1',
              kind: 'Service',
              metadata: { name: 'a', namespace: 'shop' },
              spec: { ports: [{ port: 81 }] },
            },
          ],
        },
        null,
        2,
      ),
    );
    const { findings } = await runJson([file], { validate: NO_VALIDATION });
    // The same Service twice: the duplicate finding names the second item, on its own line.
    expect(findings.map((f) => [f.rule, f.object.name, f.object.line])).toEqual([['duplicate-object', 'a', 20]]);
  });

  test('a block List (kubectl get -o yaml), each item on its line', async () => {
    const item = (port: number) =>
      `- apiVersion: v1\n  kind: Service\n  metadata:\n    name: a\n    namespace: shop\n  spec:\n    ports:\n    - port: ${port}\n`;
    const file = write(
      'list.yaml',
      `apiVersion: v1\nkind: List\nitems:\n${item(80)}${item(81)}metadata:\n  resourceVersion: ""\n`,
    );
    const { findings } = await runJson([file], { validate: NO_VALIDATION });
    expect(findings.map((f) => [f.rule, f.object.line])).toEqual([['duplicate-object', 12]]);
  });

  test('anchors and aliases are read, and an alias bomb is refused', async () => {
    const file = write(
      'anchors.yaml',
      `${SERVICE('a')}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: shop\n  labels: &labels { app: c }\n  annotations: *labels\n`,
    );
    const { findings, status } = await runJson([file], { validate: NO_VALIDATION });
    expect([findings, status]).toEqual([[], 0]);
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from(
        { length: 8 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(', ')}]`,
      ),
    ];
    const bombFile = write(
      'bomb.yaml',
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n${bomb.map((l) => `  ${l}`).join('\n')}\n`,
    );
    expectRefused(await runCheck([bombFile]), /bomb\.yaml:1: cannot read this document: Excessive alias count/);
  });

  test('- reads standard input, and Helm\'s "# Source:" comment names the template', async () => {
    const helm = `---\n# Source: shop/templates/a.yaml\n${SERVICE('a')}---\n# Source: shop/templates/b.yaml\n${SERVICE('a')}`;
    const { findings } = await runJson(['-'], { stdin: [helm], validate: NO_VALIDATION });
    expect(findings.map((f) => f.object)).toEqual([
      expect.objectContaining({ file: '<stdin>', line: 13, template: 'shop/templates/b.yaml' }),
    ]);
  });

  test('objects without a namespace are in --namespace (default "default")', async () => {
    const file = write(
      'bare.yaml',
      `${SERVICE('a').replace('  namespace: shop\n', '')}---\n${SERVICE('a').replace('  namespace: shop\n', '')}`,
    );
    const plain = await runJson([file], { validate: NO_VALIDATION });
    const named = await runJson(['--namespace', 'prod', file], { validate: NO_VALIDATION });
    expect([plain.findings[0].object.namespace, named.findings[0].object.namespace]).toEqual(['default', 'prod']);
  });
});

describe('bad input: a clear error with file and line, exit 2', () => {
  test('not YAML', async () => {
    const file = write('broken.yaml', `${SERVICE('a')}---\nkind: Service\nmetadata: [unclosed\n`);
    expectRefused(
      await runCheck([file]),
      new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1[0-9]: not YAML or JSON`),
    );
  });

  test('a document without kind', async () => {
    const file = write('nokind.yaml', `${SERVICE('a')}---\napiVersion: v1\nmetadata:\n  name: b\n`);
    expectRefused(await runCheck([file]), /nokind\.yaml:10: a document without kind/);
  });

  test('input with no document that is an object: what it holds instead', async () => {
    expectRefused(
      await runCheck(['-'], { stdin: ['- a\n- b\n'] }),
      /no Kubernetes objects in <stdin> \(skipped: <stdin>: not a Kubernetes object: a list, not an object\)/,
    );
  });

  test('a kustomization named on the command line says how to check what it builds', async () => {
    const file = write('kustomization.yaml', 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n');
    expectRefused(await runCheck([file]), /kustomize build <dir> \| grpc-lb-check -/);
  });

  test('a 50 MB file is refused before it is read', async () => {
    const file = path.join(dir, 'huge.yaml');
    const fd = openSync(file, 'w');
    ftruncateSync(fd, 50 * 1024 * 1024);
    closeSync(fd);
    expectRefused(await runCheck([file]), /huge\.yaml holds 50\.0 MiB, more than the 16\.0 MiB/);
  });

  test('50 MB on standard input is refused as soon as the limit passes, without reading the rest', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    let produced = 0;
    function* fiftyMegabytes() {
      for (; produced < 50; produced++) yield chunk;
    }
    expectRefused(await runCheck(['-'], { stdin: fiftyMegabytes() }), /standard input holds more than the 16\.0 MiB/);
    expect(produced).toBeLessThanOrEqual(MAX_INPUT_BYTES / chunk.length + 1);
  });

  test('a directory without manifests', async () => {
    write('README.md', '# nothing here');
    expectRefused(await runCheck([dir]), /a directory without manifests/);
  });

  test('a path that does not exist, and no path at all', async () => {
    expectRefused(await runCheck([path.join(dir, 'missing.yaml')]), /missing\.yaml: no such file or directory/);
    expectRefused(await runCheck([]), /no input: give files, directories, or - for standard input/);
  });

  test('empty standard input', async () => {
    expectRefused(await runCheck(['-'], { stdin: ['---\n'] }), /no Kubernetes objects in <stdin>/);
  });

  test('bad options', async () => {
    expectRefused(await runCheck(['--format', 'xml', '-']), /--format "xml" is not one of text, json, sarif/);
    expectRefused(
      await runCheck(['--linkerd-version', 'edge', '-']),
      /--linkerd-version "edge" is not a Linkerd 2 version/,
    );
    expectRefused(await runCheck(['--frobnicate', '-']), /Unknown option '--frobnicate'/);
  });
});

test('--help prints the usage with the three pipe examples and exits 0', async () => {
  const run = await runCheck(['--help']);
  expect(run.stdout).toContain('kustomize build . | grpc-lb-check -');
  expect(run.stdout).toMatch(/helm template .* \| grpc-lb-check/);
  expect(run.stdout).toContain('grpc-lb-check dist/');
  expect(run.status).toBe(0);
});

describe('the schema and CEL validation, injected', () => {
  const file = path.join(CORPUS, 'good', 'headless-round-robin.yaml');
  const fake = (): ValidationReport => ({
    issues: [
      {
        objectIndex: 1,
        kind: 'schema',
        path: 'spec.template.spec.containers[0].ports[0].containerPort',
        message: 'must be integer',
        kubernetesVersion: '1.32.0',
      },
      {
        objectIndex: 2,
        kind: 'cel',
        path: 'spec',
        message: 'headless Services have no ClusterIP to pin',
        rule: 'self.clusterIP == "None"',
      },
    ],
    celRulesEvaluated: 7,
    celRulesSkipped: [
      {
        crd: 'grpcroutes.gateway.networking.k8s.io',
        path: 'spec.rules',
        rule: 'size(self) > 0',
        reason: 'unsupported function',
      },
    ],
    unknownKinds: [{ objectIndex: 3, apiVersion: 'batch/v1', kind: 'CronJob' }],
  });

  test('each issue is an error on its object, an unknown kind a warning', async () => {
    const { findings, status, stdout } = await runJson([file], { validate: fake });
    expect(findings.map((f) => [f.severity, f.rule, f.object.kind, f.object.name, f.path])).toEqual([
      ['error', 'schema', 'StatefulSet', 'greeter', 'spec.template.spec.containers[0].ports[0].containerPort'],
      ['error', 'cel', 'Service', 'greeter', 'spec'],
      ['warning', 'unknown-kind', 'CronJob', 'client', undefined],
    ]);
    expect(findings[0].message).toBe('must be integer (Kubernetes 1.32.0)');
    expect(findings[1].message).toContain('(rule: self.clusterIP == "None")');
    expect(JSON.parse(stdout).validation).toEqual({ celRulesEvaluated: 7, celRulesSkipped: fake().celRulesSkipped });
    expect(status).toBe(1);
  });

  test('the validation gets the objects in input order and the --kubernetes-version values', async () => {
    const calls: Array<{ objects: readonly object[]; options: unknown }> = [];
    await runCheck(['--kubernetes-version', '1.27.0', '--kubernetes-version', '1.32.0', file], {
      validate: ((objects: readonly object[], options: unknown) => {
        calls.push({ objects, options });
        return NO_VALIDATION();
      }) as () => ValidationReport,
    });
    expect(calls).toHaveLength(1);
    expect(calls[0].objects.map((o) => (o as { kind: string }).kind)).toEqual([
      'Namespace',
      'StatefulSet',
      'Service',
      'CronJob',
    ]);
    expect(calls[0].options).toEqual({ kubernetesVersions: ['1.27.0', '1.32.0'] });
  });
});

describe('Kubernetes versions', () => {
  const sidecar = path.join(CORPUS, 'good', 'validation-edge-cases.yaml');

  test('without --kubernetes-version, the newest the checker holds: a native sidecar is valid', async () => {
    const calls: unknown[] = [];
    await runCheck([sidecar], {
      validate: ((_objects: readonly object[], options: unknown) => {
        calls.push(options);
        return NO_VALIDATION();
      }) as () => ValidationReport,
    });
    expect(calls).toEqual([{ kubernetesVersions: ['1.32.0'] }]);
    const { findings } = await runJson([sidecar]);
    expect(findings.filter((f) => f.rule === 'schema')).toEqual([]);
  });

  test('--kubernetes-version 1.27.0 validates as that version: native sidecars came in 1.28', async () => {
    const { findings } = await runJson(['--kubernetes-version', '1.27.0', sidecar]);
    expect(findings.filter((f) => f.rule === 'schema').map((f) => [f.object.name, f.path])).toEqual([
      ['worker', 'spec.template.spec.initContainers[0].restartPolicy'],
    ]);
  });
});

describe('suppression', () => {
  const DEPLOYMENT = (name: string, annotations = '') =>
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: shop\n${annotations}spec:\n  selector: { matchLabels: { app: ${name} } }\n  template:\n    metadata: { labels: { app: ${name} } }\n    spec:\n      containers:\n        - name: server\n          image: example/${name}:1\n          ports: [{ name: grpc, containerPort: 50051 }]\n`;

  test('an annotation with its reason: the finding leaves the count and is listed with the reason', async () => {
    const file = write(
      'annotated.yaml',
      DEPLOYMENT(
        'legacy',
        '  annotations:\n    grpc-lb-check.io/ignore: "grpc-no-readiness-probe, schema"\n    grpc-lb-check.io/ignore-reason: replaced in Q3\n',
      ),
    );
    const json = await runJson([file], { validate: NO_VALIDATION });
    expect(json.findings).toEqual([]);
    expect(JSON.parse(json.stdout).suppressed).toEqual([
      expect.objectContaining({
        rule: 'grpc-no-readiness-probe',
        reason: 'replaced in Q3',
        by: 'annotation grpc-lb-check.io/ignore',
      }),
    ]);
    const text = await runCheck([file], { validate: NO_VALIDATION });
    expect(text.stdout).toMatch(
      /suppressed \(1 finding, not counted\):\n {2}grpc-no-readiness-probe on Deployment shop\/legacy .*: replaced in Q3/,
    );
    const sarif = JSON.parse((await runCheck(['--format', 'sarif', file], { validate: NO_VALIDATION })).stdout);
    expect(sarif.runs[0].results.map((r: { suppressions?: unknown }) => r.suppressions)).toEqual([
      [{ kind: 'inSource', justification: 'replaced in Q3' }],
    ]);
  });

  test('a config file suppresses by rule and object pattern, each entry with its reason', async () => {
    const file = write('two.yaml', `${DEPLOYMENT('legacy-a')}---\n${DEPLOYMENT('fresh')}`);
    const config = write(
      'grpc-lb-check.yaml',
      'ignore:\n  - rule: grpc-no-readiness-probe\n    object: Deployment shop/legacy-*\n    reason: no health service yet\n',
    );
    const { findings, stdout } = await runJson(['--config', config, file], { validate: NO_VALIDATION });
    expect(findings.map((f) => [f.rule, f.object.name])).toEqual([['grpc-no-readiness-probe', 'fresh']]);
    expect(JSON.parse(stdout).suppressed).toEqual([
      expect.objectContaining({
        object: expect.objectContaining({ name: 'legacy-a' }),
        reason: 'no health service yet',
      }),
    ]);
  });

  test.each([
    ['ignore:\n  - rule: grpc-no-readiness-probe\n', /ignore\[0\]\.reason is required/],
    ['ignore:\n  - { rule: no-such-rule, reason: x }\n', /ignore\[0\]\.rule "no-such-rule" is not a rule id/],
    ['ignore: all\n', /"ignore" must be a list/],
    ['severity: low\n', /unknown field\(s\) severity/],
    ['ignore: [unclosed\n', /not YAML/],
  ])('a config file that cannot be used is refused with the entry at fault: %j', async (text, message) => {
    const config = write('bad-config.yaml', text);
    expectRefused(await runCheck(['--config', config, path.join(CORPUS, 'good', 'istio-mesh.yaml')]), message);
  });
});
