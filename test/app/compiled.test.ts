/**
 * What the images run: `npm run build:app` compiles app/ to build/, and `node build/server.js` and
 * `node build/client.js` work with protos/ one level up, the same layout as /srv in the Dockerfile.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { acquirePackLock } from '../../harness/packages';
import { ROOT } from '../../harness/processes';

// The client runs from resolver/build, which packing the resolver (test/package/resolver.test.ts) rebuilds and deletes.
let releasePackLock: () => void;
beforeAll(async () => {
  releasePackLock = await acquirePackLock();
}, 300_000); // a pack under way may take minutes on a busy machine
afterAll(() => releasePackLock?.());

test('the compiled server and client (the image entrypoints) talk to each other', async () => {
  execFileSync('npm', ['run', '--silent', 'build:app'], { cwd: ROOT, stdio: 'pipe' });
  const server = spawn(process.execPath, [path.join(ROOT, 'build', 'server.js')], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', POD_NAME: 'greeter-compiled' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => server.once('exit', resolve));
  try {
    const listening = await new Promise<{ port: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('compiled server did not start within 15 s')), 15_000);
      readline.createInterface({ input: server.stdout! }).on('line', (line) => {
        if (line.includes('"msg":"listening"')) {
          clearTimeout(timer);
          resolve(JSON.parse(line));
        }
      });
    });
    const output = execFileSync(
      process.execPath,
      [
        path.join(ROOT, 'build', 'client.js'),
        '--target',
        `127.0.0.1:${listening.port}`,
        '--count',
        '1',
        '--name',
        'image',
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 15_000 },
    );
    expect(output).toMatch(/ Hello image from greeter-compiled\n/);
  } finally {
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
  }
});
