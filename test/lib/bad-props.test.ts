/**
 * Bad input to the constructs and the environment config, table-driven: every validated prop, each case asserting
 * that the message names the construct (or environment), the prop and the value. Synthesis stops before anything
 * is written (tests in constructs.test.ts and strategies.test.ts check that part).
 */
import { Duration, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import * as lib from '../../lib';
import * as k8s from '../../lib/imports/k8s';
import {
  AmbientAccessPolicy,
  AppNamespace,
  CloudEndpointsProxy,
  EndpointSliceReader,
  EnvoyGatewayClass,
  EnvoyGatewayGrpcPolicy,
  GkeGateway,
  GkeGrpcBackendPolicy,
  GrpcApp,
  GrpcBackend,
  GrpcGateway,
  GrpcHttpRoute,
  GrpcRoute,
  GrpcVirtualService,
  HeadlessGrpcService,
  type HeadlessGrpcServiceProps,
  IstioIlbGateway,
  IstioWaypoint,
  LinkerdGrpcPolicy,
  MeshAccessPolicy,
  MeshGrpcRoute,
  NginxGrpcIngress,
  PropValidator,
  SelfSignedCertificate,
  existingNamespace,
  type EnvoyGatewayGrpcPolicyProps,
  type GrpcAppProps,
  type GrpcServiceReference,
  type GrpcVirtualServiceProps,
  type INamespace,
  type IstioIlbGatewayProps,
  type LinkerdGrpcPolicyProps,
  type NginxGrpcIngressProps,
} from '../../lib';
import { GreeterApp, type GreeterAppProps } from '../../deploy/greeter-app';
import { GreeterClient, type GreeterClientProps } from '../../deploy/greeter-client';
import { ENVIRONMENTS, environmentStrategies, type EnvironmentConfig } from '../../deploy';
import { ArgoCdApplication, type ArgoCdApplicationProps } from '../../deploy/argo-cd-application';
import { fixture, image } from '../../harness/fixtures';

// Each bad prop fails synthesis with a message that names the construct, the prop and the value.
type BadCase = [label: string, build: () => void, subject: string, value: unknown];
const withApp = (props: Partial<GreeterAppProps>) => () => {
  const { chart, namespace } = fixture();
  new GreeterApp(chart, 'bad', { namespace, image, name: 'bad', ...props });
};
const withGrpcApp = (props: Partial<GrpcAppProps>) => () => {
  const chart = Testing.chart();
  new GrpcApp(chart, 'bad', {
    namespace: existingNamespace('payments'),
    name: 'payments',
    image: { repository: 'payments', tag: '2.0.0' },
    port: 9090,
    ...props,
  });
};
const payments = existingNamespace('payments');
const withService = (ref: Partial<GrpcServiceReference>) => () => {
  GrpcBackend.fromService({ name: 'payments', namespace: payments, port: 9090, ...ref });
};
const withGateway = (props: Partial<IstioIlbGatewayProps>) => () => {
  const { chart, namespace } = fixture();
  new IstioIlbGateway(chart, 'bad', {
    namespace,
    host: 'grpc.example.com',
    tlsSecretName: 'tls',
    name: 'bad',
    ...props,
  });
};
const withRoutes = (props: Partial<GrpcVirtualServiceProps>) => () => {
  const { chart, app, gateway } = fixture();
  new GrpcVirtualService(chart, 'bad', { backend: app, gateway, ...props });
};
/** A HeadlessGrpcService named `bad` with these props, in front of a greeter whose connections age out after 10 s. */
const withHeadless = (props: Omit<HeadlessGrpcServiceProps, 'backend'>) => () => {
  const chart = Testing.chart();
  const app = new GreeterApp(chart, 'greeter', {
    namespace: existingNamespace('testing'),
    image,
    maxConnectionAge: Duration.seconds(10),
  });
  new HeadlessGrpcService(chart, 'bad', { backend: app, ...props });
};
const withClient = (props: Partial<GreeterClientProps>) => () => {
  const { chart, gateway } = fixture();
  new GreeterClient(chart, 'bad', { endpoint: gateway, image, ...props });
};
/** What a JavaScript caller or a config file may pass where a Duration is typed. */
const notADuration = 5000 as unknown as Duration;
const badCases: BadCase[] = [
  ['replicas 0', withApp({ replicas: 0 }), `GreeterApp 'test/bad': replicas must be an integer >= 1`, 0],
  ['replicas 1.5', withApp({ replicas: 1.5 }), `GreeterApp 'test/bad': replicas must be an integer >= 1`, 1.5],
  ['port 70000', withApp({ port: 70000 }), `GreeterApp 'test/bad': port must be an integer from 1 to 65535`, 70000],
  ['port 0', withApp({ port: 0 }), `GreeterApp 'test/bad': port must be an integer from 1 to 65535`, 0],
  [
    'name Greeter_App',
    withApp({ name: 'Greeter_App' }),
    `GreeterApp 'test/bad': name must be a DNS-1123 label`,
    'Greeter_App',
  ],
  ['version v1/2', withApp({ version: 'v1/2' }), `GreeterApp 'test/bad': version must be a label value`, 'v1/2'],
  [
    'image repository with upper case',
    withApp({ image: { repository: 'gcr.io/PROJECT_ID/greeter', tag: '1' } }),
    `GreeterApp 'test/bad': image.repository must be an image repository`,
    'gcr.io/PROJECT_ID/greeter',
  ],
  [
    'image tag with a colon',
    withApp({ image: { repository: 'greeter', tag: '1:2' } }),
    `GreeterApp 'test/bad': image.tag must be an image tag`,
    '1:2',
  ],
  [
    'image pull policy',
    withApp({ image: { ...image, pullPolicy: 'Sometimes' as 'Never' } }),
    `GreeterApp 'test/bad': image.pullPolicy must be one of "Always", "IfNotPresent", "Never"`,
    'Sometimes',
  ],
  [
    'cpu "lots"',
    withApp({ resources: { requests: { cpu: 'lots', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } } }),
    `GreeterApp 'test/bad': resources.requests.cpu must be a Kubernetes quantity`,
    'lots',
  ],
  [
    'memory "1GB"',
    withApp({ resources: { requests: { cpu: '1', memory: '64Mi' }, limits: { cpu: '1', memory: '1GB' } } }),
    `GreeterApp 'test/bad': resources.limits.memory must be a Kubernetes quantity`,
    '1GB',
  ],
  [
    'terminationMargin 500 ms',
    withApp({ terminationMargin: Duration.millis(500) }),
    `GreeterApp 'test/bad': terminationMargin must be a Duration of at least 1000 ms`,
    '500 ms',
  ],
  [
    'maxConnectionAge 10 ms',
    withApp({ maxConnectionAge: Duration.millis(10) }),
    `GreeterApp 'test/bad': maxConnectionAge must be a Duration of at least 1000 ms`,
    '10 ms',
  ],
  [
    'shutdownGrace not a Duration',
    withApp({ shutdownGrace: notADuration }),
    `GreeterApp 'test/bad': shutdownGrace must be a Duration of at least 0 ms`,
    5000,
  ],
  // GrpcApp, the workload of any image: every prop it validates.
  [
    'GrpcApp name',
    withGrpcApp({ name: 'Payments_API' }),
    `GrpcApp 'test/bad': name must be a DNS-1123 label`,
    'Payments_API',
  ],
  ['GrpcApp port 0', withGrpcApp({ port: 0 }), `GrpcApp 'test/bad': port must be an integer from 1 to 65535`, 0],
  [
    'GrpcApp port 65536',
    withGrpcApp({ port: 65536 }),
    `GrpcApp 'test/bad': port must be an integer from 1 to 65535`,
    65536,
  ],
  ['GrpcApp replicas 0', withGrpcApp({ replicas: 0 }), `GrpcApp 'test/bad': replicas must be an integer >= 1`, 0],
  [
    'GrpcApp image repository',
    withGrpcApp({ image: { repository: 'Payments', tag: '2.0.0' } }),
    `GrpcApp 'test/bad': image.repository must be an image repository`,
    'Payments',
  ],
  [
    'GrpcApp image tag',
    withGrpcApp({ image: { repository: 'payments', tag: '' } }),
    `GrpcApp 'test/bad': image.tag must be an image tag`,
    '',
  ],
  [
    'GrpcApp image pull policy',
    withGrpcApp({ image: { repository: 'payments', tag: '2.0.0', pullPolicy: 'Often' as 'Always' } }),
    `GrpcApp 'test/bad': image.pullPolicy must be one of "Always", "IfNotPresent", "Never"`,
    'Often',
  ],
  [
    'GrpcApp resources',
    withGrpcApp({ resources: { requests: { cpu: '1', memory: 'lots' }, limits: { cpu: '1', memory: '1Gi' } } }),
    `GrpcApp 'test/bad': resources.requests.memory must be a Kubernetes quantity`,
    'lots',
  ],
  [
    'GrpcApp runAsUser 0 (root)',
    withGrpcApp({ runAsUser: 0 }),
    `GrpcApp 'test/bad': runAsUser must be an integer >= 1`,
    0,
  ],
  [
    'GrpcApp runAsUser 1.5',
    withGrpcApp({ runAsUser: 1.5 }),
    `GrpcApp 'test/bad': runAsUser must be an integer >= 1`,
    1.5,
  ],
  [
    'GrpcApp containerName',
    withGrpcApp({ containerName: 'Server' }),
    `GrpcApp 'test/bad': containerName must be a DNS-1123 label`,
    'Server',
  ],
  [
    'GrpcApp drainTime not a Duration',
    withGrpcApp({ drainTime: notADuration }),
    `GrpcApp 'test/bad': drainTime must be a Duration of at least 0 ms`,
    5000,
  ],
  [
    'GrpcApp drainDelay not whole seconds',
    withGrpcApp({ drainDelay: Duration.millis(1500) }),
    `GrpcApp 'test/bad': drainDelay must be whole seconds (a preStop sleep counts seconds)`,
    '1500 ms',
  ],
  [
    'GrpcApp drainDelay not a Duration',
    withGrpcApp({ drainDelay: notADuration }),
    `GrpcApp 'test/bad': drainDelay must be a Duration of at least 0 ms`,
    5000,
  ],
  [
    'GrpcApp terminationMargin 999 ms',
    withGrpcApp({ terminationMargin: Duration.millis(999) }),
    `GrpcApp 'test/bad': terminationMargin must be a Duration of at least 1000 ms`,
    '999 ms',
  ],
  ['GrpcApp version', withGrpcApp({ version: '2.0-' }), `GrpcApp 'test/bad': version must be a label value`, '2.0-'],
  [
    'GrpcApp label app',
    withGrpcApp({ labels: { app: 'other' } }),
    `GrpcApp 'test/bad': labels.app must be unset: the construct sets it`,
    'other',
  ],
  [
    'GrpcApp label app.kubernetes.io/name',
    withGrpcApp({ labels: { team: 'billing', 'app.kubernetes.io/name': 'other' } }),
    `GrpcApp 'test/bad': labels.app.kubernetes.io/name must be unset: the construct sets it`,
    'other',
  ],
  [
    'GrpcApp label version',
    withGrpcApp({ labels: { version: 'v2' } }),
    `GrpcApp 'test/bad': labels.version must be unset: the construct sets it`,
    'v2',
  ],
  [
    'GrpcApp label key',
    withGrpcApp({ labels: { 'team name': 'billing' } }),
    `GrpcApp 'test/bad': labels key must be a Kubernetes qualified name`,
    'team name',
  ],
  [
    'GrpcApp label value',
    withGrpcApp({ labels: { team: 'billing team' } }),
    `GrpcApp 'test/bad': labels.team must be a label value`,
    'billing team',
  ],
  [
    'GrpcApp env name',
    withGrpcApp({ env: [{ name: '1CURRENCY', value: 'EUR' }] }),
    `GrpcApp 'test/bad': env[0].name must be an environment variable name`,
    '1CURRENCY',
  ],
  [
    'GrpcApp maxConnectionAge',
    withGrpcApp({ maxConnectionAge: Duration.millis(10) }),
    `GrpcApp 'test/bad': maxConnectionAge must be a Duration of at least 1000 ms`,
    '10 ms',
  ],
  [
    'GrpcApp istioProxyless without Istio',
    withGrpcApp({ istioProxyless: true }),
    `GrpcApp 'test/bad': istioProxyless must be false: namespace "payments" has no Istio injection`,
    true,
  ],
  [
    'IstioIlbGateway loadBalancerAnnotations key',
    withGateway({ loadBalancerAnnotations: { 'bad key': 'x' } }),
    `IstioIlbGateway 'test/bad': loadBalancerAnnotations key must be a Kubernetes qualified name`,
    'bad key',
  ],
  // A Service rendered elsewhere: every field of the reference.
  [
    'fromService name',
    withService({ name: 'Payments' }),
    `GrpcBackend.fromService 'Payments': name must be a DNS-1123 label`,
    'Payments',
  ],
  [
    'fromService namespace',
    withService({ namespace: 'payments' as unknown as INamespace }),
    `GrpcBackend.fromService 'payments': namespace must be an INamespace, such as existingNamespace("payments")`,
    'payments',
  ],
  [
    'fromService port',
    withService({ port: 0 }),
    `GrpcBackend.fromService 'payments': port must be an integer from 1 to 65535`,
    0,
  ],
  [
    'fromService portName',
    withService({ portName: 'gRPC' }),
    `GrpcBackend.fromService 'payments': portName must be a DNS-1123 label`,
    'gRPC',
  ],
  [
    'fromService selectorLabels empty',
    withService({ selectorLabels: {} }),
    `GrpcBackend.fromService 'payments': selectorLabels must be at least one label, or unset when unknown`,
    {},
  ],
  [
    'fromService serviceAccountName',
    withService({ serviceAccountName: 'Payments' }),
    `GrpcBackend.fromService 'payments': serviceAccountName must be a DNS-1123 label`,
    'Payments',
  ],
  [
    'fromService maxConnectionAge',
    withService({ maxConnectionAge: Duration.millis(10) }),
    `GrpcBackend.fromService 'payments': maxConnectionAge must be a Duration of at least 1000 ms`,
    '10 ms',
  ],
  [
    'host "not a host"',
    withGateway({ host: 'not a host' }),
    `IstioIlbGateway 'test/bad': host must be a fully qualified lower-case host name`,
    'not a host',
  ],
  [
    'host "localhost"',
    withGateway({ host: 'localhost' }),
    `IstioIlbGateway 'test/bad': host must be a fully qualified lower-case host name`,
    'localhost',
  ],
  [
    'host with a port',
    withGateway({ host: 'grpc.example.com:443' }),
    `IstioIlbGateway 'test/bad': host must be a fully qualified lower-case host name`,
    'grpc.example.com:443',
  ],
  [
    'TLS without a secret name',
    withGateway({ tlsSecretName: '' }),
    `IstioIlbGateway 'test/bad': tlsSecretName must be the name of the kubernetes.io/tls Secret for "grpc.example.com"`,
    '',
  ],
  [
    'TLS secret name with a slash',
    withGateway({ tlsSecretName: 'istio-system/tls' }),
    `IstioIlbGateway 'test/bad': tlsSecretName must be a DNS-1123 subdomain`,
    'istio-system/tls',
  ],
  [
    'gateway port 65536',
    withGateway({ port: 65536 }),
    `IstioIlbGateway 'test/bad': port must be an integer from 1 to 65535`,
    65536,
  ],
  [
    'gateway replicas -1',
    withGateway({ replicas: -1 }),
    `IstioIlbGateway 'test/bad': replicas must be an integer >= 1`,
    -1,
  ],
  [
    'gateway name',
    withGateway({ name: 'Gateway' }),
    `IstioIlbGateway 'test/bad': name must be a DNS-1123 label`,
    'Gateway',
  ],
  [
    'gateway resources',
    withGateway({ resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: 'two', memory: '1Gi' } } }),
    `IstioIlbGateway 'test/bad': resources.limits.cpu must be a Kubernetes quantity`,
    'two',
  ],
  [
    'route name',
    withRoutes({ name: 'greeter.routes' }),
    `GrpcVirtualService 'test/bad': name must be a DNS-1123 label`,
    'greeter.routes',
  ],
  [
    'DestinationRule algorithm',
    withRoutes({ loadBalancingAlgorithm: 'FASTEST' as 'RANDOM' }),
    `GrpcVirtualService 'test/bad': loadBalancingAlgorithm must be one of "ROUND_ROBIN", "LEAST_REQUEST", "LEAST_CONN", "RANDOM", "PASSTHROUGH"`,
    'FASTEST',
  ],
  [
    'retry condition',
    withRoutes({ retries: { retryOn: ['unavailable', 'sometimes' as 'reset'] } }),
    `GrpcVirtualService 'test/bad': retries.retryOn[1] must be one of`,
    'sometimes',
  ],
  [
    'no retry conditions',
    withRoutes({ retries: { retryOn: [] } }),
    `GrpcVirtualService 'test/bad': retries.retryOn must be a non-empty list`,
    [],
  ],
  [
    'retry attempts 11',
    withRoutes({ retries: { attempts: 11 } }),
    `GrpcVirtualService 'test/bad': retries.attempts must be an integer from 0 to 10`,
    11,
  ],
  [
    'retry per-try timeout 0',
    withRoutes({ retries: { perTryTimeout: Duration.millis(0) } }),
    `GrpcVirtualService 'test/bad': retries.perTryTimeout must be a Duration of at least 1 ms`,
    '0 ms',
  ],
  [
    'maxConcurrentRequests 0',
    withRoutes({ maxConcurrentRequests: 0 }),
    `GrpcVirtualService 'test/bad': maxConcurrentRequests must be an integer >= 1`,
    0,
  ],
  [
    'consecutiveErrorsToEject 0',
    withRoutes({ consecutiveErrorsToEject: 0 }),
    `GrpcVirtualService 'test/bad': consecutiveErrorsToEject must be an integer >= 1`,
    0,
  ],
  [
    'namespace name',
    () => new AppNamespace(Testing.chart(), 'bad', { name: 'Testing' }),
    `AppNamespace 'test/bad': name must be a DNS-1123 label`,
    'Testing',
  ],
  [
    'namespace mesh',
    () => new AppNamespace(Testing.chart(), 'bad', { name: 'testing', mesh: 'consul' as 'none' }),
    `AppNamespace 'test/bad': mesh must be one of "istio", "istio-ambient", "linkerd", "none"`,
    'consul',
  ],
  [
    'namespace Pod Security level',
    () =>
      new AppNamespace(Testing.chart(), 'bad', { name: 'testing', podSecurity: { enforce: 'strict' as 'restricted' } }),
    `AppNamespace 'test/bad': podSecurity.enforce must be one of "privileged", "baseline", "restricted"`,
    'strict',
  ],
  [
    'existing namespace name',
    () => existingNamespace('istio_system'),
    `existingNamespace 'istio_system': name must be a DNS-1123 label`,
    'istio_system',
  ],
  [
    'client summaryEvery',
    withClient({ summaryEvery: -5 }),
    `GreeterClient 'test/bad': summaryEvery must be an integer >= 0`,
    -5,
  ],
  [
    'client name',
    withClient({ name: 'Greeter_Client' }),
    `GreeterClient 'test/bad': name must be a DNS-1123 label`,
    'Greeter_Client',
  ],
  [
    'client image',
    withClient({ image: { repository: 'greeter-client', tag: 'a b' } }),
    `GreeterClient 'test/bad': image.tag must be an image tag`,
    'a b',
  ],
  [
    'client interval',
    withClient({ interval: notADuration }),
    `GreeterClient 'test/bad': interval must be a Duration of at least 0 ms`,
    5000,
  ],
  [
    'client maxAttempts 6 (gRFC A6 caps it at 5)',
    withClient({ maxAttempts: 6 }),
    `GreeterClient 'test/bad': maxAttempts must be an integer from 1 to 5`,
    6,
  ],
  [
    'client minTimeBetweenResolutions',
    withClient({ minTimeBetweenResolutions: notADuration }),
    `GreeterClient 'test/bad': minTimeBetweenResolutions must be a Duration of at least 0 ms`,
    5000,
  ],
  [
    'client resources',
    withClient({ resources: { requests: { cpu: '20m', memory: '64MB' }, limits: { cpu: '200m', memory: '128Mi' } } }),
    `GreeterClient 'test/bad': resources.requests.memory must be a Kubernetes quantity`,
    '64MB',
  ],
  [
    'no allowed callers',
    () => {
      const { chart, app } = fixture();
      new MeshAccessPolicy(chart, 'bad', { backend: app, allowedCallers: [] });
    },
    `MeshAccessPolicy 'test/bad': allowedCallers must be at least one mesh identity`,
    [],
  ],
  [
    'trust domain',
    () => {
      const { chart, app, gateway } = fixture();
      new MeshAccessPolicy(chart, 'bad', {
        backend: app,
        allowedCallers: [gateway.identity],
        trustDomain: 'Cluster Local',
      });
    },
    `MeshAccessPolicy 'test/bad': trustDomain must be a fully qualified lower-case host name`,
    'Cluster Local',
  ],
  // A backend rendered elsewhere without a pod selector: the constructs that select pods say which prop is missing.
  [
    'access policy for a backend without a pod selector',
    () => {
      const { chart, gateway } = fixture();
      new MeshAccessPolicy(chart, 'bad', {
        backend: GrpcBackend.fromService({
          name: 'payments',
          namespace: existingNamespace('payments', 'istio'),
          port: 9090,
        }),
        allowedCallers: [gateway.identity],
      });
    },
    `MeshAccessPolicy 'test/bad': backend.selectorLabels must be known (the AuthorizationPolicy selects the pods): pass selectorLabels to GrpcBackend.fromService`,
    undefined,
  ],
  [
    'headless Service for a backend without a pod selector',
    () => {
      const backend = GrpcBackend.fromService({
        name: 'payments',
        namespace: payments,
        port: 9090,
        maxConnectionAge: Duration.seconds(30),
      });
      new HeadlessGrpcService(Testing.chart(), 'bad', { backend });
    },
    `HeadlessGrpcService 'test/bad': backend.selectorLabels must be known (the headless Service selects the pods): pass selectorLabels to GrpcBackend.fromService`,
    undefined,
  ],
  [
    'renewBefore longer than duration',
    () => {
      const { chart, gateway } = fixture();
      new SelfSignedCertificate(chart, 'bad', {
        endpoint: gateway,
        duration: Duration.days(1),
        renewBefore: Duration.days(2),
      });
    },
    `SelfSignedCertificate 'test/bad': renewBefore must be shorter than duration (24h)`,
    '48h',
  ],
  [
    'certificate duration under an hour',
    () => {
      const { chart, gateway } = fixture();
      new SelfSignedCertificate(chart, 'bad', { endpoint: gateway, duration: Duration.minutes(30) });
    },
    `SelfSignedCertificate 'test/bad': duration must be a Duration of at least 3600000 ms`,
    '1800000 ms',
  ],
];

