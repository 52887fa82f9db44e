import {spawn, type ChildProcess} from 'node:child_process';
import {once} from 'node:events';

/**
 * A process that runs until it is killed: what an unrelated process that was given a
 * dead writer's pid again is. `stop` kills it and waits until it has exited.
 */
export async function liveProcess(): Promise<{pid: number; stop: () => Promise<void>}> {
  const child: ChildProcess = spawn(process.execPath, ['-e', 'setInterval(() => undefined, 1 << 30)'], {stdio: 'ignore'});
  await once(child, 'spawn');
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };
  return {pid: child.pid as number, stop};
}
