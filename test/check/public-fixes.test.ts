/**
 * The checker's reading of what the public corpus (public-corpus.test.ts) showed it got wrong: an NGINX Ingress
 * Controller VirtualServer and a removed pre-v1 HTTPRoute are L7 routes that balance each call, pods opting out of the
 * Istio sidecar are called by sidecars, and a Service selecting nothing under --partial may have pods made elsewhere.
 */
import { NO_VALIDATION, runJson } from './run';

const GRPC_BACKEND = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: greeter, namespace: shop }
spec:
  replicas: 3
  selector: { matchLabels: { app: greeter } }
  template:
    metadata: { labels: { app: greeter%POD_LABELS% } }
    spec:
      containers:
        - name: greeter
          image: example.com/greeter:1
          ports: [{ name: grpc, containerPort: 50051 }]
          readinessProbe: { grpc: { port: 50051 } }
---
apiVersion: v1
kind: Service
metadata: { name: greeter, namespace: shop }
spec:
  selector: { app: greeter }
  ports: [{ name: grpc, port: 50051, targetPort: grpc }]
`;
const backend = (podLabels = '') => GRPC_BACKEND.replace('%POD_LABELS%', podLabels);

const check = async (yaml: string, options: string[] = []) =>
  (await runJson([...options, '-'], { stdin: [yaml], validate: NO_VALIDATION })).findings.map(
    (f) => `${f.severity} ${f.rule} on ${f.object.kind} ${f.object.name}: ${f.message}`,
  );

const virtualServer = (upstream: string) => `
---
apiVersion: k8s.nginx.org/v1
kind: VirtualServer
metadata: { name: greeter, namespace: shop }
spec:
  host: greeter.example.com
  upstreams: [{ name: grpc, service: greeter, port: 50051, type: grpc${upstream} }]
  routes: [{ path: /helloworld.Greeter, action: { pass: grpc } }]
`;

describe('an NGINX Ingress Controller VirtualServer', () => {
  test('in front of a gRPC Service balances each call: no ClusterIP finding', async () => {
    expect(await check(backend() + virtualServer(''))).toEqual([]);
  });

  test('with use-cluster-ip: true goes through the ClusterIP: the finding stays', async () => {
    expect(await check(backend() + virtualServer(', use-cluster-ip: true'))).toEqual([
      expect.stringMatching(/^warning grpc-clusterip-single-pod on Service greeter: /),
    ]);
  });

  test('naming a Service the input lacks is route-unknown-service', async () => {
    expect(await check(virtualServer(''))).toEqual([
      expect.stringContaining('error route-unknown-service on VirtualServer greeter: names Service shop/greeter'),
    ]);
  });
});

test('a removed pre-v1 HTTPRoute (forwardTo) is reported as removed, and still routes: no ClusterIP finding', async () => {
  const route = `
---
apiVersion: networking.x-k8s.io/v1alpha1
kind: HTTPRoute
metadata: { name: greeter, namespace: shop }
spec:
  rules: [{ forwardTo: [{ serviceName: greeter, port: 50051 }] }]
`;
  expect(await check(backend() + route)).toEqual([expect.stringMatching(/^error removed-api on HTTPRoute greeter: /)]);
});

describe('pods that opt out of the Istio sidecar', () => {
  test('are called by sidecars that balance each call: no ClusterIP finding without callers', async () => {
    expect(await check(backend(', sidecar.istio.io/inject: "false"'))).toEqual([]);
  });

  test('without the opt-out, the finding stays', async () => {
    expect(await check(backend())).toEqual([
      expect.stringMatching(/^warning grpc-clusterip-single-pod on Service greeter: /),
    ]);
  });
});

describe('a Service whose selector matches no pod template', () => {
  const lonely = `
apiVersion: v1
kind: Service
metadata: { name: sidecar, namespace: shop }
spec:
  selector: { app: prometheus }
  ports: [{ name: grpc, port: 10901 }]
`;
  test('under --partial, says pods made outside the input may carry the labels', async () => {
    expect(await check(lonely, ['--partial'])).toEqual([
      'warning service-selects-nothing on Service sidecar: selector app=prometheus matches no pod template in namespace shop of the input: unless pods made outside the input (by an operator, another release) carry those labels, the Service has no endpoints',
    ]);
  });

  test('on a whole input, has no endpoints', async () => {
    expect(await check(lonely)).toEqual([
      'error service-selects-nothing on Service sidecar: selector app=prometheus matches no pod template in namespace shop of the input: the Service has no endpoints',
    ]);
  });
});

describe('a port known only by an HTTP/2 appProtocol', () => {
  const h2c = (appProtocol: string) =>
    GRPC_BACKEND.replace('%POD_LABELS%', '')
      .replace('ports: [{ name: grpc, containerPort: 50051 }]', 'ports: [{ name: web, containerPort: 50051 }]')
      .replace('readinessProbe: { grpc: { port: 50051 } }', 'env: []')
      .replace(
        'ports: [{ name: grpc, port: 50051, targetPort: grpc }]',
        `ports: [{ name: web, port: 50051, appProtocol: ${appProtocol} }]`,
      );

  test('is said to carry HTTP/2, not gRPC: the clients multiplex all the same', async () => {
    expect(await check(h2c('kubernetes.io/h2c'))).toEqual([
      'warning grpc-no-readiness-probe on Deployment greeter: container greeter of Deployment shop/greeter serves HTTP/2 (port 50051) and has no readiness probe',
      expect.stringMatching(
        /^warning grpc-clusterip-single-pod on Service greeter: port web carries HTTP\/2 \(appProtocol "kubernetes.io\/h2c"\) behind a ClusterIP/,
      ),
    ]);
  });

  test('is gRPC when its name says so, whatever else the appProtocol says', async () => {
    const named = h2c('tcp').replace('ports: [{ name: web, port: 50051,', 'ports: [{ name: grpc, port: 50051,');
    expect((await check(named)).find((f) => f.includes('grpc-clusterip-single-pod'))).toMatch(
      /port grpc carries gRPC \(port name "grpc"\) behind a ClusterIP/,
    );
  });

  test('is gRPC when the appProtocol says so', async () => {
    expect(await check(h2c('grpc'))).toEqual([
      'warning grpc-no-readiness-probe on Deployment greeter: container greeter of Deployment shop/greeter serves gRPC (port 50051) and has no readiness probe',
      expect.stringMatching(
        /^warning grpc-clusterip-single-pod on Service greeter: port web carries gRPC \(appProtocol "grpc"\)/,
      ),
    ]);
  });
});
