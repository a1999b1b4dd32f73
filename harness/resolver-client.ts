/**
 * A client of the kubernetes:/// resolver as a grpc-js user writes one, for the resolver's tests: the package's
 * registerKubernetesResolver(), then one channel to TARGET with round_robin and grpc-js's defaults otherwise (none of
 * the greeter client's retries or settings), calling SayHello one call after another. It writes one JSON line per call,
 * `{"ok":true,"pod":"greeter-a","ms":3}` or `{"ok":false,"code":"UNAVAILABLE","details":"…","ms":2}`.
 * On SIGTERM it stops calling, closes the client, writes `{"closed":true}` and returns without process.exit, so the
 * process ends only if closing the channel left no socket or timer behind (a watch still open would keep it alive).
 * A process of its own because @kubernetes/client-node is ESM-only: Node 20 requires it, jest's module loader cannot.
 */
import * as grpc from '@grpc/grpc-js';
import { registerKubernetesResolver } from 'grpc-js-kubernetes-resolver';
import { GreeterClient } from '../app/proto';

const target = process.env.TARGET;
if (!target) throw new Error('resolver-client: set TARGET');
const intervalMs = Number(process.env.INTERVAL_MS ?? '20');
const deadlineMs = Number(process.env.DEADLINE_MS ?? '5000');

registerKubernetesResolver();
const client = new GreeterClient(target, grpc.credentials.createInsecure(), {
  'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
});
let stopping = false;
process.once('SIGTERM', () => (stopping = true));

function call(): Promise<void> {
  const started = Date.now();
  return new Promise((resolve) => {
    let pod = 'unknown';
    const unary = client.SayHello(
      { name: 'probe' },
      new grpc.Metadata(),
      { deadline: started + deadlineMs },
      (error) => {
        const ms = Date.now() - started;
        const line = error
          ? { ok: false, code: grpc.status[error.code], details: error.details, ms }
          : { ok: true, pod, ms };
        process.stdout.write(JSON.stringify(line) + '\n');
        resolve();
      },
    );
    // The greeter names its pod in the `hostname` response header.
    unary.on('metadata', (metadata: grpc.Metadata) => (pod = String(metadata.get('hostname')[0] ?? pod)));
  });
}

async function run(): Promise<void> {
  while (!stopping) {
    await call();
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  client.close();
  process.stdout.write(JSON.stringify({ closed: true }) + '\n');
}

void run();