const withIngress = (props: Partial<NginxGrpcIngressProps>) => () => {
  const { chart, app } = fixture();
  new NginxGrpcIngress(chart, 'bad', { backend: app, host: 'grpc.example.com', tlsSecretName: 'grpc-tls', ...props });
};
const withLinkerd = (props: Partial<LinkerdGrpcPolicyProps>) => () => {
  const { chart, app } = fixture();
  new LinkerdGrpcPolicy(chart, 'bad', { backend: app, ...props });
};
const withArgoCd = (props: Partial<ArgoCdApplicationProps>) => () => {
  new ArgoCdApplication(Testing.chart(), 'bad', {
    name: 'greeter',
    repoURL: 'https://github.com/example-org/grpc-k8s-lb.git',
    targetRevision: 'main',
    path: 'dist/gke/istio-ilb',
    destinationNamespace: 'testing',
    ...props,
  });
};
const withEnvoyGatewayPolicy = (props: Partial<EnvoyGatewayGrpcPolicyProps>) => () => {
  const { chart, app } = fixture();
  const gateway = new GrpcGateway(chart, 'eg-gateway', {
    name: 'eg-gateway',
    namespace: app.namespace,
    host: 'grpc.example.com',
    tlsSecretName: 'grpc-tls',
    gatewayClassName: 'eg',
  });
  const route = new GrpcRoute(chart, 'eg-route', { gateway, backend: app });
  new EnvoyGatewayGrpcPolicy(chart, 'bad', { route, ...props });
};
badCases.push(
  [
    'envoy gateway load balancing',
    withEnvoyGatewayPolicy({ loadBalancing: 'ConsistentHash' as 'Random' }),
    `EnvoyGatewayGrpcPolicy 'test/bad': loadBalancing must be one of "RoundRobin", "LeastRequest", "Random"`,
    'ConsistentHash',
  ],
  [
    'envoy gateway retry attempts',
    withEnvoyGatewayPolicy({ retries: { attempts: 11 } }),
    `EnvoyGatewayGrpcPolicy 'test/bad': retries.attempts must be an integer from 0 to 10`,
    11,
  ],
  [
    'envoy gateway consecutive errors',
    withEnvoyGatewayPolicy({ consecutiveErrorsToEject: 0 }),
    `EnvoyGatewayGrpcPolicy 'test/bad': consecutiveErrorsToEject must be an integer >= 1`,
    0,
  ],
  [
    'envoy gateway name',
    withEnvoyGatewayPolicy({ name: 'Greeter Policy' }),
    `EnvoyGatewayGrpcPolicy 'test/bad': name must be a DNS-1123 subdomain`,
    'Greeter Policy',
  ],
);
badCases.push(
  [
    'ingress host',
    withIngress({ host: 'grpc_example.com' }),
    `NginxGrpcIngress 'test/bad': host must be a fully qualified lower-case host name`,
    'grpc_example.com',
  ],
  [
    'ingress class',
    withIngress({ ingressClassName: 'Nginx' }),
    `NginxGrpcIngress 'test/bad': ingressClassName must be a DNS-1123 subdomain`,
    'Nginx',
  ],
  [
    'ingress TLS secret',
    withIngress({ tlsSecretName: 'testing/grpc-tls' }),
    `NginxGrpcIngress 'test/bad': tlsSecretName must be a DNS-1123 subdomain`,
    'testing/grpc-tls',
  ],
  [
    'ingress name',
    withIngress({ name: 'Greeter' }),
    `NginxGrpcIngress 'test/bad': name must be a DNS-1123 subdomain`,
    'Greeter',
  ],
  [
    'ingress controller name',
    withIngress({ controller: { name: 'ingress.nginx', namespace: existingNamespace('ingress-nginx'), port: 443 } }),
    `NginxGrpcIngress 'test/bad': controller.name must be a DNS-1123 label`,
    'ingress.nginx',
  ],
  [
    'ingress controller port',
    withIngress({
      controller: { name: 'ingress-nginx-controller', namespace: existingNamespace('ingress-nginx'), port: 0 },
    }),
    `NginxGrpcIngress 'test/bad': controller.port must be an integer from 1 to 65535`,
    0,
  ],
  [
    'linkerd retry condition',
    withLinkerd({ retries: { retryOn: ['unavailable', 'aborted' as 'internal'] } }),
    `LinkerdGrpcPolicy 'test/bad': retries.retryOn[1] must be one of "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"`,
    'aborted',
  ],
  [
    'linkerd no retry conditions',
    withLinkerd({ retries: { retryOn: [] } }),
    `LinkerdGrpcPolicy 'test/bad': retries.retryOn must be a non-empty list`,
    [],
  ],
  [
    'linkerd retry limit 0',
    withLinkerd({ retries: { attempts: 0, retryOn: ['unavailable'] } }),
    `LinkerdGrpcPolicy 'test/bad': retries.attempts must be from 1 to 10, or \`retries\` unset for no retries`,
    0,
  ],
  [
    'linkerd request timeout below per-try',
    withLinkerd({
      retries: { perTryTimeout: Duration.seconds(5), retryOn: ['unavailable'] },
      timeout: Duration.seconds(1),
    }),
    `LinkerdGrpcPolicy 'test/bad': timeout must be at least retries.perTryTimeout (5000 ms)`,
    '1000 ms',
  ],
  [
    'linkerd per-try timeout 0',
    withLinkerd({ retries: { perTryTimeout: Duration.millis(0), retryOn: ['unavailable'] } }),
    `LinkerdGrpcPolicy 'test/bad': retries.perTryTimeout must be a Duration of at least 1 ms`,
    '0 ms',
  ],
  [
    'linkerd route name',
    withLinkerd({ name: 'Greeter Route' }),
    `LinkerdGrpcPolicy 'test/bad': name must be a DNS-1123 subdomain`,
    'Greeter Route',
  ],
  [
    'headless without connection aging',
    () => {
      const { chart, app } = fixture();
      new HeadlessGrpcService(chart, 'bad', { backend: app });
    },
    `HeadlessGrpcService 'test/bad': backend.maxConnectionAgeMs must be set, so that clients re-resolve DNS`,
    undefined,
  ],
  [
    'headless name',
    withHeadless({ name: 'greeter.headless' }),
    `HeadlessGrpcService 'test/bad': name must be a DNS-1123 label`,
    'greeter.headless',
  ],
  [
    'headless resolving less often than the connections age',
    withHeadless({ minTimeBetweenResolutions: Duration.seconds(30) }),
    `HeadlessGrpcService 'test/bad': minTimeBetweenResolutions must be at most the backend's max connection age (10000 ms), so that each age makes clients resolve again`,
    '30000 ms',
  ],
  [
    'headless maxAttempts 0',
    withHeadless({ maxAttempts: 0 }),
    `HeadlessGrpcService 'test/bad': maxAttempts must be an integer from 1 to 5`,
    0,
  ],
  [
    'endpoint reader maxAttempts 6',
    () => {
      const { chart, app } = fixture();
      new EndpointSliceReader(chart, 'bad', { backend: app, maxAttempts: 6 });
    },
    `EndpointSliceReader 'test/bad': maxAttempts must be an integer from 1 to 5`,
    6,
  ],
  [
    'endpoint reader name',
    () => {
      const { chart, app } = fixture();
      new EndpointSliceReader(chart, 'bad', { backend: app, name: 'Reader' });
    },
    `EndpointSliceReader 'test/bad': name must be a DNS-1123 subdomain`,
    'Reader',
  ],
  [
    'certificate for a plaintext endpoint',
    () => {
      const { chart, app } = fixture();
      new SelfSignedCertificate(chart, 'bad', { endpoint: app });
    },
    `SelfSignedCertificate 'test/bad': endpoint.tls must be the TLS of an endpoint that terminates it`,
    undefined,
  ],
  [
    'Argo CD repoURL',
    withArgoCd({ repoURL: 'github.com/example-org/grpc-k8s-lb' }),
    `ArgoCdApplication 'test/bad': repoURL must be a git URL`,
    'github.com/example-org/grpc-k8s-lb',
  ],
  [
    'Argo CD path escaping the repo',
    withArgoCd({ path: '../other/dist' }),
    `ArgoCdApplication 'test/bad': path must be a relative directory in the repository`,
    '../other/dist',
  ],
  [
    'Argo CD absolute path',
    withArgoCd({ path: '/dist/gke' }),
    `ArgoCdApplication 'test/bad': path must be a relative directory in the repository`,
    '/dist/gke',
  ],
  [
    'Argo CD revision',
    withArgoCd({ targetRevision: '' }),
    `ArgoCdApplication 'test/bad': targetRevision must be a branch, tag or commit`,
    '',
  ],
  [
    'Argo CD server',
    withArgoCd({ destinationServer: 'http://kubernetes.default.svc' }),
    `ArgoCdApplication 'test/bad': destinationServer must be an https:// API server URL`,
    'http://kubernetes.default.svc',
  ],
  [
    'Argo CD prune without automated',
    withArgoCd({ syncPolicy: { automated: false, prune: true } }),
    `ArgoCdApplication 'test/bad': syncPolicy must be automated where prune or selfHeal is set`,
    { automated: false, prune: true },
  ],
  [
    'Argo CD sync wave',
    withArgoCd({ syncWave: 1.5 }),
    `ArgoCdApplication 'test/bad': syncWave must be an integer`,
    1.5,
  ],
  // Gateway API and Cloud Endpoints: their full tables are in gateway-api.test.ts and cloud-endpoints.test.ts.
  [
    'Gateway API class',
    () => {
      const { chart, namespace } = fixture();
      new GrpcGateway(chart, 'bad', {
        namespace,
        host: 'grpc.example.com',
        tlsSecretName: 'grpc-tls',
        gatewayClassName: 'Istio Class',
      });
    },
    `GrpcGateway 'test/bad': gatewayClassName must be a DNS-1123 subdomain`,
    'Istio Class',
  ],
  [
    'GRPCRoute service',
    () => {
      const { chart, namespace, app } = fixture();
      const gateway = new GrpcGateway(chart, 'gateway-api', {
        namespace,
        host: 'grpc.example.com',
        tlsSecretName: 'grpc-tls',
      });
      new GrpcRoute(chart, 'bad', { gateway, backend: app, grpcServices: ['hello world'] });
    },
    `GrpcRoute 'test/bad': grpcServices[0] must be a fully qualified gRPC service name`,
    'hello world',
  ],
  [
    'ESPv2 service name',
    () => {
      const { chart, app } = fixture();
      new CloudEndpointsProxy(chart, 'bad', { app, endpointsServiceName: 'greeter', apis: ['helloworld.Greeter'] });
    },
    `CloudEndpointsProxy 'test/bad': endpointsServiceName must be a fully qualified lower-case host name`,
    'greeter',
  ],
);

