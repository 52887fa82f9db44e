import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {execFile} from 'node:child_process';
import {mkdtemp, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {repoRoot} from '../helpers/host-cli.js';

// The benchmark harness in its --quick mode (small sizes, one run each), so that it
// cannot rot: it runs, measures every scenario and writes its three reports. Timings are
// printed by the harness, never asserted here.

interface Scenario {
  name: string;
  runs: number;
  seconds: {median: number};
  rssMiB: {median: number | null};
  cpuSeconds: {median: number | null};
  calls: number;
  transactions: {A: number; B: number; C: number};
  mibps: number | null;
  ratio?: number;
  designRatio?: number;
}

let out: string;
let run: {code: number; stderr: string};
let results: {mode: string; scenarios: Scenario[]; notes: string[]};

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'bench-quick-'));
  run = await new Promise((resolve) => {
    execFile(process.execPath, [join(repoRoot, 'bench/run.mjs'), '--quick', '--out', out], {cwd: repoRoot, maxBuffer: 16 << 20}, (err, _stdout, stderr) => {
      resolve({code: err ? Number((err as {code?: number}).code ?? 1) : 0, stderr});
    });
  });
  results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8').catch(() => '{"scenarios": []}'));
}, 600_000);

afterAll(async () => {
  await rm(out, {recursive: true, force: true});
});

describe('npm run bench --quick', () => {
  test('exits 0 and reports every scenario group', () => {
    expect({code: run.code, stderr: run.code === 0 ? '' : run.stderr}).toEqual({code: 0, stderr: ''});
    expect(results.mode).toBe('quick');
    const names = results.scenarios.map((s) => s.name).join('\n');
    for (const expected of [
      /raw ceiling: upload/, /raw design ceiling: whole-file SHA1 pre-pass, then upload, 5 MB parts × 4/, /upload from a file, 5 MB parts × 1/, /upload from a file, 5 MB parts × 4/, /upload from a pipe/,
      /raw ceiling: download, single stream/, /raw ceiling: download, 4 parallel ranges/,
      /download to a file/, /download to stdout/, /download to \/dev\/null/,
      /b2 list --json, 200 backups/, /cold start: run\.js --help/, /cold start: b2 list/, /backup:targets/, /cold start: b2 download of a 1 MB backup/,
    ]) expect(names).toMatch(expected);
  });

  test('reports the fixed cost of a download phase by phase (DEBUG=backup-b2:timing)', () => {
    const note = results.notes.find((n) => n.startsWith('fixed cost of b2 download'));
    expect(note).toMatch(/command started \d+ \(\d+ CPU\), profile loaded \d+ .*connected .*backup found .*work done .*exit \d+ \(\d+ CPU\)$/);
  });

  test('each scenario has a wall time, a peak RSS, CPU time, API calls and transactions per class', () => {
    for (const s of results.scenarios) {
      expect(s.seconds.median).toBeGreaterThan(0);
      expect(s.rssMiB.median).toBeGreaterThan(0);
      expect(s.cpuSeconds.median).toBeGreaterThan(0);
      expect(Number.isInteger(s.calls)).toBe(true);
      expect(Object.keys(s.transactions).sort()).toEqual(['A', 'B', 'C']);
    }
    const upload = results.scenarios.find((s) => s.name.startsWith('upload from a file, 5 MB parts × 4'))!;
    expect(upload.calls).toBeGreaterThan(0);
    expect(upload.ratio).toBeGreaterThan(0);
    // the ceiling of a design that hashes the whole file before it starts the large file
    expect(upload.designRatio).toBeGreaterThan(0);
    const listing = results.scenarios.find((s) => s.name.startsWith('b2 list --json'))!;
    expect(listing.transactions.C).toBeGreaterThan(0);
  });

  test('writes the Markdown table and the SVG chart', async () => {
    const md = await readFile(join(out, 'results.md'), 'utf8');
    expect(md).toContain('| scenario | MiB/s | wall s (spread) | CPU s | peak RSS MiB | API calls | A/B/C | vs ceiling | vs design ceiling |');
    expect(md.split('\n').filter((l) => l.startsWith('| ')).length).toBe(results.scenarios.length + 1);
    const svg = await readFile(join(out, 'chart.svg'), 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain('raw ceiling');
    expect(svg).toContain('design ceiling');
  });
});
