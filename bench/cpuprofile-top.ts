/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. `npm run bench:server -- --node-arg=--cpu-prof
 * --node-arg=--cpu-prof-dir=/tmp/prof`): top functions and modules by self time, as % of busy (non-idle) time.
 *
 *   npx ts-node bench/cpuprofile-top.ts FILE.cpuprofile [TOP]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function moduleOf(url: string, functionName: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return url.replace(/^(node:(?:internal\/)?[^/]+(?:\/[^/]+)?).*$/, '$1');
  return url === '' ? functionName || '(native)' : url.replace(/^file:\/\//, '');
}

function main(argv: readonly string[]): number {
  const [file, topArg] = argv;
  if (!file) {
    process.stderr.write('usage: npx ts-node bench/cpuprofile-top.ts FILE.cpuprofile [TOP]\n');
    return 2;
  }
  const top = Number(topArg ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const frame = byId.get(id)!.callFrame;
    total += dt;
    if (frame.functionName === '(idle)') {
      idle += dt;
      return;
    }
    const where = frame.url
      ? ` ${frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\//, '')}:${frame.lineNumber + 1}`
      : '';
    const key = `${frame.functionName || '(anonymous)'}${where}`;
    functions.set(key, (functions.get(key) ?? 0) + dt);
    const mod = moduleOf(frame.url, frame.functionName);
    modules.set(mod, (modules.get(mod) ?? 0) + dt);
  });
  const busy = total - idle;
  const print = (map: Map<string, number>, n: number): void => {
    for (const [key, t] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) {
      process.stdout.write(`${((100 * t) / busy).toFixed(1).padStart(5)}%  ${key}\n`);
    }
  };
  process.stdout.write(
    `${file}: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy (percentages are of busy time)\n`,
  );
  print(functions, top);
  process.stdout.write('--- by module\n');
  print(modules, 15);
  return 0;
}

process.exit(main(process.argv.slice(2)));