// Istio ambient and GKE's Gateway.
const ambient = () => {
  const chart = Testing.chart();
  const namespace = new AppNamespace(chart, 'ns', { name: 'testing', mesh: 'istio-ambient' });
  const app = new GreeterApp(chart, 'greeter', { namespace, image });
  return { chart, namespace, app };
};
const gke = (appProtocol = 'HTTP2') => {
  const chart = Testing.chart();
  const namespace = new AppNamespace(chart, 'ns', { name: 'testing', mesh: 'none' });
  const app = new GreeterApp(chart, 'greeter', { namespace, image, appProtocol, tls: { secretName: 'grpc-tls' } });
  const gateway = new GkeGateway(chart, 'gateway', { namespace, host: 'grpc.example.com', tlsSecretName: 'grpc-tls' });
  return { chart, namespace, app, gateway };
};
badCases.push(
  [
    'waypoint outside ambient',
    () => {
      const { chart, app } = fixture();
      new IstioWaypoint(chart, 'bad', { backend: app });
    },
    `IstioWaypoint 'test/bad': backend.namespace.mesh must be "istio-ambient"`,
    'istio',
  ],
  [
    'waypoint for a Service rendered elsewhere',
    () => {
      const chart = Testing.chart();
      const backend = GrpcBackend.fromService({
        name: 'orders',
        namespace: existingNamespace('shop', 'istio-ambient'),
        port: 9090,
      });
      new IstioWaypoint(chart, 'bad', { backend });
    },
    `IstioWaypoint 'test/bad': backend must be a construct that renders its Service`,
    'orders',
  ],
  [
    'waypoint replicas',
    () => {
      const { chart, app } = ambient();
      new IstioWaypoint(chart, 'bad', { backend: app, replicas: 0 });
    },
    `IstioWaypoint 'test/bad': replicas must be an integer >= 1`,
    0,
  ],
  [
    'ambient policy without callers',
    () => {
      const { chart, app } = ambient();
      const waypoint = new IstioWaypoint(chart, 'waypoint', { backend: app });
      new AmbientAccessPolicy(chart, 'bad', { backend: app, waypoint, allowedCallers: [] });
    },
    `AmbientAccessPolicy 'test/bad': allowedCallers must be at least one mesh identity`,
    [],
  ],
  [
    'ambient policy outside ambient',
    () => {
      const { chart, app } = fixture();
      const waypoint = { name: 'w', namespace: app.namespace, identity: app.identity };
      new AmbientAccessPolicy(chart, 'bad', { backend: app, waypoint, allowedCallers: [app.identity] });
    },
    `AmbientAccessPolicy 'test/bad': backend.namespace.mesh must be "istio-ambient"`,
    'istio',
  ],
  [
    'mesh route service',
    () => {
      const { chart, app } = ambient();
      new MeshGrpcRoute(chart, 'bad', { backend: app, grpcServices: ['Greeter'] });
    },
    `MeshGrpcRoute 'test/bad': grpcServices[0] must be a fully qualified gRPC service name`,
    'Greeter',
  ],
  [
    'GKE gateway class',
    () => {
      const { chart, namespace } = fixture();
      new GkeGateway(chart, 'bad', {
        namespace,
        host: 'grpc.example.com',
        tlsSecretName: 'grpc-tls',
        gatewayClassName: 'istio',
      });
    },
    `GkeGateway 'test/bad': gatewayClassName must be one of GKE's GatewayClasses`,
    'istio',
  ],
  [
    'HTTPRoute to a port GKE carries as HTTP/1.1',
    () => {
      const { chart, app, gateway } = gke('grpc');
      new GrpcHttpRoute(chart, 'bad', { gateway, backend: app });
    },
    `GrpcHttpRoute 'test/bad': backend.appProtocol must be a value gke-gateway reads as HTTP/2`,
    'grpc',
  ],
  [
    'HTTPRoute on a Gateway of another controller',
    () => {
      const { chart, app } = gke();
      const gateway = GrpcGateway.fromGatewayAttributes(chart, 'istio', {
        name: 'edge',
        namespace: app.namespace,
        gatewayClassName: 'istio',
      });
      new GrpcHttpRoute(chart, 'bad', { gateway, backend: app, hostnames: ['grpc.example.com'] });
    },
    `GrpcHttpRoute 'test/bad': gateway.gatewayClassName must be one of GKE's GatewayClasses`,
    'istio',
  ],
  [
    'GKE gRPC health check on the TLS port',
    () => {
      const { chart, app } = gke();
      new GkeGrpcBackendPolicy(chart, 'bad', { backend: app });
    },
    `GkeGrpcBackendPolicy 'test/bad': healthCheckPort must be a port the pods serve without TLS`,
    undefined,
  ],
  [
    'GKE drain in fractions of a second',
    () => {
      const { chart, app } = gke();
      new GkeGrpcBackendPolicy(chart, 'bad', {
        backend: app,
        healthCheckPort: 50052,
        drainTimeout: Duration.millis(1500),
      });
    },
    `GkeGrpcBackendPolicy 'test/bad': drainTimeout must be whole seconds from 0 to 3600`,
    '1500 ms',
  ],
  [
    'Envoy Gateway class name',
    () => new EnvoyGatewayClass(Testing.chart(), 'bad', { name: 'EG' }),
    `EnvoyGatewayClass 'test/bad': name must be a DNS-1123 subdomain`,
    'EG',
  ],
  [
    'greeter plaintext port',
    withApp({ tls: { secretName: 'grpc-tls', plaintextPort: 50051 } }),
    `GreeterApp 'test/bad': tls.plaintextPort must be a port other than the gRPC port 50051`,
    50051,
  ],
  ['GrpcApp health port', withGrpcApp({ healthPort: 70000 }), `GrpcApp 'test/bad': healthPort must be`, 70000],
);

