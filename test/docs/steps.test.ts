/**
 * A newcomer can follow every strategy's steps as written: the README's and docs/' `npm run` lines name scripts with
 * arguments they accept, their dist/ paths exist, and each section's shell steps, run in order on a model of a fresh
 * cluster, create every namespace before it is used and every Secret where dist/ reads it, before the pods that
 * mount it. First the checker itself, on planted mistakes; then the docs.
 */
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { formatSummary } from '../../app/client';
import { CLIENT_ENV } from '../../app/settings';
import { ENVIRONMENTS, requiredTlsSecrets } from '../../deploy';
import { containerEnv, findObject, readManifestDir, type KubeObject } from '../../harness/manifests';
import { ROOT } from '../../harness/processes';
import {
  checkNpmRun,
  checkSteps,
  clientSummaryCommand,
  declaredFlags,
  distPathExists,
  distPaths,
  effectsOf,
  npmRuns,
  parseShell,
  sections,
  secretReads,
  shellBlocks,
  showPipeline,
  type NpmRun,
} from './steps';

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const PAGES = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).map((file) => `docs/${file}`)].filter((file) =>
  file.endsWith('.md'),
);
const STRATEGIES_PAGE = 'docs/strategies.md';
const npmRun = (text: string): NpmRun => {
  const [run] = npmRuns(`\`${text}\``);
  return run;
};

describe('the shell reader', () => {
  test('splits pipelines and commands, joins continued lines, drops comments, quotes and assignments', () => {
    const pipelines = parseShell(
      [
        'kubectl create secret tls x -n testing --cert=a \\',
        '  --key=b --dry-run=client -o yaml | kubectl apply -f -   # idempotent',
        'VERSION=$(node -p "require(\'./package.json\').version")',
        "curl -sL https://example.org/a#b | LINKERD2_VERSION=edge-25.10.7 sh && echo 'a # b' 2>&1",
        'kubectl -n testing port-forward deploy/greeter 9000:9000 >/dev/null & sleep 2',
      ].join('\n'),
    );
    expect(pipelines.map(showPipeline)).toEqual([
      'kubectl create secret tls x -n testing --cert=a --key=b --dry-run=client -o yaml | kubectl apply -f -',
      'curl -sL https://example.org/a#b | sh',
      'echo a # b 2>&1',
      'kubectl -n testing port-forward deploy/greeter 9000:9000 >/dev/null',
      'sleep 2',
    ]);
  });

  test('reads `npm run` in code blocks and inline code, placeholders kept whole, optional words unbracketed', () => {
    const runs = npmRuns(
      [
        '```sh',
        'npm run certs -- docker-desktop   # prints the command',
        '```',
        'Run `npm run bench:server -- --server <compiled server>\n--runs 3` or `npm run import [-- <dir>]`.',
      ].join('\n'),
    );
    expect(runs.map(({ script, args, npmArgs }) => ({ script, args, npmArgs }))).toEqual([
      { script: 'certs', args: ['docker-desktop'], npmArgs: [] },
      { script: 'bench:server', args: ['--server', '<compiled-server>', '--runs', '3'], npmArgs: [] },
      { script: 'import', args: ['<dir>'], npmArgs: [] },
    ]);
  });
});

