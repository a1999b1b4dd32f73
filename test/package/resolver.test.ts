/**
 * grpc-js-kubernetes-resolver as a grpc-js user gets it: `npm pack -w resolver` (whose prepack builds it) installed
 * offline into an empty project with only @grpc/grpc-js beside it (harness/packages.ts), and a client written in plain
 * JavaScript as its README says, run with KUBECONFIG pointing at a fake API server (harness/fake-kube-api.ts) whose
 * EndpointSlice lists two greeter pods on their own loopback addresses (harness/pods.ts LoopbackPods). Also compiled
 * from TypeScript against the shipped declarations, as a TypeScript user's editor and tsc read them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FakeKubeApi, writeKubeconfig } from '../../harness/fake-kube-api';
import {
  installConsumer,
  packWorkspace,
  requiredPackages,
  runCommand as run,
  type PackageJson,
  type PackedPackage,
  writeConsumerTsconfig,
} from '../../harness/packages';
import { LoopbackPods } from '../../harness/pods';
import { ROOT, startProcess, type RunningProcess } from '../../harness/processes';
import { HANG_MS } from '../../harness/wait';

const GRPC_JS = '@grpc/grpc-js';
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const TARGET = 'kubernetes:///greeter.testing:grpc';

/**
 * The user's client, as the package's README shows it: register the scheme, make a channel with round_robin, call.
 * No proto compiler either: helloworld.HelloRequest is one string field (tag 1, length-delimited), encoded by hand.
 * It prints the pod of each reply (the greeter's `hostname` header), one JSON array, and exits by itself.
 */
const CLIENT_JS = `'use strict';
const grpc = require('@grpc/grpc-js');
const { registerKubernetesResolver } = require('grpc-js-kubernetes-resolver');

registerKubernetesResolver();
const [target, count] = process.argv.slice(2);
const client = new grpc.Client(target, grpc.credentials.createInsecure(), {
  'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
});

const name = Buffer.from('consumer');
const request = Buffer.concat([Buffer.from([0x0a, name.length]), name]);
function sayHello() {
  return new Promise((resolve, reject) => {
    let pod;
    const call = client.makeUnaryRequest(
      '/helloworld.Greeter/SayHello', (message) => message, (bytes) => bytes, request,
      new grpc.Metadata(), { deadline: Date.now() + ${HANG_MS} },
      (error) => (error ? reject(error) : resolve(pod)),
    );
    call.on('metadata', (metadata) => (pod = String(metadata.get('hostname')[0])));
  });
}

(async () => {
  const pods = [];
  for (let i = 0; i < Number(count); i++) pods.push(await sayHello());
  console.log(JSON.stringify(pods));
  client.close();
})();
`;

/** The same calls from TypeScript, type-checked against the package's declarations (not run). */
const CLIENT_TS = `import * as grpc from '@grpc/grpc-js';
import { KubernetesTargetError, TARGET_FORM, parseKubernetesTarget, registerKubernetesResolver } from 'grpc-js-kubernetes-resolver';

registerKubernetesResolver();
const target: { service: string; namespace: string; port: string | number } = parseKubernetesTarget('${TARGET}');
export const client = new grpc.Client(\`kubernetes:///\${target.service}.\${target.namespace}:\${target.port}\`, grpc.credentials.createInsecure());
export function explain(error: unknown): string {
  return error instanceof KubernetesTargetError ? \`\${error.target}: \${error.reason} (\${TARGET_FORM})\` : String(error);
}
`;

const work = mkdtempSync(path.join(tmpdir(), 'resolver-package-'));
const consumerDir = path.join(work, 'consumer');
const installedDir = path.join(consumerDir, 'node_modules', 'grpc-js-kubernetes-resolver');
let pack: PackedPackage;
let packed: PackageJson;
let installed: { packages: string[]; bytes: number };
let grpcJsAlone: { packages: string[]; bytes: number };

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

