/**
 * The validation module catches what an API server would reject: each case takes a valid object from the committed
 * dist/, breaks one thing, and expects exactly the issue the API server reports (kind, path, message or rule, and the
 * Kubernetes version when it is version-specific). Each case also checks its valid twin passes, so a check that
 * rejects everything cannot pass here.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../../../harness/processes';
import { findObject, manifestDirs, readManifestDir, type KubeObject } from '../../../harness/manifests';
import { formatIssue, validateObjects, type ValidationIssue, type ValidationOptions } from '../../../check/validation';

const DIST = path.join(ROOT, 'dist');
const all = manifestDirs(DIST).flatMap((dir) => readManifestDir(dir).flatMap((file) => file.objects));
const STRATEGY_OF_GROUP: Record<string, string> = {
  'networking.istio.io': 'istio-ilb',
  'gateway.networking.k8s.io': 'gateway-api',
};
/** A deep copy of the dist/gke object of that apiVersion and kind, from the strategy that renders it, to break. */
function fromDist(apiVersion: string, kind: string): KubeObject {
  const objects = readManifestDir(path.join(DIST, 'gke', STRATEGY_OF_GROUP[apiVersion.split('/')[0]])).flatMap(
    (file) => file.objects,
  );
  return structuredClone(
    findObject(
      objects.filter((o) => o.apiVersion === apiVersion),
      kind,
    ),
  );
}

/** The oldest definitions held (1.27) and the oldest Kubernetes Istio 1.30 supports: two versions whose APIs differ. */
const OLDEST_AND_ISTIOS = ['1.27.0', '1.32.0'];

function issuesOf(object: object, options?: ValidationOptions): ValidationIssue[] {
  const report = validateObjects([object], options);
  expect(report.unknownKinds).toEqual([]);
  return report.issues;
}

/** The object passes unchanged, and `issues` are exactly what breaking it yields. */
function expectOnly(
  valid: object,
  broken: object,
  issues: Array<Partial<ValidationIssue>>,
  options?: ValidationOptions,
): void {
  expect(issuesOf(valid, options).map(formatIssue)).toEqual([]);
  const found = issuesOf(broken, options);
  expect(found).toEqual(issues.map((issue) => expect.objectContaining({ objectIndex: 0, ...issue })));
  for (const issue of issues)
    if (!('kubernetesVersion' in issue)) expect(found.every((f) => f.kubernetesVersion === undefined)).toBe(true);
}

