import {appendFileSync} from 'node:fs';
import {join} from 'node:path';
import {filesUnder} from '../secret-scan/scan.mjs';

/**
 * Hands what the CLI printed and wrote to the suite-wide secret scan
 * (test/secret-scan/global-teardown.mjs). Without its capture dir (jest run without the
 * global setup) nothing is kept.
 */
const dir = (): string | undefined => process.env.B2_TEST_CAPTURE_DIR;

export function captureOutput(args: readonly string[], stdout: Buffer | string, stderr: Buffer | string): void {
  const d = dir();
  if (!d) return;
  appendFileSync(join(d, `output-${process.pid}.log`), Buffer.concat([Buffer.from(`\n== ${label(args)}\n`), Buffer.from(stdout), Buffer.from('\n'), Buffer.from(stderr)]));
}

/** The run's first words as a heading; a long word may be a key the test typed (a stray argument), so it is not copied. */
const label = (args: readonly string[]): string => args.slice(0, 4).map((a) => (a.length < 16 ? a : '…')).join(' ');

/** Secrets the scan looks for (keys the tests hand out). */
export function captureSecrets(secrets: readonly string[]): void {
  const d = dir();
  if (d && secrets.length > 0) appendFileSync(join(d, `secrets-${process.pid}.txt`), secrets.map((s) => `${s}\n`).join(''));
}

/** A CLI home (XDG dirs) whose files the scan reads at the end of the run. */
export function captureHome(home: string): void {
  const d = dir();
  if (d) appendFileSync(join(d, `homes-${process.pid}.txt`), `${home}\n`);
}

/** The files under a directory now (for dirs removed before the run ends). */
export function captureTree(root: string): void {
  const d = dir();
  if (!d) return;
  for (const [path, bytes] of filesUnder(root)) appendFileSync(join(d, `tree-${process.pid}.log`), Buffer.concat([Buffer.from(`\n== ${path}\n`), bytes]));
}
