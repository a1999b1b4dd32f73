/**
 * `npm run endpoints`: the descriptor set protoc builds must define the API the service configuration names, and the
 * configuration must name the service the rendered ESPv2 sidecar serves. Needs protoc (Debian's protobuf-compiler).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'cdk8s';
import * as descriptor from 'protobufjs/ext/descriptor';
import { parse } from 'yaml';
import { ENVIRONMENTS } from '../../deploy';
import { endpoints } from '../../deploy/strategies/endpoints';
import { deployCommand, endpointsProject } from '../../scripts/endpoints';
import { findObject, readManifestDir, type KubeObject } from '../../harness/manifests';
import { startProcess } from '../../harness/processes';
import { describeWhenInstalled } from '../../harness/system-packages';

function protocMissing(): string | undefined {
  try {
    execFileSync('protoc', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'protoc is not installed';
  }
}

const runEndpoints = (...args: string[]) =>
  startProcess(process.execPath, ['-r', './scripts/register.js', 'scripts/endpoints.ts', ...args]);

/** The `--service` of the ESPv2 container that dist/<env>/endpoints/ renders. */
function renderedEspService(envName: keyof typeof ENVIRONMENTS, dir: string): string {
  const app = new App({ outdir: path.join(dir, 'dist') });
  endpoints.render(app, ENVIRONMENTS[envName]);
  app.synth();
  const objects = readManifestDir(app.outdir).flatMap((f) => f.objects);
  const esp = findObject(objects, 'Deployment', 'greeter').spec.template.spec.containers.find(
    (c: KubeObject) => c.name === 'esp',
  );
  return esp.args.find((arg: string) => arg.startsWith('--service=')).slice('--service='.length);
}

test('the gcloud command names the project of an Endpoints service name, and none for a custom domain', () => {
  expect(endpointsProject('greeter.endpoints.my-project.cloud.goog')).toBe('my-project');
  expect(endpointsProject('api.example.com')).toBeUndefined();
  const files = { descriptorFile: 'd.pb', configFile: 'c.yaml' };
  expect(deployCommand({ ...files, serviceName: 'greeter.endpoints.my-project.cloud.goog' })).toBe(
    'gcloud endpoints services deploy d.pb c.yaml --project my-project',
  );
  expect(deployCommand({ ...files, serviceName: 'api.example.com' })).toBe(
    'gcloud endpoints services deploy d.pb c.yaml',
  );
});

describeWhenInstalled(
  'Cloud Endpoints descriptor',
  protocMissing(),
  'apt-get install -y protobuf-compiler',
)('npm run endpoints', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'endpoints-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("writes the descriptor set and api_config.yaml for gke, naming the sidecar's service, and prints the deploy command", async () => {
    const out = path.join(dir, 'gke');
    const proc = runEndpoints('gke', '--out', out);
    expect(await proc.exited).toBe(0);
    const descriptorFile = path.join(out, 'api_descriptor.pb');
    const configFile = path.join(out, 'api_config.yaml');
    expect(proc.stdout.at(-1)).toBe(
      `  gcloud endpoints services deploy ${descriptorFile} ${configFile} --project my-project`,
    );

    const set = descriptor.FileDescriptorSet.toObject(
      descriptor.FileDescriptorSet.decode(readFileSync(descriptorFile)),
    ) as descriptor.IFileDescriptorSet;
    const definedServices = new Map(
      set.file.flatMap((file) =>
        (file.service ?? []).map((service) => [`${file.package}.${service.name}`, service] as const),
      ),
    );
    const greeter = definedServices.get('helloworld.Greeter');
    expect(greeter?.method).toEqual([
      expect.objectContaining({
        name: 'SayHello',
        inputType: '.helloworld.HelloRequest',
        outputType: '.helloworld.HelloReply',
      }),
    ]);
    // --include_source_info: the comments of the proto travel with it (the Endpoints portal shows them).
    expect(set.file.find((file) => file.name === 'helloworld.proto')?.sourceCodeInfo).toBeDefined();

    const config = parse(readFileSync(configFile, 'utf8'));
    expect(config).toMatchObject({
      type: 'google.api.Service',
      config_version: 3,
      name: ENVIRONMENTS.gke.endpoints.serviceName,
    });
    expect(config.name).toBe(renderedEspService('gke', dir));
    expect(config.apis.length).toBeGreaterThan(0);
    for (const api of config.apis) expect(definedServices.has(api.name)).toBe(true);
  });

  test('an environment without Cloud Endpoints exits 1 with one line and writes nothing', async () => {
    const out = path.join(dir, 'docker-desktop');
    const proc = runEndpoints('docker-desktop', '--out', out);
    expect(await proc.exited).toBe(1);
    expect(proc.stderr).toEqual([
      `endpoints: EnvironmentConfig 'docker-desktop': endpoints must be { serviceName } for the 'endpoints' strategy: ESPv2 needs a Cloud Endpoints service on Google Cloud, got undefined`,
    ]);
    expect(existsSync(out)).toBe(false);
  });

  test('without an environment it prints the usage and exits 2', async () => {
    const proc = runEndpoints();
    expect(await proc.exited).toBe(2);
    expect(proc.stderr).toEqual(['usage: npm run endpoints -- <environment> [--out <dir>]']);
  });
});
