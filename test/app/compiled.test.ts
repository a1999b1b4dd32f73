/**
 * What the images run: `npm run build:app` compiles app/ to build/, and `node build/server.js` and
 * `node build/client.js` work with protos/ one level up, the same layout as /srv in the Dockerfile.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { acquirePackLock } from '../../harness/packages';
import { ROOT, listeningPort, startProcess, stopProcess } from '../../harness/processes';
import { HANG_MS } from '../../harness/wait';

// The client runs from resolver/build, which packing the resolver (test/package/resolver.test.ts) rebuilds and deletes.
let releasePackLock: () => void;
beforeAll(async () => {
  releasePackLock = await acquirePackLock();
}, 300_000); // a pack under way may take minutes on a busy machine
afterAll(() => releasePackLock?.());

test('the compiled server and client (the image entrypoints) talk to each other', async () => {
  execFileSync('npm', ['run', '--silent', 'build:app'], { cwd: ROOT, stdio: 'pipe' });
  const server = startProcess(process.execPath, [path.join(ROOT, 'build', 'server.js')], {
    env: { HOST: '127.0.0.1', PORT: '0', POD_NAME: 'greeter-compiled' },
  });
  try {
    const port = await listeningPort(server);
    const output = execFileSync(
      process.execPath,
      [path.join(ROOT, 'build', 'client.js'), '--target', `127.0.0.1:${port}`, '--count', '1', '--name', 'image'],
      { cwd: ROOT, encoding: 'utf8', timeout: HANG_MS },
    );
    expect(output).toMatch(/ Hello image from greeter-compiled\n/);
  } finally {
    expect(await stopProcess(server)).toBe(0);
  }
});