describe('CEL rules of the CRDs', () => {
  test('an Istio Gateway server TLS with both credentialName and credentialNames (gateway.yaml rule on ServerTLSSettings)', () => {
    const gateway = fromDist('networking.istio.io/v1', 'Gateway');
    const broken = structuredClone(gateway);
    const tls = broken.spec.servers.find((s: KubeObject) => s.tls).tls;
    tls.credentialNames = [tls.credentialName, 'other-cert'];
    const index = broken.spec.servers.findIndex((s: KubeObject) => s.tls);
    expectOnly(gateway, broken, [
      {
        kind: 'cel',
        path: `spec.servers[${index}].tls`,
        message: 'only one of credentialName or credentialNames can be set',
        rule: '(has(self.credentialName) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1',
      },
    ]);
  });

  test("an Istio VirtualService retry with perTryTimeout 0s (duration(self) >= duration('1ms'))", () => {
    const service = fromDist('networking.istio.io/v1', 'VirtualService');
    const broken = structuredClone(service);
    broken.spec.http[0].retries.perTryTimeout = '0s';
    expectOnly(service, broken, [
      {
        kind: 'cel',
        path: 'spec.http[0].retries.perTryTimeout',
        message: 'must be a valid duration greater than 1ms',
        rule: "duration(self) >= duration('1ms')",
      },
    ]);
  });

  test('a DestinationRule connect timeout that is not a duration fails the rule with the evaluation error', () => {
    const rule = fromDist('networking.istio.io/v1', 'DestinationRule');
    const broken = structuredClone(rule);
    broken.spec.trafficPolicy.connectionPool.tcp.connectTimeout = 'soon';
    const [issue, ...rest] = issuesOf(broken);
    expect(rest).toEqual([]);
    expect(issue).toMatchObject({
      kind: 'cel',
      path: 'spec.trafficPolicy.connectionPool.tcp.connectTimeout',
      rule: "duration(self) >= duration('1ms')",
    });
    expect(issue.message).toMatch(/duration/i);
  });

  test('a GRPCRoute method match with neither service nor method fails once the type defaults to Exact', () => {
    const route = fromDist('gateway.networking.k8s.io/v1', 'GRPCRoute');
    const valid = structuredClone(route);
    valid.spec.rules[0].matches = [{ method: { service: 'helloworld.Greeter' } }];
    const broken = structuredClone(route);
    broken.spec.rules[0].matches = [{ method: {} }];
    expectOnly(valid, broken, [
      {
        kind: 'cel',
        path: 'spec.rules[0].matches[0].method',
        message: "One or both of 'service' or 'method' must be specified",
        rule: 'has(self.type) ? has(self.service) || has(self.method) : true',
      },
    ]);
  });

  test('a GRPCRoute method service that is not a proto package name (a pattern in CEL, checked case-insensitively)', () => {
    const route = fromDist('gateway.networking.k8s.io/v1', 'GRPCRoute');
    const valid = structuredClone(route);
    valid.spec.rules[0].matches = [{ method: { service: 'HelloWorld.Greeter', method: 'SayHello' } }];
    const broken = structuredClone(route);
    broken.spec.rules[0].matches = [{ method: { service: 'hello world', method: 'SayHello' } }];
    expectOnly(valid, broken, [
      {
        kind: 'cel',
        path: 'spec.rules[0].matches[0].method',
        message:
          'service must only contain valid characters (matching ^(?i)\\.?[a-z_][a-z_0-9]*(\\.[a-z_][a-z_0-9]*)*$)',
      },
    ]);
  });

  test('a Gateway API Gateway with two listeners of one name: the list-map key and the CEL rule both catch it', () => {
    const gateway = fromDist('gateway.networking.k8s.io/v1', 'Gateway');
    const broken = structuredClone(gateway);
    const [listener] = broken.spec.listeners;
    broken.spec.listeners.push({ ...listener, port: listener.port + 1 });
    expectOnly(gateway, broken, [
      { kind: 'schema', path: 'spec.listeners[1]', message: `Duplicate value: {"name":"${listener.name}"}` },
      {
        kind: 'cel',
        path: 'spec.listeners',
        message: 'Listener name must be unique within the Gateway',
        rule: 'self.all(l1, self.exists_one(l2, l1.name == l2.name))',
      },
    ]);
  });
});

describe('structural schemas of the CRDs', () => {
  test('an unknown field in a custom object is an error (pruning with fieldValidation=Strict)', () => {
    const rule = fromDist('networking.istio.io/v1', 'DestinationRule');
    const broken = structuredClone(rule);
    broken.spec.trafficPolicy.loadBalancer.roundRobin = true;
    expectOnly(rule, broken, [
      {
        kind: 'schema',
        path: 'spec.trafficPolicy.loadBalancer.roundRobin',
        message: 'unknown field "spec.trafficPolicy.loadBalancer.roundRobin"',
      },
    ]);
  });

  test('a wrong type and a value outside the enum in custom objects', () => {
    const rule = fromDist('networking.istio.io/v1', 'DestinationRule');
    const broken = structuredClone(rule);
    broken.spec.trafficPolicy.connectionPool.http.http2MaxRequests = 'many';
    broken.spec.trafficPolicy.loadBalancer.simple = 'FASTEST';
    const issues = issuesOf(broken);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'schema',
          path: 'spec.trafficPolicy.connectionPool.http.http2MaxRequests',
          message: 'Invalid value: "many": must be of type integer, got string',
        }),
        expect.objectContaining({
          kind: 'schema',
          path: 'spec.trafficPolicy.loadBalancer.simple',
          message: expect.stringMatching(/^Unsupported value: "FASTEST": supported values: .*"ROUND_ROBIN"/),
        }),
      ]),
    );
  });

  test('a Gateway API listener hostname against its pattern, and a missing required field', () => {
    const gateway = fromDist('gateway.networking.k8s.io/v1', 'Gateway');
    const broken = structuredClone(gateway);
    broken.spec.listeners[0].hostname = 'Not_A_Host';
    delete broken.spec.gatewayClassName;
    const issues = issuesOf(broken).filter((i) => i.kind === 'schema');
    expect(issues).toEqual([
      expect.objectContaining({ path: 'spec.gatewayClassName', message: 'Required value' }),
      expect.objectContaining({
        path: 'spec.listeners[0].hostname',
        message: expect.stringMatching(/^Invalid value: "Not_A_Host": should match '/),
      }),
    ]);
  });

  test('an apiVersion the CRD does not serve', () => {
    const route = fromDist('gateway.networking.k8s.io/v1', 'GRPCRoute');
    expect(issuesOf({ ...route, apiVersion: 'gateway.networking.k8s.io/v9' })).toEqual([
      expect.objectContaining({
        kind: 'schema',
        path: 'apiVersion',
        message: expect.stringContaining('grpcroutes.gateway.networking.k8s.io does not serve version "v9"'),
      }),
    ]);
  });
});

