import {test, expect} from '@jest/globals';
import {execFile} from 'node:child_process';
import {join} from 'node:path';
import {repoRoot} from '../helpers/host-cli.js';

// bench/verification.mjs (what each client does with a damaged stored copy) at 1 MiB, so
// that the script cannot rot: it runs and reports this CLI's rows (rclone's when on PATH).

test('bench/verification.mjs reports that this CLI refuses a damaged copy: exit 5, no file left, stdout short of the whole', async () => {
  const run = await new Promise<{code: number; stdout: string; stderr: string}>((resolve) => {
    execFile(process.execPath, [join(repoRoot, 'bench/verification.mjs'), '--size-mib', '1'], {cwd: repoRoot}, (err, stdout, stderr) => {
      resolve({code: err ? Number((err as {code?: number}).code ?? 1) : 0, stdout, stderr});
    });
  });
  expect({code: run.code, stderr: run.stderr}).toEqual({code: 0, stderr: ''});
  const rows = run.stdout.split('\n').filter((line) => line.startsWith('| this CLI |'));
  expect(rows).toEqual([
    expect.stringMatching(/^\| this CLI \| stdout \(download -o -\) \| 5 \| not the original, \d+ of 1048576 bytes \| Error: .*downloaded data has SHA1/),
    expect.stringMatching(/^\| this CLI \| a file \(download -o FILE\) \| 5 \| no file left \| Error: .*downloaded data has SHA1/),
  ]);
}, 180_000); // seven child processes (CLI and rclone) in a row
