import {readdirSync, readFileSync, rmSync} from 'node:fs';
import {join} from 'node:path';
import {filesUnder, findLeaks, needles} from './scan.mjs';

/**
 * The suite-wide secret scan (issue 9 item 7): every byte the CLI printed in any test
 * (stdout, stderr, DEBUG logs) and every file it left in its config, cache and data
 * dirs (error log, metadata cache, pending-upload records, the embedded store), as the
 * test helpers captured them, must hold no application key and no authorization token,
 * not even a 15-character piece of a known one. A leak fails the run (npm test exits 1).
 */
export default function globalTeardown() {
  const dir = process.env.B2_TEST_CAPTURE_DIR;
  if (!dir) return;
  const names = readdirSync(dir);
  const secrets = names.filter((n) => n.startsWith('secrets-')).flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').filter(Boolean));
  const pieces = needles(secrets);
  let bytes = 0;
  const leaks = [];
  for (const n of names.filter((f) => f.startsWith('output-') || f.startsWith('tree-'))) {
    const buf = readFileSync(join(dir, n));
    bytes += buf.length;
    leaks.push(...findLeaks(n, buf, pieces));
  }
  for (const home of names.filter((n) => n.startsWith('homes-')).flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').filter(Boolean))) {
    for (const [path, buf] of filesUnder(home)) {
      bytes += buf.length;
      leaks.push(...findLeaks(path, buf, pieces));
    }
  }
  process.stdout.write(`\nsecret scan: ${bytes} bytes of CLI output and files, ${secrets.length} known secrets, ${leaks.length} leaks\n`);
  if (leaks.length > 0) throw new Error(`secrets leaked (details in ${dir}):\n${[...new Set(leaks)].slice(0, 50).join('\n')}`);
  rmSync(dir, {recursive: true, force: true});
}