// What platform teams pass: gateways they run, the workload options of GrpcApp, the library's public helpers.
const platformGateway = (chart = Testing.chart()) =>
  IstioIlbGateway.fromGatewayAttributes(chart, 'platform-gateway', {
    name: 'ingressgateway',
    namespace: existingNamespace('istio-system'),
    hosts: ['*.shop.example.com'],
    selector: { istio: 'ingressgateway' },
  });
const withIstioImport = (attributes: Partial<lib.IstioGatewayAttributes>) => () => {
  IstioIlbGateway.fromGatewayAttributes(Testing.chart(), 'bad', {
    name: 'ingressgateway',
    namespace: existingNamespace('istio-system'),
    hosts: ['grpc.example.com'],
    selector: { istio: 'ingressgateway' },
    ...attributes,
  });
};
const withGatewayApiImport = (attributes: Partial<lib.GrpcGatewayAttributes>) => () => {
  GrpcGateway.fromGatewayAttributes(Testing.chart(), 'bad', {
    name: 'shared',
    namespace: existingNamespace('gateways'),
    gatewayClassName: 'eg',
    ...attributes,
  });
};
const withSharedRoute = (props: Partial<lib.GrpcRouteProps>, listeners?: lib.GrpcGatewayListener[]) => () => {
  const { chart, app } = fixture();
  const gateway = GrpcGateway.fromGatewayAttributes(chart, 'shared', {
    name: 'shared',
    namespace: existingNamespace('gateways'),
    gatewayClassName: 'eg',
    listeners: listeners ?? [{ name: 'https', hostname: '*.example.com' }],
    routeNamespaces: [existingNamespace('testing')],
  });
  new GrpcRoute(chart, 'bad', { gateway, backend: app, hostnames: ['grpc.example.com'], ...props });
};
const probeWith = (probe: lib.Probe) => withGrpcApp({ startupProbe: probe });
badCases.push(
  [
    'GrpcApp version empty',
    withGrpcApp({ version: '' }),
    `GrpcApp 'test/bad': version must be a non-empty label value`,
    '',
  ],
  [
    'GrpcApp request above its limit',
    withGrpcApp({ resources: { requests: { cpu: '2', memory: '128Mi' }, limits: { cpu: '500m' } } }),
    `GrpcApp 'test/bad': resources.limits.cpu must be at least resources.requests.cpu ("2")`,
    '500m',
  ],
  [
    'GrpcApp negative request',
    withGrpcApp({ resources: { requests: { cpu: '-1', memory: '128Mi' } } }),
    `GrpcApp 'test/bad': resources.requests.cpu must be a Kubernetes quantity`,
    '-1',
  ],
  [
    'GrpcApp pod annotation key',
    withGrpcApp({ podAnnotations: { 'prometheus.io/scrape port': 'true' } }),
    `GrpcApp 'test/bad': podAnnotations key must be a Kubernetes qualified name`,
    'prometheus.io/scrape port',
  ],
  [
    'GrpcApp pod annotation the mesh needs',
    () => {
      new GrpcApp(Testing.chart(), 'bad', {
        namespace: existingNamespace('payments', 'istio'),
        name: 'payments',
        image: { repository: 'payments', tag: '2.0.0' },
        port: 9090,
        istioProxyless: true,
        podAnnotations: { 'inject.istio.io/templates': 'sidecar' },
      });
    },
    `GrpcApp 'test/bad': podAnnotations.inject.istio.io/templates must be unset: the construct sets it for the mesh`,
    'sidecar',
  ],
  [
    'GrpcApp ServiceAccount annotation value',
    withGrpcApp({ serviceAccountAnnotations: { 'iam.gke.io/gcp-service-account': 7 as unknown as string } }),
    `GrpcApp 'test/bad': serviceAccountAnnotations.iam.gke.io/gcp-service-account must be a string`,
    7,
  ],
  [
    'GrpcApp image pull secret',
    withGrpcApp({ imagePullSecrets: ['Registry Credentials'] }),
    `GrpcApp 'test/bad': imagePullSecrets[0] must be a DNS-1123 subdomain`,
    'Registry Credentials',
  ],
  [
    'GrpcApp port name too long',
    withGrpcApp({ ports: [{ name: 'prometheus-metrics', port: 9464 }] }),
    `GrpcApp 'test/bad': ports[0].name must be a port name`,
    'prometheus-metrics',
  ],
  [
    'GrpcApp port named grpc',
    withGrpcApp({ ports: [{ name: 'grpc', port: 9464 }] }),
    `GrpcApp 'test/bad': ports[0].name must be unique among the container's ports`,
    'grpc',
  ],
  [
    'GrpcApp port on the gRPC port',
    withGrpcApp({ ports: [{ name: 'metrics', port: 9090 }] }),
    `GrpcApp 'test/bad': ports[0].port must be unique among the container's ports (the main one is 9090)`,
    9090,
  ],
  [
    'GrpcApp volume name',
    withGrpcApp({ volumes: [{ name: 'Cache', emptyDir: {} }] }),
    `GrpcApp 'test/bad': volumes[0].name must be a DNS-1123 label`,
    'Cache',
  ],
  [
    'GrpcApp volume named tmp beside the default /tmp',
    withGrpcApp({ volumes: [{ name: 'tmp', emptyDir: {} }] }),
    `GrpcApp 'test/bad': volumes[1] must be unique in the list`,
    'tmp',
  ],
  [
    'GrpcApp mount of no volume',
    withGrpcApp({ volumeMounts: [{ name: 'cache', mountPath: '/var/cache' }] }),
    `GrpcApp 'test/bad': volumeMounts[0].name must be the name of one of the volumes`,
    'cache',
  ],
  [
    'GrpcApp relative mount path',
    withGrpcApp({ volumes: [{ name: 'cache', emptyDir: {} }], volumeMounts: [{ name: 'cache', mountPath: 'cache' }] }),
    `GrpcApp 'test/bad': volumeMounts[0].mountPath must be an absolute path without ":"`,
    'cache',
  ],
  ['GrpcApp empty command', withGrpcApp({ command: [] }), `GrpcApp 'test/bad': command must be a non-empty list`, []],
  [
    'GrpcApp argument not a string',
    withGrpcApp({ args: ['--port', 9090 as unknown as string] }),
    `GrpcApp 'test/bad': args[1] must be a string`,
    9090,
  ],
  [
    'GrpcApp startup probe with two handlers',
    probeWith({ grpc: { port: 9090 }, tcpSocket: { port: k8s.IntOrString.fromNumber(9090) } }),
    `GrpcApp 'test/bad': startupProbe must be exactly one of exec, grpc, httpGet, tcpSocket`,
    ['grpc', 'tcpSocket'],
  ],
  [
    'GrpcApp startup probe successThreshold 2',
    probeWith({ grpc: { port: 9090 }, successThreshold: 2 }),
    `GrpcApp 'test/bad': startupProbe.successThreshold must be an integer from 1 to 1`,
    2,
  ],
  [
    'GrpcApp readiness probe period 0',
    withGrpcApp({ readinessProbe: { grpc: { port: 9090 }, periodSeconds: 0 } }),
    `GrpcApp 'test/bad': readinessProbe.periodSeconds must be an integer >= 1`,
    0,
  ],
  [
    'GrpcApp replicas with autoscaling',
    withGrpcApp({ replicas: 3, autoscaling: { maxReplicas: 10 } }),
    `GrpcApp 'test/bad': replicas must be unset with autoscaling`,
    3,
  ],
  [
    'GrpcApp autoscaling max below min',
    withGrpcApp({ autoscaling: { minReplicas: 4, maxReplicas: 3 } }),
    `GrpcApp 'test/bad': autoscaling.maxReplicas must be an integer >= 4`,
    3,
  ],
  [
    'GrpcApp autoscaling target 0',
    withGrpcApp({ autoscaling: { maxReplicas: 5, targetCpuUtilization: 0 } }),
    `GrpcApp 'test/bad': autoscaling.targetCpuUtilization must be an integer >= 1`,
    0,
  ],
  [
    'GrpcApp node selector value',
    withGrpcApp({ nodeSelector: { 'cloud.google.com/gke-nodepool': 'grpc pool' } }),
    `GrpcApp 'test/bad': nodeSelector.cloud.google.com/gke-nodepool must be a label value`,
    'grpc pool',
  ],
  [
    'GrpcApp toleration operator',
    withGrpcApp({ tolerations: [{ key: 'dedicated', operator: 'In' }] }),
    `GrpcApp 'test/bad': tolerations[0].operator must be one of "Equal", "Exists"`,
    'In',
  ],
  [
    'GrpcApp toleration without a key',
    withGrpcApp({ tolerations: [{ operator: 'Equal', value: 'grpc' }] }),
    `GrpcApp 'test/bad': tolerations[0].operator must be "Exists" for a toleration without a key`,
    'Equal',
  ],
  [
    'GrpcApp toleration Exists with a value',
    withGrpcApp({ tolerations: [{ key: 'dedicated', operator: 'Exists', value: 'grpc' }] }),
    `GrpcApp 'test/bad': tolerations[0].value must be empty with operator "Exists"`,
    'grpc',
  ],
  [
    'GrpcApp tolerationSeconds without NoExecute',
    withGrpcApp({ tolerations: [{ key: 'dedicated', value: 'grpc', effect: 'NoSchedule', tolerationSeconds: 60 }] }),
    `GrpcApp 'test/bad': tolerations[0].effect must be "NoExecute" where tolerationSeconds is set`,
    'NoSchedule',
  ],
  [
    'GrpcGateway host an IP address',
    () => {
      const { chart, namespace } = fixture();
      new GrpcGateway(chart, 'bad', { namespace, host: '10.0.0.1', tlsSecretName: 'grpc-tls' });
    },
    `GrpcGateway 'test/bad': host must be a Gateway API hostname`,
    '10.0.0.1',
  ],
  [
    'imported Istio gateway without hosts',
    withIstioImport({ hosts: [] }),
    `IstioIlbGateway.fromGatewayAttributes 'test/bad': hosts must be the hosts the Gateway accepts`,
    [],
  ],
  [
    'imported Istio gateway host',
    withIstioImport({ hosts: ['grpc.example.com', 'http://grpc.example.com'] }),
    `IstioIlbGateway.fromGatewayAttributes 'test/bad': hosts[1] must be a fully qualified lower-case host name`,
    'http://grpc.example.com',
  ],
  [
    'imported Istio gateway without a selector',
    withIstioImport({ selector: {} }),
    `IstioIlbGateway.fromGatewayAttributes 'test/bad': selector must be the labels of the gateway pods`,
    {},
  ],
  [
    'imported Istio gateway name',
    withIstioImport({ name: 'Ingress Gateway' }),
    `IstioIlbGateway.fromGatewayAttributes 'test/bad': name must be a DNS-1123 subdomain`,
    'Ingress Gateway',
  ],
  [
    'imported Gateway API gateway class',
    withGatewayApiImport({ gatewayClassName: 'Envoy Gateway' }),
    `GrpcGateway.fromGatewayAttributes 'test/bad': gatewayClassName must be a DNS-1123 subdomain`,
    'Envoy Gateway',
  ],
  [
    'imported Gateway API listener hostname an IP',
    withGatewayApiImport({ listeners: [{ name: 'https', hostname: '192.168.1.10' }] }),
    `GrpcGateway.fromGatewayAttributes 'test/bad': listeners[0].hostname must be a Gateway API hostname`,
    '192.168.1.10',
  ],
  [
    'imported Gateway API listeners named twice',
    withGatewayApiImport({ listeners: [{ name: 'https' }, { name: 'https' }] }),
    `GrpcGateway.fromGatewayAttributes 'test/bad': listeners[1] must be unique in the list`,
    'https',
  ],
  [
    'route on a wildcard Istio host without hosts',
    () => {
      const { chart, app } = fixture();
      new GrpcVirtualService(chart, 'bad', { backend: app, gateway: platformGateway(chart) });
    },
    `GrpcVirtualService 'test/bad': hosts must be the hosts this route serves: gateway istio-system/ingressgateway accepts *.shop.example.com`,
    undefined,
  ],
  [
    'route host the Istio gateway does not accept',
    () => {
      const { chart, app } = fixture();
      new GrpcVirtualService(chart, 'bad', {
        backend: app,
        gateway: platformGateway(chart),
        hosts: ['grpc.example.com'],
      });
    },
    `GrpcVirtualService 'test/bad': hosts[0] must be a host gateway istio-system/ingressgateway accepts`,
    'grpc.example.com',
  ],
  [
    'route timeout below the per-try timeout',
    withRoutes({ retries: { perTryTimeout: Duration.seconds(3) }, timeout: Duration.seconds(2) }),
    `GrpcVirtualService 'test/bad': timeout must be at least retries.perTryTimeout (3000 ms)`,
    '2000 ms',
  ],
  [
    'GRPCRoute on a wildcard listener without hostnames',
    withSharedRoute({ hostnames: undefined }),
    `GrpcRoute 'test/bad': hostnames must be the hosts this route serves: the listener serves *.example.com`,
    undefined,
  ],
  [
    'GRPCRoute hostname outside the listener',
    withSharedRoute({ hostnames: ['grpc.example.net'] }),
    `GrpcRoute 'test/bad': hostnames[0] must be a hostname that matches the listener's (*.example.com)`,
    'grpc.example.net',
  ],
  [
    'GRPCRoute hostname an IP',
    withSharedRoute({ hostnames: ['10.1.2.3'] }, [{ name: 'https' }]),
    `GrpcRoute 'test/bad': hostnames[0] must be a Gateway API hostname`,
    '10.1.2.3',
  ],
  [
    'GRPCRoute listener of another gateway',
    withSharedRoute({ listener: 'http' }),
    `GrpcRoute 'test/bad': listener must be one of the gateway's listeners (https)`,
    'http',
  ],
  [
    'GRPCRoute on two listeners without choosing',
    withSharedRoute({}, [
      { name: 'https', hostname: '*.example.com' },
      { name: 'grpc', hostname: 'grpc.example.com' },
    ]),
    `GrpcRoute 'test/bad': listener must be one of the gateway's listeners (https, grpc)`,
    undefined,
  ],
  [
    'GRPCRoute from a namespace the gateway does not admit',
    () => {
      const chart = Testing.chart();
      const gateway = GrpcGateway.fromGatewayAttributes(chart, 'shared', {
        name: 'shared',
        namespace: existingNamespace('gateways'),
        gatewayClassName: 'eg',
        routeNamespaces: [existingNamespace('orders')],
      });
      const backend = GrpcBackend.fromService({ name: 'payments', namespace: payments, port: 9090 });
      new GrpcRoute(chart, 'bad', { gateway, backend, hostnames: ['pay.example.com'] });
    },
    `GrpcRoute 'test/bad': backend.namespace must be a namespace whose routes Gateway gateways/shared admits`,
    'payments',
  ],
  [
    'access policy in a namespace without Istio',
    () => {
      const { chart, gateway } = fixture();
      const backend = GrpcBackend.fromService({
        name: 'payments',
        namespace: payments,
        port: 9090,
        selectorLabels: { app: 'payments' },
      });
      new MeshAccessPolicy(chart, 'bad', { backend, allowedCallers: [gateway.identity] });
    },
    `MeshAccessPolicy 'test/bad': backend.namespace.mesh must be "istio": namespace "payments" has no Istio sidecars`,
    'none',
  ],
  [
    'access policy for an imported gateway without an identity',
    () => {
      const { chart, app } = fixture();
      new MeshAccessPolicy(chart, 'bad', { backend: app, allowedCallers: [platformGateway(chart).identity!] });
    },
    `MeshAccessPolicy 'test/bad': allowedCallers[0] must be a mesh identity`,
    undefined,
  ],
  [
    'envoy gateway timeout below the per-try timeout',
    withEnvoyGatewayPolicy({ retries: { perTryTimeout: Duration.seconds(5) }, timeout: Duration.seconds(2) }),
    `EnvoyGatewayGrpcPolicy 'test/bad': timeout must be at least retries.perTryTimeout (5000 ms)`,
    '2000 ms',
  ],
  [
    'proxyless policy name',
    () => {
      const { chart, app } = fixture();
      new lib.IstioProxylessGrpcPolicy(chart, 'bad', { backend: app, name: 'greeter.rule' });
    },
    `IstioProxylessGrpcPolicy 'test/bad': name must be a DNS-1123 label`,
    'greeter.rule',
  ],
  [
    'workload labels of a name that is not a label value',
    () => lib.workloadLabels('payments api'),
    `workloadLabels 'payments api': name must be a label value`,
    'payments api',
  ],
  [
    'restricted security context as root',
    () => lib.restrictedSecurityContext(0),
    `restrictedSecurityContext '0': uid must be an integer >= 1`,
    0,
  ],
);

