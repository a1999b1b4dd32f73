/**
 * One attack from harness/abuse.ts in a process of its own, so that its work does not slow the real calls that
 * bench/abuse.ts measures beside it. Prints READY once it is under way, runs until the attack is done or SIGTERM,
 * then prints its report as one JSON line and exits 0.
 *
 *   node -r ts-node/register bench/attacker.ts <port> <attack> '<options as JSON>'
 */
import {
  dripAttack,
  failedConnections,
  heldStreams,
  idleConnections,
  reflectionZeroWindow,
  windowUpdateFlood,
  type Attack,
} from '../harness/abuse';

/** The line printed once the attack is under way. */
export const READY = 'attacking';

/** Every attack by name, and idle connections as one too. */
export const ATTACKS = {
  drip: dripAttack,
  'window-update-flood': windowUpdateFlood,
  'reflection-zero-window': reflectionZeroWindow,
  'held-streams': heldStreams,
  'failed-connections': failedConnections,
  idle: async (port: number, options: Parameters<typeof idleConnections>[1]): Promise<Attack> => {
    const idle = idleConnections(port, options);
    await idle.opened;
    return {
      ready: Promise.resolve(),
      done: new Promise(() => undefined), // idle until stopped
      async stop() {
        const report = {
          connections: options?.count ?? 0,
          bytesSent: 0,
          endedByServer: { closed: (options?.count ?? 0) - idle.open() },
          streamsReset: {},
          open: idle.open(),
        };
        idle.close();
        return report;
      },
    };
  },
} as const;
export type AttackName = keyof typeof ATTACKS;

async function main(): Promise<void> {
  const [port, name, options] = process.argv.slice(2);
  if (!(name in ATTACKS)) throw new Error(`unknown attack ${name}; one of ${Object.keys(ATTACKS).join(', ')}`);
  const attack = await ATTACKS[name as AttackName](Number(port), JSON.parse(options ?? '{}'));
  await attack.ready;
  // Connected and sending: the bench measures from here.
  process.stdout.write(`${READY}\n`);
  await Promise.race([attack.done, new Promise((resolve) => process.once('SIGTERM', resolve))]);
  process.stdout.write(`${JSON.stringify(await attack.stop())}\n`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`attacker failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