describe('core objects, strictly, per Kubernetes version', () => {
  const deployment = () => structuredClone(all.find((o) => o.kind === 'Deployment')!);

  test('an unknown field in a Deployment is an error for every version', () => {
    const valid = deployment();
    const broken = deployment();
    broken.spec.template.spec.containers[0].imagePullPolcy = 'Always';
    expectOnly(valid, broken, [
      {
        kind: 'schema',
        path: 'spec.template.spec.containers[0].imagePullPolcy',
        message: 'unknown field "spec.template.spec.containers[0].imagePullPolcy"',
      },
    ]);
  });

  test('wrong types: replicas as a string, a port out of int32, a malformed quantity', () => {
    const broken = deployment();
    broken.spec.replicas = '3';
    broken.spec.template.spec.containers[0].ports = [{ containerPort: 2 ** 31 }];
    broken.spec.template.spec.containers[0].resources = { limits: { memory: '64 MB' } };
    expect(issuesOf(broken).map(({ path, message }) => ({ path, message }))).toEqual([
      { path: 'spec.replicas', message: 'Invalid value: "3": must be of type integer, got string' },
      {
        path: 'spec.template.spec.containers[0].ports[0].containerPort',
        message: 'Invalid value: 2147483648: out of range for int32',
      },
      {
        path: 'spec.template.spec.containers[0].resources.limits[memory]',
        message: expect.stringMatching(/^Invalid value: "64 MB": quantities must match/),
      },
    ]);
  });

  test('a required field missing, and a label value Kubernetes rejects', () => {
    const broken = deployment();
    delete broken.spec.template.spec.containers[0].name;
    broken.metadata.labels = { ...broken.metadata.labels, 'app.kubernetes.io/part-of': 'not valid!' };
    expect(issuesOf(broken).map(({ path, message }) => ({ path, message }))).toEqual([
      { path: 'spec.template.spec.containers[0].name', message: 'Required value' },
      {
        path: 'metadata.labels[app.kubernetes.io/part-of]',
        message: expect.stringMatching(/^Invalid value: "not valid!": a valid label must be/),
      },
    ]);
  });

  test('Service spec.trafficDistribution is valid on 1.32 and an unknown field on 1.27', () => {
    const service = structuredClone(all.find((o) => o.kind === 'Service')!);
    service.spec.trafficDistribution = 'PreferClose';
    expect(issuesOf(service, { kubernetesVersions: ['1.32.0'] })).toEqual([]);
    expect(issuesOf(service, { kubernetesVersions: OLDEST_AND_ISTIOS })).toEqual([
      {
        objectIndex: 0,
        kind: 'schema',
        path: 'spec.trafficDistribution',
        message: 'unknown field "spec.trafficDistribution"',
        kubernetesVersion: '1.27.0',
      },
    ]);
  });

  test('a kind served by 1.27 but no longer by 1.32 (flowcontrol v1beta2, removed in 1.29)', () => {
    const schema = {
      apiVersion: 'flowcontrol.apiserver.k8s.io/v1beta2',
      kind: 'FlowSchema',
      metadata: { name: 'x' },
      spec: { priorityLevelConfiguration: { name: 'global-default' } },
    };
    expect(issuesOf(schema, { kubernetesVersions: OLDEST_AND_ISTIOS })).toEqual([
      {
        objectIndex: 0,
        kind: 'schema',
        path: 'apiVersion',
        message:
          'Invalid value: "flowcontrol.apiserver.k8s.io/v1beta2": flowcontrol.apiserver.k8s.io FlowSchema is not served by Kubernetes 1.32.0',
        kubernetesVersion: '1.32.0',
      },
    ]);
  });

  test('kinds with no schema here are listed, not passed or failed', () => {
    // cert-manager's CRDs are not in upstream/ (harness/validate-manifests.mjs checks its kinds).
    const certificate = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'c', namespace: 'testing' },
    };
    const report = validateObjects([
      certificate,
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
    ]);
    expect(report.unknownKinds).toEqual([
      { objectIndex: 0, apiVersion: 'cert-manager.io/v1', kind: 'Certificate' },
      { objectIndex: 1, apiVersion: 'example.com/v1', kind: 'Widget' },
    ]);
    expect(report.issues).toEqual([]);
  });
});