test.each(badCases)('bad prop: %s', (_label, build, subject, value) => {
  expect(build).toThrow(subject);
  expect(build).toThrow(`, got ${JSON.stringify(value)}`);
});

test('PropValidator names the construct by class and path, the prop and the value, for constructs built on the library', () => {
  class Payments extends Construct {
    constructor(scope: Construct, id: string, replicas: number) {
      super(scope, id);
      PropValidator.of(this).integer('replicas', replicas, 1);
    }
  }
  const chart = Testing.chart();
  expect(() => new Payments(chart, 'payments', 0)).toThrow(
    "Payments 'test/payments': replicas must be an integer >= 1, got 0",
  );
  expect(() => PropValidator.forChild('Payments', chart, 'a/b').dnsLabel('name', 'Payments')).toThrow(
    "Payments 'test/a--b': name must be a DNS-1123 label",
  );
  expect(PropValidator.named('Config', 'prod').error('region', 'mars', 'a region').message).toBe(
    `Config 'prod': region must be a region, got "mars"`,
  );
  expect(() => PropValidator.named('Config', 'prod').quantity('memory', '1GB')).toThrow('got "1GB"');
  expect(PropValidator.isImageRepository('registry.example.com/shop/payments')).toBe(true);
  expect(PropValidator.isImageRepository('Payments')).toBe(false);
});

