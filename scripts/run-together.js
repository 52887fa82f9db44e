// `node scripts/run-together.js SCRIPT...`: runs the named npm scripts at the same time and
// fails if any fails. `npm test` runs typecheck and lint this way: each is single-threaded
// for most of its ~10 s, so on two cores together they take the time of one. Each script's
// output is printed whole when it ends (never interleaved), under its name.
import {spawn} from 'node:child_process';

const scripts = process.argv.slice(2);
if (scripts.length === 0) {
  console.error('usage: node scripts/run-together.js SCRIPT [SCRIPT...]');
  process.exit(2);
}

const npm = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];

function run(script) {
  return new Promise((resolve) => {
    const child = spawn(npm[0], [...npm[1], 'run', '--silent', script], {stdio: ['ignore', 'pipe', 'pipe']});
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    child.on('error', (err) => resolve({script, code: 1, output: Buffer.from(`${err.message}\n`)}));
    child.on('close', (code, signal) => resolve({script, code: code ?? (signal ? 128 : 1), output: Buffer.concat(output)}));
  });
}

let failed = false;
await Promise.all(
  scripts.map(async (script) => {
    const {code, output} = await run(script);
    process.stdout.write(`\n> ${script}: ${code === 0 ? 'ok' : `failed (exit ${code})`}\n`);
    if (output.length > 0) process.stdout.write(output);
    if (code !== 0) failed = true;
  }),
);
process.exit(failed ? 1 : 0);
