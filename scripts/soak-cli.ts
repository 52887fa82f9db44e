/**
 * `npm run soak -- [--seed N] [--ops N] [--seconds N] [--concurrency N] [--part-size BYTES]`:
 * runs the soak (scripts/soak.ts), prints its summary, and exits 1 with the seed to
 * reproduce when an invariant was violated.
 */
import {formatSoakReport, runSoak} from './soak.js';

const FLAGS = ['seed', 'ops', 'seconds', 'concurrency', 'part-size'] as const;

function parseArgs(argv: string[]): Record<(typeof FLAGS)[number], number | undefined> {
  const out: Record<string, number | undefined> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i].replace(/^--/, '');
    const value = argv[i + 1];
    if (!(FLAGS as readonly string[]).includes(flag) || value === undefined || !/^\d+$/.test(value)) {
      console.error(`soak: bad argument ${argv[i]} ${value ?? ''}; usage: npm run soak -- [--seed N] [--ops N] [--seconds N] [--concurrency N] [--part-size BYTES]`);
      process.exit(2);
    }
    out[flag] = Number(value);
  }
  return out as Record<(typeof FLAGS)[number], number | undefined>;
}

const args = parseArgs(process.argv.slice(2));
const seed = args.seed ?? Math.floor(Math.random() * 1_000_000);
const ops = args.ops ?? 400;
const seconds = args.seconds ?? 600;
const concurrency = args.concurrency ?? 4;
console.log(`soak: seed ${seed}, up to ${ops} operations or ${seconds} s, ${concurrency} at a time`);
try {
  const report = await runSoak({seed, ops, seconds, concurrency, partSize: args['part-size'], log: (l) => console.log(l)});
  console.log(formatSoakReport(report));
  if (report.violations.length > 0) {
    console.error(`soak FAILED: ${report.violations.length} invariant violations. Reproduce with: npm run soak -- --seed ${seed} --ops ${ops} --seconds ${seconds} --concurrency ${concurrency}`);
    process.exit(1);
  }
} catch (err) {
  console.error(`soak FAILED with an error (seed ${seed}): ${(err as Error)?.stack ?? String(err)}`);
  console.error(`Reproduce with: npm run soak -- --seed ${seed} --ops ${ops} --seconds ${seconds} --concurrency ${concurrency}`);
  process.exit(1);
}