beforeAll(async () => {
  pack = await packWorkspace('resolver');
  installed = await installConsumer(consumerDir, { local: [pack], registry: [GRPC_JS] });
  // What a project with grpc-js alone holds, so what the package adds is the difference.
  grpcJsAlone = await installConsumer(path.join(work, 'grpc-js-alone'), { local: [], registry: [GRPC_JS] });
  packed = JSON.parse(readFileSync(path.join(installedDir, 'package.json'), 'utf8')) as PackageJson;
  writeFileSync(path.join(consumerDir, 'client.js'), CLIENT_JS);
  const added = installed.packages.filter((name) => !grpcJsAlone.packages.includes(name));
  process.stdout.write(
    `resolver package: ${path.basename(pack.tarball)} ${(pack.size / 1024).toFixed(1)} KiB packed, ` +
      `${(pack.unpackedSize / 1024).toFixed(1)} KiB unpacked, ${pack.files.length} files; ` +
      `installed beside ${GRPC_JS}: ${installed.packages.length} packages, ${mib(installed.bytes)} MiB, of which ` +
      `${GRPC_JS} alone is ${grpcJsAlone.packages.length} packages, ${mib(grpcJsAlone.bytes)} MiB: the package adds ` +
      `${added.length} packages (itself and @kubernetes/client-node's tree), ${mib(installed.bytes - grpcJsAlone.bytes)} MiB\n`,
  );
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `node client.js TARGET COUNT` in the consumer, as its user runs it, to the end. */
async function runClient(target: string, count: number, env: Record<string, string>): Promise<RunningProcess> {
  const client = startProcess(process.execPath, ['client.js', target, String(count)], { cwd: consumerDir, env });
  await client.exited;
  return client;
}

describe('the packed resolver', () => {
  test('holds the built module, its declarations, README, licence and package.json, and nothing else', () => {
    expect(pack.files.map((file) => file.path).sort()).toEqual([
      'LICENSE',
      'README.md',
      'build/index.d.ts',
      'build/index.js',
      'package.json',
    ]);
  });

  test('requires @grpc/grpc-js as a peer (the minor it is tested with) and @kubernetes/client-node as its one dependency', () => {
    const required = new Set(requiredPackages(readFileSync(path.join(installedDir, 'build', 'index.js'), 'utf8')));
    const builtins = new Set(builtinModules);
    expect([...required].filter((name) => !builtins.has(name.replace(/^node:/, ''))).sort()).toEqual([
      GRPC_JS,
      '@kubernetes/client-node',
    ]);
    expect(Object.keys(packed.dependencies ?? {})).toEqual(['@kubernetes/client-node']);
    // The resolver implements grpc.experimental's Resolver, whose listener changed shape in 1.14.0 (a function of a
    // StatusOr instead of onSuccessfulResolution/onError: @grpc/grpc-js@1.14.0 src/resolver.ts ResolverListener).
    const tested = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', GRPC_JS, 'package.json'), 'utf8')).version;
    expect(packed.peerDependencies).toEqual({ [GRPC_JS]: `~${tested}` });
  });

  test('exports only its entry point, with declarations a strict TypeScript project compiles against', async () => {
    expect(Object.keys(packed.exports ?? {}).sort()).toEqual(['.', './package.json']);
    writeFileSync(path.join(consumerDir, 'client.ts'), CLIENT_TS);
    // Node's own types come from this repository: the consumer installs no @types/node, which grpc-js's need.
    writeConsumerTsconfig(consumerDir, ['client.ts'], {
      noEmit: true,
      typeRoots: [path.join(ROOT, 'node_modules', '@types')],
      types: ['node'],
    });
    await run(process.execPath, [TSC, '-p', '.'], consumerDir);
  });
});

describe('a plain JavaScript client of the installed package', () => {
  let pods: LoopbackPods;
  let api: FakeKubeApi;
  let kubeconfig: string;

  beforeAll(async () => {
    [pods, api] = await Promise.all([LoopbackPods.start(2), FakeKubeApi.start()]);
    kubeconfig = writeKubeconfig(work, api.port);
    api.apply({
      metadata: { name: 'greeter-abcde', namespace: 'testing', labels: { 'kubernetes.io/service-name': 'greeter' } },
      addressType: 'IPv4',
      endpoints: pods.pods.map((pod) => ({
        addresses: [pod.host],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: { kind: 'Pod', name: pod.name, namespace: 'testing' },
      })),
      ports: [{ name: 'grpc', port: pods.port, protocol: 'TCP' }],
    });
  });

  afterAll(async () => {
    await api?.close();
    await pods?.stop();
  });

  test('balances its calls over the two pods the API server lists', async () => {
    const client = await runClient(TARGET, 60, { KUBECONFIG: kubeconfig });
    expect({ exit: await client.exited, stderr: client.stderr }).toEqual({ exit: 0, stderr: [] });
    const replies = JSON.parse(client.stdout[0]) as string[];
    expect(replies).toHaveLength(60);
    const names = pods.pods.map((pod) => pod.name);
    expect([...new Set(replies)].sort()).toEqual([...names].sort());
    // Once both connections are up, round_robin alternates: the last 20 replies are 10 and 10.
    const last = replies.slice(-20);
    expect(names.map((pod) => last.filter((reply) => reply === pod).length)).toEqual([10, 10]);
    expect(api.requests.map((request) => request.path)).toContain(
      '/apis/discovery.k8s.io/v1/namespaces/testing/endpointslices',
    );
  });

  test('a bad target throws from the channel constructor, naming the target and the form', async () => {
    const client = await runClient('kubernetes:///greeter.testing', 1, { KUBECONFIG: kubeconfig });
    expect(await client.exited).toBe(1);
    expect(client.stderr.join('\n')).toContain(
      'KubernetesTargetError: invalid kubernetes target "kubernetes:///greeter.testing": the port is missing; ' +
        'expected kubernetes:///<service>[.<namespace>[.svc[.<cluster domain>]]]:<port name or number>',
    );
  });
});
