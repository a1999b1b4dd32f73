/** The server as a real process: bad settings, and draining on SIGTERM with calls in flight. */
import * as http2 from 'node:http2';
import { clientSettings, runClient } from '../../app/client';
import { defaultSettings } from '../../app/config';
import {
  GRPC_REQUEST_HEADERS,
  openSayHello,
  parseSayHelloReply,
  sayHelloFrame,
  serverHasRead,
  writeOut,
} from '../../harness/raw-grpc';
import { startServerProcess, startTs, stopProcess, type RunningProcess } from '../../harness/processes';
import { HANG_MS, settles } from '../../harness/wait';

const started: RunningProcess[] = [];
afterAll(() => Promise.all(started.map((proc) => stopProcess(proc))));

describe('bad settings exit 2 with one line naming the setting and the value', () => {
  const cases: Array<[string, Record<string, string>, string[], string, string]> = [
    ['port that is not a number', { PORT: 'abc' }, [], 'PORT', 'abc'],
    ['port out of range, by flag', {}, ['--port', '70000'], '--port', '70000'],
    [
      'missing certificate file',
      { TLS_CERT_FILE: '/nonexistent/tls.crt' },
      [],
      'TLS_CERT_FILE',
      '/nonexistent/tls.crt',
    ],
    ['certificate without key', { TLS_CERT_FILE: __filename }, [], 'TLS_KEY_FILE', ''],
    ['negative connection age', { MAX_CONNECTION_AGE_MS: '-5' }, [], 'MAX_CONNECTION_AGE_MS', '-5'],
    ['grace that is not a duration', {}, ['--shutdown-grace-ms=soon'], '--shutdown-grace-ms', 'soon'],
    ['unknown flag', {}, ['--bogus'], 'argument', '--bogus'],
  ];
  test.each(cases)('%s', async (_what, env, args, setting, value) => {
    const proc = startTs('app/server.ts', args, { HOST: '127.0.0.1', PORT: '0', ...env });
    started.push(proc);
    expect(await proc.exited).toBe(2);
    expect(proc.stdout).toHaveLength(1);
    const line = JSON.parse(proc.stdout[0]);
    expect(line).toMatchObject({ level: 'error', setting, value });
    expect(line.msg).toContain(`${setting}=${JSON.stringify(value)}`);
  });
});

/**
 * A server process with one SayHello in flight: the request is half sent (3 of its bytes), so the server holds the
 * stream open until `finish` sends the rest. Resolves once the server has read those bytes.
 */
async function serverWithCallInFlight(pod: string, shutdownGraceMs: number, name: string) {
  const server = await startServerProcess(pod, { SHUTDOWN_GRACE_MS: String(shutdownGraceMs) });
  started.push(server);
  const session = http2.connect(`http://127.0.0.1:${server.port}`);
  session.on('error', () => undefined);
  const { stream, result } = openSayHello(session, HANG_MS);
  const frame = sayHelloFrame(name);
  await writeOut(stream, frame.subarray(0, 3));
  await serverHasRead(session);
  const response = result.then(({ grpcStatus, body }) => ({
    grpcStatus,
    reply: body.length > 0 ? parseSayHelloReply(body) : undefined,
  }));
  return { server, session, response, finish: () => stream.end(frame.subarray(3)) };
}

describe('SIGTERM drains', () => {
  test('a call in flight completes after SIGTERM, new calls are refused, and the server exits 0', async () => {
    const { server, ...inFlight } = await serverWithCallInFlight('greeter-drain', HANG_MS, 'in flight');

    server.child.kill('SIGTERM');
    await server.waitForLine(/"msg":"draining"/);
    // After GOAWAY the session takes no new stream.
    await expect(
      new Promise((resolve, reject) => {
        const late = inFlight.session.request(GRPC_REQUEST_HEADERS);
        late.on('error', reject);
        late.on('response', resolve);
      }),
    ).rejects.toThrow();

    inFlight.finish();
    await expect(inFlight.response).resolves.toEqual({ grpcStatus: '0', reply: 'Hello in flight from greeter-drain' });
    expect(await server.exited).toBe(0);
    expect(JSON.parse(server.stdout.at(-1)!)).toMatchObject({ msg: 'stopped', reason: 'SIGTERM', forced: false });
    inFlight.session.close();
  });

  test('a call still running when the grace period ends is cut off and the server still exits 0', async () => {
    const { server, ...stuck } = await serverWithCallInFlight('greeter-grace', 300, 'never finished');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(JSON.parse(server.stdout.at(-1)!)).toMatchObject({ msg: 'stopped', forced: true });
    await expect(stuck.response).resolves.not.toMatchObject({ grpcStatus: '0' });
    stuck.session.destroy();
  });

  test('a second signal while draining stops at once with 128 + the signal number', async () => {
    const { server, session } = await serverWithCallInFlight('greeter-impatient', HANG_MS, 'cut short');
    server.child.kill('SIGTERM');
    await server.waitForLine(/"msg":"draining"/);
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(130);
    expect(JSON.parse(server.stdout.at(-1)!)).toMatchObject({ level: 'warn', msg: 'stopping now', reason: 'SIGINT' });
    session.destroy();
  });

  test('SIGTERM to one of two servers under round_robin load loses no call', async () => {
    const servers = await Promise.all(['greeter-a', 'greeter-b'].map((pod) => startServerProcess(pod)));
    started.push(...servers);
    // Replies per pod as the client prints them (`… Hello x from <pod>`), and every failed call's line.
    const replies = new Map<string, number>();
    const failed: string[] = [];
    let onReply: () => void = () => undefined;
    const replied = (pod: string) => replies.get(pod) ?? 0;
    const until = (what: string, ready: () => boolean) =>
      settles(
        new Promise<void>((resolve) => {
          onReply = () => void (ready() && resolve());
          onReply();
        }),
        what,
      );
    const stop = new AbortController();
    const load = runClient(
      {
        ...defaultSettings(clientSettings),
        target: `ipv4:${servers.map((s) => `127.0.0.1:${s.port}`).join(',')}`,
        lb: 'round_robin',
        intervalMs: 0,
        concurrency: 20,
      },
      {
        info: (line) => {
          const pod = / from (\S+)$/.exec(line)?.[1];
          if (pod === undefined) return;
          replies.set(pod, replied(pod) + 1);
          onReply();
        },
        error: (line) => failed.push(line),
      },
      stop.signal,
    );
    try {
      await until('20 replies from each server', () => replied('greeter-a') >= 20 && replied('greeter-b') >= 20);
      servers[0].child.kill('SIGTERM');
      expect(await servers[0].exited).toBe(0);
      const fromB = replied('greeter-b');
      await until('200 more replies from greeter-b once greeter-a has gone', () => replied('greeter-b') >= fromB + 200);
    } finally {
      stop.abort();
    }
    const result = await load;
    expect(failed).toEqual([]);
    expect(result.failures).toBe(0);
    expect(result.byPod.get('greeter-a')).toBeGreaterThanOrEqual(20);
    expect(result.byPod.get('greeter-b')).toBeGreaterThanOrEqual(220);
  });
});
