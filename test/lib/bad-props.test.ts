/**
 * Bad input to the constructs and the environment config, table-driven: every validated prop, each case asserting
 * that the message names the construct (or environment), the prop and the value. Synthesis stops before anything
 * is written (tests in constructs.test.ts and strategies.test.ts check that part).
 */
import { Duration, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import * as lib from '../../lib';
import {
  AppNamespace,
  CloudEndpointsProxy,
  EndpointSliceReader,
  EnvoyGatewayGrpcPolicy,
  GrpcApp,
  GrpcBackend,
  GrpcGateway,
  GrpcRoute,
  GrpcVirtualService,
  HeadlessGrpcService,
  IstioIlbGateway,
  LinkerdGrpcPolicy,
  MeshAccessPolicy,
  NginxGrpcIngress,
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
const withClient = (props: Partial<GreeterClientProps>) => () => {
  const { chart, gateway } = fixture();
  new GreeterClient(chart, 'bad', { endpoint: gateway, image, ...props });
};
/** What a JavaScript caller or a config file may pass where a Duration is typed. */
const notADuration = 5000 as unknown as Duration;
const badCases: BadCase[] = [
  ['replicas 0', withApp({ replicas: 0 }), `GreeterApp 'bad': replicas must be an integer >= 1`, 0],
  ['replicas 1.5', withApp({ replicas: 1.5 }), `GreeterApp 'bad': replicas must be an integer >= 1`, 1.5],
  ['port 70000', withApp({ port: 70000 }), `GreeterApp 'bad': port must be an integer from 1 to 65535`, 70000],
  ['port 0', withApp({ port: 0 }), `GreeterApp 'bad': port must be an integer from 1 to 65535`, 0],
  [
    'name Greeter_App',
    withApp({ name: 'Greeter_App' }),
    `GreeterApp 'bad': name must be a DNS-1123 label`,
    'Greeter_App',
  ],
  ['version v1.0', withApp({ version: 'v1.0' }), `GreeterApp 'bad': version must be a DNS-1123 label`, 'v1.0'],
  [
    'image repository with upper case',
    withApp({ image: { repository: 'gcr.io/PROJECT_ID/greeter', tag: '1' } }),
    `GreeterApp 'bad': image.repository must be an image repository`,
    'gcr.io/PROJECT_ID/greeter',
  ],
  [
    'image tag with a colon',
    withApp({ image: { repository: 'greeter', tag: '1:2' } }),
    `GreeterApp 'bad': image.tag must be an image tag`,
    '1:2',
  ],
  [
    'image pull policy',
    withApp({ image: { ...image, pullPolicy: 'Sometimes' as 'Never' } }),
    `GreeterApp 'bad': image.pullPolicy must be one of "Always", "IfNotPresent", "Never"`,
    'Sometimes',
  ],
  [
    'cpu "lots"',
    withApp({ resources: { requests: { cpu: 'lots', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } } }),
    `GreeterApp 'bad': resources.requests.cpu must be a Kubernetes quantity`,
    'lots',
  ],
  [
    'memory "1GB"',
    withApp({ resources: { requests: { cpu: '1', memory: '64Mi' }, limits: { cpu: '1', memory: '1GB' } } }),
    `GreeterApp 'bad': resources.limits.memory must be a Kubernetes quantity`,
    '1GB',
  ],
  [
    'terminationMargin 500 ms',
    withApp({ terminationMargin: Duration.millis(500) }),
    `GreeterApp 'bad': terminationMargin must be a Duration of at least 1000 ms`,
    '500 ms',
  ],
  [
    'maxConnectionAge 10 ms',
    withApp({ maxConnectionAge: Duration.millis(10) }),
    `GreeterApp 'bad': maxConnectionAge must be a Duration of at least 1000 ms`,
    '10 ms',
  ],
  [
    'shutdownGrace not a Duration',
    withApp({ shutdownGrace: notADuration }),
    `GreeterApp 'bad': shutdownGrace must be a Duration of at least 0 ms`,
    5000,
  ],
  // GrpcApp, the workload of any image: every prop it validates.
  [
    'GrpcApp name',
    withGrpcApp({ name: 'Payments_API' }),
    `GrpcApp 'bad': name must be a DNS-1123 label`,
    'Payments_API',
  ],
  ['GrpcApp port 0', withGrpcApp({ port: 0 }), `GrpcApp 'bad': port must be an integer from 1 to 65535`, 0],
  ['GrpcApp port 65536', withGrpcApp({ port: 65536 }), `GrpcApp 'bad': port must be an integer from 1 to 65535`, 65536],
  ['GrpcApp replicas 0', withGrpcApp({ replicas: 0 }), `GrpcApp 'bad': replicas must be an integer >= 1`, 0],
  [
    'GrpcApp image repository',
    withGrpcApp({ image: { repository: 'Payments', tag: '2.0.0' } }),
    `GrpcApp 'bad': image.repository must be an image repository`,
    'Payments',
  ],
  [
    'GrpcApp image tag',
    withGrpcApp({ image: { repository: 'payments', tag: '' } }),
    `GrpcApp 'bad': image.tag must be an image tag`,
    '',
  ],
  [
    'GrpcApp image pull policy',
    withGrpcApp({ image: { repository: 'payments', tag: '2.0.0', pullPolicy: 'Often' as 'Always' } }),
    `GrpcApp 'bad': image.pullPolicy must be one of "Always", "IfNotPresent", "Never"`,
    'Often',
  ],
  [
    'GrpcApp resources',
    withGrpcApp({ resources: { requests: { cpu: '1', memory: 'lots' }, limits: { cpu: '1', memory: '1Gi' } } }),
    `GrpcApp 'bad': resources.requests.memory must be a Kubernetes quantity`,
    'lots',
  ],
  ['GrpcApp runAsUser 0 (root)', withGrpcApp({ runAsUser: 0 }), `GrpcApp 'bad': runAsUser must be an integer >= 1`, 0],
  ['GrpcApp runAsUser 1.5', withGrpcApp({ runAsUser: 1.5 }), `GrpcApp 'bad': runAsUser must be an integer >= 1`, 1.5],
  [
    'GrpcApp containerName',
    withGrpcApp({ containerName: 'Server' }),
    `GrpcApp 'bad': containerName must be a DNS-1123 label`,
    'Server',
  ],
  [
    'GrpcApp drainTime not a Duration',
    withGrpcApp({ drainTime: notADuration }),
    `GrpcApp 'bad': drainTime must be a Duration of at least 0 ms`,
    5000,
  ],
  [
    'GrpcApp drainDelay not whole seconds',
    withGrpcApp({ drainDelay: Duration.millis(1500) }),
    `GrpcApp 'bad': drainDelay must be whole seconds (a preStop sleep counts seconds)`,
    '1500 ms',
  ],
  [
    'GrpcApp drainDelay not a Duration',
    withGrpcApp({ drainDelay: notADuration }),
    `GrpcApp 'bad': drainDelay must be a Duration of at least 0 ms`,
    5000,
  ],
  [
    'GrpcApp terminationMargin 999 ms',
    withGrpcApp({ terminationMargin: Duration.millis(999) }),
    `GrpcApp 'bad': terminationMargin must be a Duration of at least 1000 ms`,
    '999 ms',
  ],
  ['GrpcApp version', withGrpcApp({ version: '2.0' }), `GrpcApp 'bad': version must be a DNS-1123 label`, '2.0'],
  [
    'GrpcApp label app',
    withGrpcApp({ labels: { app: 'other' } }),
    `GrpcApp 'bad': labels.app must be unset: the construct sets it`,
    'other',
  ],
  [
    'GrpcApp label app.kubernetes.io/name',
    withGrpcApp({ labels: { team: 'billing', 'app.kubernetes.io/name': 'other' } }),
    `GrpcApp 'bad': labels.app.kubernetes.io/name must be unset: the construct sets it`,
    'other',
  ],
  [
    'GrpcApp label version',
    withGrpcApp({ labels: { version: 'v2' } }),
    `GrpcApp 'bad': labels.version must be unset: the construct sets it`,
    'v2',
  ],
  [
    'GrpcApp label key',
    withGrpcApp({ labels: { 'team name': 'billing' } }),
    `GrpcApp 'bad': labels key must be a Kubernetes qualified name`,
    'team name',
  ],
  [
    'GrpcApp label value',
    withGrpcApp({ labels: { team: 'billing team' } }),
    `GrpcApp 'bad': labels.team must be a label value`,
    'billing team',
  ],
  [
    'GrpcApp env name',
    withGrpcApp({ env: [{ name: '1CURRENCY', value: 'EUR' }] }),
    `GrpcApp 'bad': env[0].name must be an environment variable name`,
    '1CURRENCY',
  ],
  [
    'GrpcApp maxConnectionAge',
    withGrpcApp({ maxConnectionAge: Duration.millis(10) }),
    `GrpcApp 'bad': maxConnectionAge must be a Duration of at least 1000 ms`,
    '10 ms',
  ],
  [
    'GrpcApp istioProxyless without Istio',
    withGrpcApp({ istioProxyless: true }),
    `GrpcApp 'bad': istioProxyless must be false: namespace "payments" has no Istio injection`,
    true,
  ],
  [
    'IstioIlbGateway loadBalancerAnnotations key',
    withGateway({ loadBalancerAnnotations: { 'bad key': 'x' } }),
    `IstioIlbGateway 'bad': loadBalancerAnnotations key must be a Kubernetes qualified name`,
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
    `IstioIlbGateway 'bad': host must be a fully qualified lower-case host name`,
    'not a host',
  ],
  [
    'host "localhost"',
    withGateway({ host: 'localhost' }),
    `IstioIlbGateway 'bad': host must be a fully qualified lower-case host name`,
    'localhost',
  ],
  [
    'host with a port',
    withGateway({ host: 'grpc.example.com:443' }),
    `IstioIlbGateway 'bad': host must be a fully qualified lower-case host name`,
    'grpc.example.com:443',
  ],
  [
    'TLS without a secret name',
    withGateway({ tlsSecretName: '' }),
    `IstioIlbGateway 'bad': tlsSecretName must be the name of the kubernetes.io/tls Secret for "grpc.example.com"`,
    '',
  ],
  [
    'TLS secret name with a slash',
    withGateway({ tlsSecretName: 'istio-system/tls' }),
    `IstioIlbGateway 'bad': tlsSecretName must be a DNS-1123 subdomain`,
    'istio-system/tls',
  ],
  [
    'gateway port 65536',
    withGateway({ port: 65536 }),
    `IstioIlbGateway 'bad': port must be an integer from 1 to 65535`,
    65536,
  ],
  ['gateway replicas -1', withGateway({ replicas: -1 }), `IstioIlbGateway 'bad': replicas must be an integer >= 1`, -1],
  ['gateway name', withGateway({ name: 'Gateway' }), `IstioIlbGateway 'bad': name must be a DNS-1123 label`, 'Gateway'],
  [
    'gateway resources',
    withGateway({ resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: 'two', memory: '1Gi' } } }),
    `IstioIlbGateway 'bad': resources.limits.cpu must be a Kubernetes quantity`,
    'two',
  ],
  [
    'route name',
    withRoutes({ name: 'greeter.routes' }),
    `GrpcVirtualService 'bad': name must be a DNS-1123 label`,
    'greeter.routes',
  ],
  [
    'DestinationRule algorithm',
    withRoutes({ loadBalancingAlgorithm: 'FASTEST' as 'RANDOM' }),
    `GrpcVirtualService 'bad': loadBalancingAlgorithm must be one of "ROUND_ROBIN", "LEAST_REQUEST", "LEAST_CONN", "RANDOM", "PASSTHROUGH"`,
    'FASTEST',
  ],
  [
    'retry condition',
    withRoutes({ retries: { retryOn: ['unavailable', 'sometimes' as 'reset'] } }),
    `GrpcVirtualService 'bad': retries.retryOn[1] must be one of`,
    'sometimes',
  ],
  [
    'no retry conditions',
    withRoutes({ retries: { retryOn: [] } }),
    `GrpcVirtualService 'bad': retries.retryOn must be a non-empty list`,
    [],
  ],
  [
    'retry attempts 11',
    withRoutes({ retries: { attempts: 11 } }),
    `GrpcVirtualService 'bad': retries.attempts must be an integer from 0 to 10`,
    11,
  ],
  [
    'retry per-try timeout 0',
    withRoutes({ retries: { perTryTimeout: Duration.millis(0) } }),
    `GrpcVirtualService 'bad': retries.perTryTimeout must be a Duration of at least 1 ms`,
    '0 ms',
  ],
  [
    'maxConcurrentRequests 0',
    withRoutes({ maxConcurrentRequests: 0 }),
    `GrpcVirtualService 'bad': maxConcurrentRequests must be an integer >= 1`,
    0,
  ],
  [
    'consecutiveErrorsToEject 0',
    withRoutes({ consecutiveErrorsToEject: 0 }),
    `GrpcVirtualService 'bad': consecutiveErrorsToEject must be an integer >= 1`,
    0,
  ],
  [
    'namespace name',
    () => new AppNamespace(Testing.chart(), 'bad', { name: 'Testing' }),
    `AppNamespace 'bad': name must be a DNS-1123 label`,
    'Testing',
  ],
  [
    'namespace mesh',
    () => new AppNamespace(Testing.chart(), 'bad', { name: 'testing', mesh: 'consul' as 'none' }),
    `AppNamespace 'bad': mesh must be one of "istio", "linkerd", "none"`,
    'consul',
  ],
  [
    'namespace Pod Security level',
    () =>
      new AppNamespace(Testing.chart(), 'bad', { name: 'testing', podSecurity: { enforce: 'strict' as 'restricted' } }),
    `AppNamespace 'bad': podSecurity.enforce must be one of "privileged", "baseline", "restricted"`,
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
    `GreeterClient 'bad': summaryEvery must be an integer >= 0`,
    -5,
  ],
  [
    'client name',
    withClient({ name: 'Greeter_Client' }),
    `GreeterClient 'bad': name must be a DNS-1123 label`,
    'Greeter_Client',
  ],
  [
    'client image',
    withClient({ image: { repository: 'greeter-client', tag: 'a b' } }),
    `GreeterClient 'bad': image.tag must be an image tag`,
    'a b',
  ],
  [
    'client interval',
    withClient({ interval: notADuration }),
    `GreeterClient 'bad': interval must be a Duration of at least 0 ms`,
    5000,
  ],
  [
    'client maxAttempts 6 (gRFC A6 caps it at 5)',
    withClient({ maxAttempts: 6 }),
    `GreeterClient 'bad': maxAttempts must be an integer from 1 to 5`,
    6,
  ],
  [
    'client minTimeBetweenResolutions',
    withClient({ minTimeBetweenResolutions: notADuration }),
    `GreeterClient 'bad': minTimeBetweenResolutions must be a Duration of at least 0 ms`,
    5000,
  ],
  [
    'client resources',
    withClient({ resources: { requests: { cpu: '20m', memory: '64MB' }, limits: { cpu: '200m', memory: '128Mi' } } }),
    `GreeterClient 'bad': resources.requests.memory must be a Kubernetes quantity`,
    '64MB',
  ],
  [
    'no allowed callers',
    () => {
      const { chart, app } = fixture();
      new MeshAccessPolicy(chart, 'bad', { backend: app, allowedCallers: [] });
    },
    `MeshAccessPolicy 'bad': allowedCallers must be at least one mesh identity`,
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
    `MeshAccessPolicy 'bad': trustDomain must be a fully qualified lower-case host name`,
    'Cluster Local',
  ],
  // A backend rendered elsewhere without a pod selector: the constructs that select pods say which prop is missing.
  [
    'access policy for a backend without a pod selector',
    () => {
      const { chart, gateway } = fixture();
      new MeshAccessPolicy(chart, 'bad', {
        backend: GrpcBackend.fromService({ name: 'payments', namespace: payments, port: 9090 }),
        allowedCallers: [gateway.identity],
      });
    },
    `MeshAccessPolicy 'bad': backend.selectorLabels must be known (the AuthorizationPolicy selects the pods): pass selectorLabels to GrpcBackend.fromService`,
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
    `HeadlessGrpcService 'bad': backend.selectorLabels must be known (the headless Service selects the pods): pass selectorLabels to GrpcBackend.fromService`,
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
    `SelfSignedCertificate 'bad': renewBefore must be shorter than duration (24h)`,
    '48h',
  ],
  [
    'certificate duration under an hour',
    () => {
      const { chart, gateway } = fixture();
      new SelfSignedCertificate(chart, 'bad', { endpoint: gateway, duration: Duration.minutes(30) });
    },
    `SelfSignedCertificate 'bad': duration must be a Duration of at least 3600000 ms`,
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
    `EnvoyGatewayGrpcPolicy 'bad': loadBalancing must be one of "RoundRobin", "LeastRequest", "Random"`,
    'ConsistentHash',
  ],
  [
    'envoy gateway retry attempts',
    withEnvoyGatewayPolicy({ retries: { attempts: 11 } }),
    `EnvoyGatewayGrpcPolicy 'bad': retries.attempts must be an integer from 0 to 10`,
    11,
  ],
  [
    'envoy gateway consecutive errors',
    withEnvoyGatewayPolicy({ consecutiveErrorsToEject: 0 }),
    `EnvoyGatewayGrpcPolicy 'bad': consecutiveErrorsToEject must be an integer >= 1`,
    0,
  ],
  [
    'envoy gateway name',
    withEnvoyGatewayPolicy({ name: 'Greeter Policy' }),
    `EnvoyGatewayGrpcPolicy 'bad': name must be a DNS-1123 subdomain`,
    'Greeter Policy',
  ],
);
badCases.push(
  [
    'ingress host',
    withIngress({ host: 'grpc_example.com' }),
    `NginxGrpcIngress 'bad': host must be a fully qualified lower-case host name`,
    'grpc_example.com',
  ],
  [
    'ingress class',
    withIngress({ ingressClassName: 'Nginx' }),
    `NginxGrpcIngress 'bad': ingressClassName must be a DNS-1123 subdomain`,
    'Nginx',
  ],
  [
    'ingress TLS secret',
    withIngress({ tlsSecretName: 'testing/grpc-tls' }),
    `NginxGrpcIngress 'bad': tlsSecretName must be a DNS-1123 subdomain`,
    'testing/grpc-tls',
  ],
  [
    'ingress name',
    withIngress({ name: 'Greeter' }),
    `NginxGrpcIngress 'bad': name must be a DNS-1123 subdomain`,
    'Greeter',
  ],
  [
    'ingress controller name',
    withIngress({ controller: { name: 'ingress.nginx', namespace: existingNamespace('ingress-nginx'), port: 443 } }),
    `NginxGrpcIngress 'bad': controller.name must be a DNS-1123 label`,
    'ingress.nginx',
  ],
  [
    'ingress controller port',
    withIngress({
      controller: { name: 'ingress-nginx-controller', namespace: existingNamespace('ingress-nginx'), port: 0 },
    }),
    `NginxGrpcIngress 'bad': controller.port must be an integer from 1 to 65535`,
    0,
  ],
  [
    'linkerd retry condition',
    withLinkerd({ retryOn: ['unavailable', 'aborted' as 'internal'] }),
    `LinkerdGrpcPolicy 'bad': retryOn[1] must be one of "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"`,
    'aborted',
  ],
  [
    'linkerd no retry conditions',
    withLinkerd({ retryOn: [] }),
    `LinkerdGrpcPolicy 'bad': retryOn must be a non-empty list`,
    [],
  ],
  [
    'linkerd retry limit 0',
    withLinkerd({ retryLimit: 0 }),
    `LinkerdGrpcPolicy 'bad': retryLimit must be an integer from 1 to 10`,
    0,
  ],
  [
    'linkerd request timeout below per-try',
    withLinkerd({ perTryTimeout: Duration.seconds(5), requestTimeout: Duration.seconds(1) }),
    `LinkerdGrpcPolicy 'bad': requestTimeout must be at least perTryTimeout (5000 ms)`,
    '1000 ms',
  ],
  [
    'linkerd per-try timeout 0',
    withLinkerd({ perTryTimeout: Duration.millis(0) }),
    `LinkerdGrpcPolicy 'bad': perTryTimeout must be a Duration of at least 1 ms`,
    '0 ms',
  ],
  [
    'linkerd route name',
    withLinkerd({ name: 'Greeter Route' }),
    `LinkerdGrpcPolicy 'bad': name must be a DNS-1123 subdomain`,
    'Greeter Route',
  ],
  [
    'headless without connection aging',
    () => {
      const { chart, app } = fixture();
      new HeadlessGrpcService(chart, 'bad', { backend: app });
    },
    `HeadlessGrpcService 'bad': backend.maxConnectionAgeMs must be set, so that clients re-resolve DNS`,
    undefined,
  ],
  [
    'headless name',
    () => {
      const chart = Testing.chart();
      const app = new GreeterApp(chart, 'greeter', {
        namespace: existingNamespace('testing'),
        image,
        maxConnectionAge: Duration.seconds(30),
      });
      new HeadlessGrpcService(chart, 'bad', { backend: app, name: 'greeter.headless' });
    },
    `HeadlessGrpcService 'bad': name must be a DNS-1123 label`,
    'greeter.headless',
  ],
  [
    'headless resolving less often than the connections age',
    () => {
      const chart = Testing.chart();
      const app = new GreeterApp(chart, 'greeter', {
        namespace: existingNamespace('testing'),
        image,
        maxConnectionAge: Duration.seconds(10),
      });
      new HeadlessGrpcService(chart, 'bad', { backend: app, minTimeBetweenResolutions: Duration.seconds(30) });
    },
    `HeadlessGrpcService 'bad': minTimeBetweenResolutions must be at most the backend's max connection age (10000 ms), so that each age makes clients resolve again`,
    '30000 ms',
  ],
  [
    'headless maxAttempts 0',
    () => {
      const chart = Testing.chart();
      const app = new GreeterApp(chart, 'greeter', {
        namespace: existingNamespace('testing'),
        image,
        maxConnectionAge: Duration.seconds(10),
      });
      new HeadlessGrpcService(chart, 'bad', { backend: app, maxAttempts: 0 });
    },
    `HeadlessGrpcService 'bad': maxAttempts must be an integer from 1 to 5`,
    0,
  ],
  [
    'endpoint reader maxAttempts 6',
    () => {
      const { chart, app } = fixture();
      new EndpointSliceReader(chart, 'bad', { backend: app, maxAttempts: 6 });
    },
    `EndpointSliceReader 'bad': maxAttempts must be an integer from 1 to 5`,
    6,
  ],
  [
    'endpoint reader name',
    () => {
      const { chart, app } = fixture();
      new EndpointSliceReader(chart, 'bad', { backend: app, name: 'Reader' });
    },
    `EndpointSliceReader 'bad': name must be a DNS-1123 subdomain`,
    'Reader',
  ],
  [
    'certificate for a plaintext endpoint',
    () => {
      const { chart, app } = fixture();
      new SelfSignedCertificate(chart, 'bad', { endpoint: app });
    },
    `SelfSignedCertificate 'bad': endpoint.tls must be the TLS of an endpoint that terminates it`,
    undefined,
  ],
  [
    'Argo CD repoURL',
    withArgoCd({ repoURL: 'github.com/example-org/grpc-k8s-lb' }),
    `ArgoCdApplication 'bad': repoURL must be a git URL`,
    'github.com/example-org/grpc-k8s-lb',
  ],
  [
    'Argo CD path escaping the repo',
    withArgoCd({ path: '../other/dist' }),
    `ArgoCdApplication 'bad': path must be a relative directory in the repository`,
    '../other/dist',
  ],
  [
    'Argo CD absolute path',
    withArgoCd({ path: '/dist/gke' }),
    `ArgoCdApplication 'bad': path must be a relative directory in the repository`,
    '/dist/gke',
  ],
  [
    'Argo CD revision',
    withArgoCd({ targetRevision: '' }),
    `ArgoCdApplication 'bad': targetRevision must be a branch, tag or commit`,
    '',
  ],
  [
    'Argo CD server',
    withArgoCd({ destinationServer: 'http://kubernetes.default.svc' }),
    `ArgoCdApplication 'bad': destinationServer must be an https:// API server URL`,
    'http://kubernetes.default.svc',
  ],
  [
    'Argo CD prune without automated',
    withArgoCd({ syncPolicy: { automated: false, prune: true } }),
    `ArgoCdApplication 'bad': syncPolicy must be automated where prune or selfHeal is set`,
    { automated: false, prune: true },
  ],
  ['Argo CD sync wave', withArgoCd({ syncWave: 1.5 }), `ArgoCdApplication 'bad': syncWave must be an integer`, 1.5],
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
    `GrpcGateway 'bad': gatewayClassName must be a DNS-1123 subdomain`,
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
    `GrpcRoute 'bad': grpcServices[0] must be a fully qualified gRPC service name`,
    'hello world',
  ],
  [
    'ESPv2 service name',
    () => {
      const { chart, app } = fixture();
      new CloudEndpointsProxy(chart, 'bad', { app, endpointsServiceName: 'greeter', apis: ['helloworld.Greeter'] });
    },
    `CloudEndpointsProxy 'bad': endpointsServiceName must be a fully qualified lower-case host name`,
    'greeter',
  ],
);

test.each(badCases)('bad prop: %s', (_label, build, subject, value) => {
  expect(build).toThrow(subject);
  expect(build).toThrow(`, got ${JSON.stringify(value)}`);
});

test('the table covers every construct, and every other class or function, the library exports', () => {
  const exported = Object.entries(lib).flatMap(([name, value]) =>
    typeof value === 'function' ? [[name, value] as const] : [],
  );
  const constructs = exported.filter(([, value]) => value.prototype instanceof Construct).map(([name]) => name);
  // `GrpcBackend.fromService 'x'` covers GrpcBackend, the class whose one entry point it is.
  const covered = new Set(badCases.map(([, , subject]) => subject.split(' ')[0].split('.')[0]));
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
    'endpoints.serviceName',
    { ...base, endpoints: { serviceName: 'greeter' } },
    'endpoints.serviceName must be a fully qualified lower-case host name',
    'greeter',
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