describe('checkNpmRun', () => {
  test.each([
    'npm run certs -- docker-desktop',
    'npm run certs -- <env>',
    'npm run endpoints -- gke',
    'npm run synth -- gke/linkerd',
    'npm run client -- --target localhost:443 --ca-file certs/grpc.example.com/tls.crt --server-name grpc.example.com',
    'npm run server -- --help',
    'npm run check -- dist',
    'npm run bench:lb -- --runs 3',
    'npm run bench:synth -- --runs 7',
    'npm run demo:lb -- --print-config',
    'npm run import',
    'npm run lint',
  ])(
    'accepts %s',
    async (text) => {
      expect(await checkNpmRun(npmRun(text))).toEqual([]);
    },
    20_000,
  );

  test.each([
    ['npm run cert -- gke', 'package.json has no script "cert"'],
    ['npm run certs', 'usage: npm run certs -- <environment> [--out <dir>]'],
    ['npm run certs -- minikube', 'unknown environment "minikube"'],
    ['npm run synth -- docker-desktop/endpoints', 'unknown strategy "docker-desktop/endpoints"'],
    ['npm run client -- --targets localhost:443', 'invalid argument="--targets"'],
    ['npm run check -- --format xml dist', '--format "xml" is not one of text, json, sarif'],
    ['npm run bench:lb -- --rounds 3', 'bench/lb.ts declares no --rounds'],
    ['npm run synth gke', 'gke goes to npm, not the script'],
    ['npm run lint -- --fix', 'takes no arguments here'],
    ['npm run certs -- <cluster>', 'no example value for <cluster>'],
  ])('refuses %s', async (text, message) => {
    const problems = await checkNpmRun(npmRun(text));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });

  test("reads a script's declared flags: settings, parseArgs options and its usage line", () => {
    const source = [
      "const s = { runs: setting({ flag: 'runs', parser: integer(1) }) };",
      "parseArgs({ options: { json: { type: 'string' }, 'dry-run': { type: 'boolean' } } });",
      "usageExit('usage: npm run bench:x -- [--go] [--seconds N]');",
      "spawn('h2load', ['--log-file', file]);",
    ].join('\n');
    expect([...declaredFlags(source, 'bench:x')].sort()).toEqual(['dry-run', 'go', 'help', 'json', 'runs', 'seconds']);
  });
});

describe('dist/ paths', () => {
  test('are found in prose and code, placeholders standing for any entry', () => {
    expect(distPaths('apply `dist/<env>/istio-ilb/`, then dist/argocd/gke/root/. Not build/dist/x')).toEqual([
      'dist/<env>/istio-ilb/',
      'dist/argocd/gke/root/',
    ]);
    expect(distPathExists('dist/<env>/istio-ilb/')).toBe(true);
    expect(distPathExists('dist/docker-desktop/endpoints/')).toBe(false);
    expect(distPathExists('dist/<env>/no-such-strategy')).toBe(false);
  });
});