describe('rules that cannot be evaluated are reported with the reason', () => {
  // A CRD of our own, in a data directory of our own (dataDir), with the Kubernetes definitions copied beside it.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'validation-data-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  cpSync(path.join(ROOT, 'upstream', 'schemas'), path.join(dataDir, 'schemas'), { recursive: true });
  cpSync(path.join(ROOT, 'upstream', 'sources.json'), path.join(dataDir, 'sources.json'));
  const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names:
    kind: Widget
    plural: widgets
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - rule: self.replicas >= oldSelf.replicas
              message: replicas may not shrink
            - rule: ip(self.address).family() == 4
              message: address must be IPv4
            - rule: self.tags.all(i, t, t != '')
            - rule: self.replicas <= 10
              messageExpression: "'replicas ' + string(self.replicas) + ' is more than 10'"
              fieldPath: .replicas
            properties:
              replicas:
                type: integer
                default: 1
              address:
                type: string
              tags:
                type: array
                items:
                  type: string
`;
  mkdirSync(path.join(dataDir, 'crds'));
  writeFileSync(path.join(dataDir, 'crds', 'widgets.yaml'), crd);
  const widget = (address: string, replicas?: number) => ({
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name: 'w', namespace: 'default' },
    spec: { address, tags: ['a'], replicas },
  });

  test('transition rules, libraries newer than the version checked, and functions @bufbuild/cel lacks', () => {
    const report = validateObjects([widget('10.0.0.1')], { dataDir, kubernetesVersions: OLDEST_AND_ISTIOS });
    expect(report.issues).toEqual([]);
    // ip() on 1.32 only, replicas (defaulted to 1) on both: 3 evaluations.
    expect(report.celRulesEvaluated).toBe(3);
    expect(report.celRulesSkipped).toEqual(
      expect.arrayContaining([
        {
          crd: 'widgets.example.com',
          path: 'spec',
          rule: 'self.replicas >= oldSelf.replicas',
          reason: 'transition rule (oldSelf): evaluated only on update',
        },
        {
          crd: 'widgets.example.com',
          path: 'spec',
          rule: 'ip(self.address).family() == 4',
          reason:
            "calls ip, family from the IP and CIDR library, added to the API server's CEL environment in Kubernetes 1.30",
        },
        {
          crd: 'widgets.example.com',
          path: 'spec',
          rule: "self.tags.all(i, t, t != '')",
          reason: expect.stringMatching(/^cannot be evaluated here: /),
        },
      ]),
    );
  });

  test('messageExpression and fieldPath shape the issue', () => {
    expect(validateObjects([widget('10.0.0.1', 11)], { dataDir }).issues).toEqual([
      {
        objectIndex: 0,
        kind: 'cel',
        path: 'spec.replicas',
        message: 'replicas 11 is more than 10',
        rule: 'self.replicas <= 10',
      },
    ]);
  });

  test('a rule of a library newer than 1.27 still catches the violation on 1.32, marked with that version', () => {
    const report = validateObjects([widget('fd00::1')], { dataDir, kubernetesVersions: OLDEST_AND_ISTIOS });
    expect(report.issues).toEqual([
      {
        objectIndex: 0,
        kind: 'cel',
        path: 'spec',
        message: 'address must be IPv4',
        rule: 'ip(self.address).family() == 4',
        kubernetesVersion: '1.32.0',
      },
    ]);
  });
});
