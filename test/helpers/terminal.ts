/* eslint-disable no-control-regex -- a terminal's output is made of control characters */
import {execFile, spawnSync} from 'node:child_process';
import {join} from 'node:path';
import {cleanEnv, repoRoot} from './host-cli.js';
import {cliRoot} from './run-cli.js';

/** Node has no pseudo-terminal of its own: Python's pty module plays the user. */
export const hasPty = spawnSync('python3', ['-c', 'import pty'], {stdio: 'ignore'}).status === 0;

export type TerminalStep = {wait: string; timeout?: number} | {send: string} | {resize: [number, number]} | {sleep: number} | {hangup: true};

export interface TerminalRun {
  /** Everything the terminal showed, escape sequences included. */
  output: string;
  code: number | null;
  /** Set when a `wait` step never saw its text. */
  failed?: string;
}

/** `node bin/run.js ARGS` on a real pseudo-terminal of `cols` x `rows`, driven by `steps`. */
export function onTerminal(args: string[], opts: {steps?: TerminalStep[]; cols?: number; rows?: number; env?: Record<string, string>; cwd?: string} = {}): Promise<TerminalRun> {
  const spec = {command: [process.execPath, join(cliRoot, 'bin/run.js'), ...args], cols: opts.cols ?? 80, rows: opts.rows ?? 24, steps: opts.steps ?? []};
  return new Promise((resolve, reject) => {
    execFile('python3', [join(repoRoot, 'test/helpers/pty-drive.py'), JSON.stringify(spec)], {env: {...cleanEnv(), ...opts.env}, cwd: opts.cwd, maxBuffer: 64 << 20}, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as TerminalRun),
    );
  });
}

/**
 * What a terminal of `cols` columns would show, line by line: carriage returns and
 * erase-line sequences applied, other escape sequences (colours, cursor hiding) dropped.
 * Lines longer than `cols` are kept whole (not wrapped), so a test can see them.
 */
export function screenLines(output: string): string[] {
  const lines: string[] = [];
  let line = '';
  let col = 0;
  const tokens = output.match(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]|\r\n|\r|\n|[^\x1b\r\n]/gu) ?? [];
  for (const t of tokens) {
    if (t === '\n' || t === '\r\n') {
      lines.push(line);
      line = '';
      col = 0;
    } else if (t === '\r') {
      col = 0;
    } else if (/^\x1b\[[0-2]?K$/.test(t)) {
      // erase in line: 0/none = to the end, 1 = to the start, 2 = whole line
      const mode = t.length > 3 ? t[2] : '0';
      line = mode === '0' ? line.slice(0, col) : mode === '2' ? '' : ' '.repeat(col) + line.slice(col);
    } else if (/^\x1b\[(\d*)G$/.test(t)) {
      col = Math.max(0, Number(/\d+/.exec(t)?.[0] ?? '1') - 1);
    } else if (t.startsWith('\x1b')) {
      // colours, cursor visibility, cursor up: not part of what a line says
    } else {
      line = line.slice(0, col).padEnd(col) + t + line.slice(col + 1);
      col++;
    }
  }
  if (line) lines.push(line);
  return lines;
}