describe('checkSteps on a model of a fresh cluster', () => {
  const secret = (namespace: string) =>
    `kubectl create secret tls grpc-example-com-tls -n ${namespace} --cert=certs/grpc.example.com/tls.crt --key=certs/grpc.example.com/tls.key --dry-run=client -o yaml | kubectl apply -f -`;
  const nginx = [
    'kubectl apply -f https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.15.1/deploy/static/provider/cloud/deploy.yaml',
    'kubectl wait --namespace ingress-nginx --for=condition=ready pod --selector=app.kubernetes.io/component=controller',
  ];

  test('passes the steps in an order that works', () => {
    expect(
      checkSteps(
        parseShell(
          [
            ...nginx,
            'kubectl apply -f dist/docker-desktop/nginx-ingress/0000-namespace.k8s.yaml',
            secret('testing'),
            'kubectl apply -f dist/docker-desktop/nginx-ingress/',
          ].join('\n'),
        ),
      ),
    ).toEqual([]);
  });

  test('fails a Secret created before its namespace', () => {
    expect(
      checkSteps(
        parseShell([...nginx, secret('testing'), 'kubectl apply -f dist/docker-desktop/nginx-ingress/'].join('\n')),
      ),
    ).toEqual([`${secret('testing')}: namespace testing is used before a step creates it`]);
  });

  test('fails a Secret in the wrong namespace: the one read is missing, the one made is read by nothing', () => {
    const problems = checkSteps(
      parseShell(
        [
          'istioctl install --set profile=minimal --set components.cni.enabled=true -y',
          'kubectl create namespace testing',
          secret('testing'),
          'kubectl apply -f dist/docker-desktop/istio-ilb/',
        ].join('\n'),
      ),
    );
    expect(problems).toEqual([
      'kubectl apply -f dist/docker-desktop/istio-ilb/: Gateway testing/greeter-gateway reads Secret istio-system/grpc-example-com-tls, which no earlier step creates',
      'kubectl apply -f dist/docker-desktop/istio-ilb/: Deployment istio-system/greeter-client reads Secret istio-system/grpc-example-com-tls, which no earlier step creates',
      `${secret('testing')}: nothing these steps apply reads Secret testing/grpc-example-com-tls (they read istio-system/grpc-example-com-tls)`,
    ]);
  });

  test("fails a directory applied before the control plane that makes its objects' namespace", () => {
    expect(checkSteps(parseShell([secret('istio-system'), 'kubectl apply -f dist/gke/istio-ilb/'].join('\n')))).toEqual(
      expect.arrayContaining([
        `${secret('istio-system')}: namespace istio-system is used before a step creates it`,
        'kubectl apply -f dist/gke/istio-ilb/ (ServiceAccount greeter-gateway): namespace istio-system is used before a step creates it',
      ]),
    );
  });

  test('fails a manifest URL nobody checked at its tag, and a dist/ path that does not exist', () => {
    expect(
      checkSteps(
        parseShell(
          'kubectl apply -f https://raw.githubusercontent.com/kubernetes/ingress-nginx/main/deploy/static/provider/cloud/deploy.yaml\nkubectl apply -f dist/gke/no-such/',
        ),
      ),
    ).toEqual([
      'kubectl apply -f https://raw.githubusercontent.com/kubernetes/ingress-nginx/main/deploy/static/provider/cloud/deploy.yaml: https://raw.githubusercontent.com/kubernetes/ingress-nginx/main/deploy/static/provider/cloud/deploy.yaml is not in UPSTREAM_MANIFESTS: check it at its tag and add it',
      'kubectl apply -f dist/gke/no-such/: dist/gke/no-such/ does not exist',
    ]);
  });

  test('models the installers: the namespaces linkerd renders reach the cluster only through kubectl apply', () => {
    expect(effectsOf(parseShell('linkerd install-cni | kubectl apply -f -')[0]).creates).toEqual(['linkerd-cni']);
    expect(effectsOf(parseShell('linkerd install --crds | kubectl apply -f -')[0]).creates).toEqual([]);
    expect(effectsOf(parseShell('linkerd viz install')[0]).creates).toEqual([]);
    expect(
      effectsOf(parseShell('helm install eg oci://x --version v1.9.0 -n envoy-gateway-system --create-namespace')[0]),
    ).toMatchObject({ creates: ['envoy-gateway-system'], uses: [] });
    expect(effectsOf(parseShell('helm install eg oci://x -n envoy-gateway-system')[0])).toMatchObject({
      creates: [],
      uses: ['envoy-gateway-system'],
    });
  });

  test("follows Argo CD's Applications from the root to the strategy they sync", () => {
    const root = 'kubectl apply -n argocd -k dist/argocd/docker-desktop/root/';
    expect(checkSteps(parseShell(`kubectl create namespace argocd\n${root}`))).toEqual(
      expect.arrayContaining([
        `${root} (ServiceAccount greeter-gateway): namespace istio-system is used before a step creates it`,
        `${root}: Deployment istio-system/greeter-client reads Secret istio-system/grpc-example-com-tls, which no earlier step creates`,
      ]),
    );
    const istio = 'istioctl install --set profile=minimal --set components.cni.enabled=true -y';
    expect(
      checkSteps(parseShell([istio, secret('istio-system'), 'kubectl create namespace argocd', root].join('\n'))),
    ).toEqual([]);
  });

  test("reads where dist/ reads each Secret: Istio's credentialName from the gateway pods' namespace", () => {
    const objects = readManifestDir(path.join(ROOT, 'dist', 'gke', 'istio-ilb')).flatMap((file) => file.objects);
    expect(secretReads(objects)).toEqual([
      { namespace: 'istio-system', name: 'grpc-example-com-tls', by: 'Gateway testing/greeter-gateway' },
      { namespace: 'istio-system', name: 'grpc-example-com-tls', by: 'Deployment istio-system/greeter-client' },
    ]);
  });
});

// ------------------------------------------------------------------------------------------------------------------

