/** dist/ is what kubectl and Argo CD read from git: it must be exactly what `npm run synth` writes now. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { synthesize } from '../main';
import { filesUnder } from '../harness/manifests';
import { ROOT, startProcess } from '../harness/processes';

const DIST = path.resolve(__dirname, '..', 'dist');

test('the committed dist/ matches a fresh synth byte for byte (run `npm run synth` and commit if not)', () => {
  const fresh = mkdtempSync(path.join(tmpdir(), 'synth-'));
  try {
    synthesize(fresh);
    expect(filesUnder(DIST)).toEqual(filesUnder(fresh));
    for (const file of filesUnder(fresh)) {
      expect({ file, content: readFileSync(path.join(DIST, file), 'utf8') }).toEqual({
        file,
        content: readFileSync(path.join(fresh, file), 'utf8'),
      });
    }
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
});

test('synth is deterministic: two runs write identical files', () => {
  const [a, b] = [mkdtempSync(path.join(tmpdir(), 'synth-a-')), mkdtempSync(path.join(tmpdir(), 'synth-b-'))];
  try {
    synthesize(a);
    synthesize(b);
    expect(filesUnder(a)).toEqual(filesUnder(b));
    for (const file of filesUnder(a))
      expect(readFileSync(path.join(a, file), 'utf8')).toBe(readFileSync(path.join(b, file), 'utf8'));
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});

test('`npx cdk8s synth` (cdk8s.yaml) writes the same files as `npm run synth`', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'cdk8s-cli-'));
  try {
    const cli = startProcess(path.join(ROOT, 'node_modules', '.bin', 'cdk8s'), [
      'synth',
      '--output',
      out,
      '--no-check-upgrade',
    ]);
    expect({ exit: await cli.exited, stderr: cli.stderr.filter((line) => /error/i.test(line)) }).toEqual({
      exit: 0,
      stderr: [],
    });
    expect(filesUnder(out)).toEqual(filesUnder(DIST));
    for (const file of filesUnder(out))
      expect(readFileSync(path.join(out, file), 'utf8')).toBe(readFileSync(path.join(DIST, file), 'utf8'));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
