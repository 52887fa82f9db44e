"""Runs a command on a real pseudo-terminal of a given size and plays a user at it.
argv[1] is JSON {"command": [...], "cols": N, "rows": N, "steps": [...]}; each step is
{"wait": text} (until the terminal has shown text), {"send": text} (typed as is: "\r" is
Enter, "\u0003" is Ctrl-C, which the terminal turns into SIGINT unless the program reads
raw), {"resize": [rows, cols]} (the kernel sends SIGWINCH), {"sleep": seconds}, or
{"hangup": true} (the terminal is closed, as when its window is or an ssh session
drops: the kernel sends SIGHUP and later writes to the terminal fail).
Prints JSON {output, code}: everything the terminal showed, and the exit code."""
import fcntl, json, os, pty, select, struct, sys, termios, time

spec = json.loads(sys.argv[1])

def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))

pid, fd = pty.fork()
if pid == 0:
    set_size(0, spec.get('rows', 24), spec.get('cols', 80))
    os.execvp(spec['command'][0], spec['command'])

output = b''
closed = False

def pump(timeout):
    """Reads what the terminal shows for up to `timeout` seconds (less once it closes)."""
    global output, closed
    deadline = time.time() + timeout
    while not closed:
        ready, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
        if not ready:
            return
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b''
        if not chunk:
            closed = True
            return
        output += chunk

for step in spec['steps']:
    if 'wait' in step:
        deadline = time.time() + step.get('timeout', 120)
        while step['wait'].encode() not in output:
            if closed or time.time() > deadline:
                print(json.dumps({'output': output.decode('utf8', 'replace'), 'code': None, 'failed': 'never saw %r' % step['wait']}))
                os.kill(pid, 9)
                sys.exit(0)
            pump(0.2)
    elif 'send' in step:
        os.write(fd, step['send'].encode())
    elif 'resize' in step:
        set_size(fd, step['resize'][0], step['resize'][1])
    elif 'sleep' in step:
        pump(step['sleep'])
    elif 'hangup' in step:
        os.close(fd)
        closed = True
while not closed:
    pump(60)
_, status = os.waitpid(pid, 0)
print(json.dumps({'output': output.decode('utf8', 'replace'), 'code': os.waitstatus_to_exitcode(status)}))
