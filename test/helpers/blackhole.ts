import {spawn} from 'node:child_process';
import {connect, type Socket} from 'node:net';

/**
 * A TCP port on 127.0.0.1 where connections are never made: SYNs are dropped, as by a
 * firewall or a host that is gone. A child process listens with a backlog of 1 and is
 * stopped (SIGSTOP), so nothing ever accepts; once connections we hold fill its accept
 * queue, the kernel drops every further SYN and a connect waits until it times out.
 * (An unroutable address does not work offline: this sandbox answers every address.)
 */
export async function blackhole(): Promise<{port: number; close(): void}> {
  // a plain write: console.log colours a number when FORCE_COLOR is set. No stderr: a
  // stopped child holding the test worker's stderr would keep jest waiting for ever.
  const child = spawn(process.execPath, ['-e', "const s = require('net').createServer(); s.listen({port: 0, host: '127.0.0.1', backlog: 1}, () => process.stdout.write(String(s.address().port) + '\\n'));"], {stdio: ['ignore', 'pipe', 'ignore']});
  const held: Socket[] = [];
  const close = () => {
    for (const s of held) s.destroy();
    child.kill('SIGKILL');
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => {
        const n = Number(d.toString().trim());
        if (Number.isInteger(n) && n > 0 && n < 65536) resolve(n);
        else reject(new Error(`blackhole: the listening child printed ${JSON.stringify(d.toString())}, not a port`));
      });
      child.once('error', reject);
    });
    child.kill('SIGSTOP');
    // Loopback connects into a queue with room complete at once; the first that does not
    // (within a generous wait) was dropped: the queue is full.
    for (let i = 0; i < 64; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      held.push(socket);
      const made = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 2000);
        socket.once('connect', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!made) break;
    }
    return {port, close};
  } catch (err) {
    close(); // a stopped child left behind outlives the whole test run
    throw err;
  }
}
