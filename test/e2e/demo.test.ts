import {describe, expect, test} from '@jest/globals';
import {spawn} from 'node:child_process';
import {mkdtemp, readdir, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {cleanEnv, repoRoot} from '../helpers/host-cli.js';

/**
 * `npm run demo` is the README's first command (Quick start): it is `npm ci` and then
 * scripts/demo.sh, run here as a real child (with a small archive, so it stays cheap) so
 * the demo cannot rot unnoticed again, as it did when a profiles file named by
 * B2_BACKUP_CONFIG had to exist and the demo never made one.
 */
describe('scripts/demo.sh (npm run demo)', () => {
  test('runs every step on the embedded B2, exits 0 and leaves no temp folder behind', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'demo-test-'));
    try {
      const result = await new Promise<{code: number | null; stderr: string}>((resolve, reject) => {
        const child = spawn('bash', ['scripts/demo.sh'], {
          cwd: repoRoot,
          env: {...cleanEnv(), TMPDIR: tmp, DEMO_RANDOM_BYTES: '200000', B2_APPLICATION_KEY: 'demo-must-unset-this'},
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        const err: Buffer[] = [];
        child.stderr.on('data', (d: Buffer) => err.push(d));
        child.on('error', reject);
        child.on('close', (code) => resolve({code, stderr: Buffer.concat(err).toString('utf8')}));
      });
      expect(result.stderr).not.toMatch(/Error/);
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('Demo finished');
      expect(result.stderr).toContain('restored archive is identical to the original');
      expect(await readdir(tmp)).toEqual([]);
    } finally {
      await rm(tmp, {recursive: true, force: true});
    }
  });
});
