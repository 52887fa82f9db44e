import {describe, test, expect} from '@jest/globals';
import {execFile} from 'node:child_process';
import {promisify} from 'node:util';

const LEFTOVER = 'an unfinished copy of big.tar remains (cancelling it failed: 503): run "backup-b2 b2 cleanup" to remove it';

/**
 * In a real child process (a signal to jest's own process would end it): runs the compiled
 * withInterrupt() over a task that a real SIGTERM stops, and that throws the abort error a
 * failed cleanup leaves; prints the Interrupted's exit code and message as JSON.
 * `line` is the source of the command's interrupted line, or undefined for none.
 */
async function interruptedWith(line: string | undefined): Promise<{exitCode: number; message: string}> {
  const compiled = (module: string) => JSON.stringify(new URL(`../../dist/src/${module}`, import.meta.url).href);
  const program = `
    const {withInterrupt} = await import(${compiled('cli/interrupt.js')});
    const {BackupError} = await import(${compiled('errors.js')});
    // the timer holds the process up as a transfer's sockets would, until the signal comes
    const task = (signal) => new Promise((_resolve, reject) => {
      const transfer = setInterval(() => undefined, 1000);
      signal.addEventListener('abort', () => clearInterval(transfer) || reject(new BackupError('aborted', 'the operation was aborted', {leftover: ${JSON.stringify(LEFTOVER)}})));
      process.kill(process.pid, 'SIGTERM');
    });
    await withInterrupt(task, {interrupted: ${line ?? 'undefined'}}).then(
      () => console.log('null'),
      (err) => console.log(JSON.stringify({exitCode: err.exitCode, message: err.message})),
    );`;
  // the timeout only bounds a hang; the child ends at once
  const {stdout} = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', program], {timeout: 60_000, killSignal: 'SIGKILL'});
  return JSON.parse(stdout) as {exitCode: number; message: string};
}

describe('an interrupted command says what a failed cleanup left', () => {
  test("a command's own line that leaves it out gets the leftover added once", async () => {
    const err = await interruptedWith(`() => 'copy interrupted; run the same command again to finish it'`);
    expect(err).toEqual({exitCode: 143, message: `copy interrupted; run the same command again to finish it; ${LEFTOVER}`});
  });

  test('a line that already tells it is kept as it is; without a line, the error says it with its leftover', async () => {
    expect((await interruptedWith('(e) => `upload interrupted; ${e.leftover}`')).message).toBe(`upload interrupted; ${LEFTOVER}`);
    expect((await interruptedWith(undefined)).message).toBe(`the operation was aborted; ${LEFTOVER}`);
  });
});