test('the table covers every construct, and every other class or function, the library exports', () => {
  const exported = Object.entries(lib as Record<string, unknown>).filter(([, value]) => typeof value === 'function');
  const constructs = exported
    .filter(([, value]) => (value as { prototype?: unknown }).prototype instanceof Construct)
    .map(([name]) => name);
  // `GrpcBackend.fromService 'x'` covers GrpcBackend, the class whose one entry point it is.
  const covered = new Set(badCases.map(([, , subject]) => subject.split(' ')[0].split('.')[0]));
  // PropValidator reports in its caller's name: the test above covers it.
  covered.add('PropValidator');
  expect(constructs.length).toBeGreaterThanOrEqual(13);
  expect(constructs.filter((name) => !covered.has(name))).toEqual([]);
  expect(exported.map(([name]) => name).filter((name) => !covered.has(name))).toEqual([]);
  // This repository's own constructs (deploy/) are covered too.
  const deployConstructs = ['ArgoCdApplication', 'GreeterApp', 'GreeterClient'];
  expect([...covered].filter((name) => !deployConstructs.includes(name) && !Object.hasOwn(lib, name))).toEqual([]);
});

// The environment config: every field, named as `EnvironmentConfig '<env>': <field>`.
const base = ENVIRONMENTS.gke as EnvironmentConfig;
const envCases: Array<[field: string, config: EnvironmentConfig, expected: string, value: unknown]> = [
  ['name', { ...base, name: 'GKE' }, 'name must be a DNS-1123 label', 'GKE'],
  [
    'images.registry',
    { ...base, images: { ...base.images, registry: 'gcr.io/My Project' } },
    'images.registry must be empty (locally built images) or a registry path',
    'gcr.io/My Project',
  ],
  ['images.tag', { ...base, images: { ...base.images, tag: 'v1:2' } }, 'images.tag must be an image tag', 'v1:2'],
  [
    'images.pullPolicy',
    { ...base, images: { ...base.images, pullPolicy: 'Daily' as 'Never' } },
    'images.pullPolicy must be one of "Always", "IfNotPresent", "Never"',
    'Daily',
  ],
  [
    'namespaces.app',
    { ...base, namespaces: { ...base.namespaces, app: 'Testing' } },
    'namespaces.app must be a DNS-1123 label',
    'Testing',
  ],
  [
    'namespaces.gateway',
    { ...base, namespaces: { ...base.namespaces, gateway: 'istio_system' } },
    'namespaces.gateway must be a DNS-1123 label',
    'istio_system',
  ],
  [
    'replicas.greeter',
    { ...base, replicas: { ...base.replicas, greeter: 0 } },
    'replicas.greeter must be an integer >= 1',
    0,
  ],
  [
    'replicas.gateway',
    { ...base, replicas: { ...base.replicas, gateway: 2.5 } },
    'replicas.gateway must be an integer >= 1',
    2.5,
  ],
  [
    'gatewayLoadBalancer',
    { ...base, gatewayLoadBalancer: 'nlb' as 'default' },
    'gatewayLoadBalancer must be one of "gke-internal", "default"',
    'nlb',
  ],
  [
    'host',
    { ...base, host: 'https://grpc.example.com' },
    'host must be a fully qualified lower-case host name',
    'https://grpc.example.com',
  ],
  [
    'tls.secretName',
    { ...base, tls: { ...base.tls, secretName: 'TLS' } },
    'tls.secretName must be a DNS-1123 subdomain',
    'TLS',
  ],
  [
    'tls.source',
    { ...base, tls: { ...base.tls, source: 'vault' as 'cert-manager' } },
    'tls.source must be one of "kubectl-secret", "cert-manager"',
    'vault',
  ],
  [
    'strategies entry',
    { ...base, strategies: ['istio-ilb', 'envoy'] as never },
    'strategies[1] must be one of',
    'envoy',
  ],
  [
    'argoCd.strategy',
    { ...base, strategies: ['linkerd'], argoCd: { ...base.argoCd, strategy: 'istio-ilb' } },
    "argoCd.strategy must be one of the environment's strategies (linkerd)",
    'istio-ilb',
  ],
  [
    'argoCd.moreClusters[].strategy',
    { ...base, strategies: ['istio-ilb'] },
    "argoCd.moreClusters[0].strategy must be one of the environment's strategies (istio-ilb)",
    'istio-ambient',
  ],
  [
    'argoCd.moreClusters[].name',
    {
      ...base,
      argoCd: {
        ...base.argoCd,
        moreClusters: [
          { name: 'GKE-ambient', strategy: 'istio-ambient', destinationServer: 'https://kubernetes.default.svc' },
        ],
      },
    },
    'argoCd.moreClusters[0].name must be a DNS-1123 label',
    'GKE-ambient',
  ],
  [
    'endpoints.serviceName',
    { ...base, endpoints: { serviceName: 'greeter' } },
    'endpoints.serviceName must be a fully qualified lower-case host name',
    'greeter',
  ],
  [
    'envoyGatewayClass',
    { ...base, envoyGatewayClass: 'eg' as 'platform' },
    'envoyGatewayClass must be one of "rendered", "platform"',
    'eg',
  ],
  [
    'argoCd.destinationServer',
    { ...base, argoCd: { ...base.argoCd, destinationServer: 'kubernetes.default.svc' } },
    'argoCd.destinationServer must be an https:// API server URL',
    'kubernetes.default.svc',
  ],
];

test.each(envCases)('bad environment field: %s', (_field, config, expected, value) => {
  const check = () => environmentStrategies(config);
  expect(check).toThrow(`EnvironmentConfig '${config.name}': ${expected}`);
  expect(check).toThrow(`, got ${JSON.stringify(value)}`);
});
