import {readFileSync} from 'node:fs';
import {connect} from 'node:net';

/**
 * A port on 127.0.0.1 that refuses connections, and keeps refusing for the whole run.
 * A port taken with listen(0) and released is not one: the kernel hands it to the next
 * listen(0), and under a parallel suite that may be another test's emulator, which then
 * answers (a 401, exit 3 instead of "cannot reach", seen in CI). Ports below the
 * ephemeral range are never handed out by listen(0); the first of them found refusing is
 * used.
 */
export async function refusedPort(): Promise<number> {
  for (let port = Math.min(ephemeralStart(), 32768) - 1; port > 1024; port -= 977) {
    if (await refuses(port)) return port;
  }
  throw new Error('refusedPort: every port tried below the ephemeral range accepted a connection');
}

/** The first port listen(0) may hand out. */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > 0) return first;
  } catch {
    // not Linux: where most other systems start
  }
  return 49152;
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}