describe('README and docs/', () => {
  test.each(PAGES)(
    'every `npm run` in %s names a script with arguments it accepts',
    async (page) => {
      const runs = npmRuns(read(page));
      const problems = (await Promise.all(runs.map((run) => checkNpmRun(run)))).flat();
      expect(problems).toEqual([]);
    },
    30_000,
  );

  test.each(PAGES)('every dist/ path in %s exists', (page) => {
    expect(distPaths(read(page)).filter((distPath) => !distPathExists(distPath))).toEqual([]);
  });

  test("the README's steps, in order, work on a fresh cluster", () => {
    expect(checkSteps(shellBlocks(read('README.md')).flatMap(parseShell))).toEqual([]);
  });

  test.each(PAGES.filter((page) => page !== 'README.md' && page !== STRATEGIES_PAGE))(
    "%s's steps, in order, work on a fresh cluster",
    (page) => {
      expect(checkSteps(shellBlocks(read(page)).flatMap(parseShell))).toEqual([]);
    },
  );

  const strategySections = sections(read(STRATEGIES_PAGE));
  test.each(strategySections.map((section) => [section.heading, section]))(
    'docs/strategies.md "%s": its steps, from a fresh cluster, work',
    (_, section) => {
      expect(checkSteps(shellBlocks(section.text).flatMap(parseShell))).toEqual([]);
    },
  );
});

describe('every strategy in dist/ has an install-to-verify section in docs/strategies.md', () => {
  const dirs = Object.values(ENVIRONMENTS).flatMap((env) =>
    readdirSync(path.join(ROOT, 'dist', env.name)).map((strategy) => ({ env: env.name, strategy })),
  );
  const strategySections = sections(read(STRATEGIES_PAGE));

  test.each(dirs.map(({ env, strategy }) => [`${env}/${strategy}`, env, strategy]))(
    'dist/%s: applied by its section, which ends by verifying with the client summary',
    (_, env, strategy) => {
      const section = strategySections.find((s) => s.heading.includes(`(\`${strategy}\`)`));
      expect({ strategy, section: section?.heading }).toEqual({ strategy, section: expect.any(String) });
      const blocks = shellBlocks(section!.text);
      const applied = blocks.flatMap(parseShell).flatMap((pipeline) => effectsOf(pipeline).applies);
      expect(applied.filter((p) => /^dist\/[^/]+\/([^/]+)\/?$/.exec(p)?.[1] === strategy)).not.toEqual([]);

      const objects = readManifestDir(path.join(ROOT, 'dist', env, strategy)).flatMap((file) => file.objects);
      const client = objects.find(
        (o: KubeObject) =>
          o.kind === 'Deployment' &&
          CLIENT_ENV.summaryEvery in containerEnv(o.spec.template.spec.containers[0] as KubeObject),
      )!;
      const greeter = findObject(objects, 'Deployment', 'greeter');
      const verify = section!.text.slice(section!.text.indexOf('**Verify'));
      const lastBlock = shellBlocks(verify).at(-1) ?? '';
      const lastCommand = parseShell(lastBlock).map(showPipeline).at(-1);
      const expected = clientSummaryCommand(client.metadata.namespace!, client.metadata.name, greeter.spec.replicas);
      expect(lastCommand).toBe(parseShell(expected).map(showPipeline)[0]);
    },
  );

  test('the summary shown under "Verify" is what the client prints', () => {
    const page = read(STRATEGIES_PAGE);
    const example = /^(summary: .*)\n((?: {2}\S.*\n)+)/m.exec(page)!;
    const rows = example[2].split('\n').filter(Boolean);
    const byPod = new Map(rows.map((row) => row.trim().split(/\s+/)).map(([pod, count]) => [pod, Number(count)]));
    const calls = [...byPod.values()].reduce((a, b) => a + b, 0);
    const summary = formatSummary({ calls, failures: 0, byPod, byStatus: new Map() });
    expect([example[1], ...rows].join('\n')).toBe(summary);
  });
});

test("the README's Troubleshooting row names where each strategy reads its TLS Secret", () => {
  const row = read('README.md')
    .split('\n')
    .find((line) => line.startsWith('| gateway returns no certificate'))!;
  // One clause per namespace, separated by ";": "`a` and `b` read it from `ns`; `c` from `ns`".
  const clauses = row.split(';');
  for (const env of Object.values(ENVIRONMENTS)) {
    for (const secret of requiredTlsSecrets(env)) {
      for (const strategy of secret.strategies) {
        const clause = clauses.find((c) => c.includes(`\`${strategy}\``));
        expect({ strategy, clause }).toEqual({ strategy, clause: expect.stringContaining(`\`${secret.namespace}\``) });
      }
    }
  }
});
