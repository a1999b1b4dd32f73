/**
 * A greeter client process for the resolver tests, for where a test must see each call and how the client ends:
 * it dials TARGET through the client's own createGreeterClient with round_robin and writes one JSON line per call,
 * `{"ok":true,"pod":"greeter-a","ms":3}` or `{"ok":false,"code":"UNAVAILABLE","details":"…","ms":2}`.
 * On SIGTERM it stops calling, closes the client, writes `{"closed":true}` and returns without process.exit, so the
 * process ends only if closing the channel left no socket or timer behind (a watch still open would keep it alive).
 * A process of its own because @kubernetes/client-node is ESM-only: Node 20 requires it, jest's module loader cannot.
 */
import * as grpc from '@grpc/grpc-js';
import { createGreeterClient } from '../app/client';

const target = process.env.TARGET;
if (!target) throw new Error('resolver-client: set TARGET');
const intervalMs = Number(process.env.INTERVAL_MS ?? '20');
const deadlineMs = Number(process.env.DEADLINE_MS ?? '5000');

const client = createGreeterClient({
  target,
  tls: false,
  caFile: undefined,
  serverName: undefined,
  lb: 'round_robin',
  maxAttempts: 1,
  waitForReady: false,
  dnsMinTimeBetweenResolutionsMs: undefined,
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
