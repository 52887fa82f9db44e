"""Runs a command on a pseudo-terminal, answering prompts: argv[1] is the command (JSON
list), argv[2] a JSON list of [prompt, answer]. Each answer is typed only once its prompt
has appeared. Prints JSON {output, code}: everything the terminal showed, and the exit code."""
import json, os, pty, select, sys, time

command, answers = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

output = b''

def read(until=None, timeout=60):
    global output
    deadline = time.time() + timeout
    while until is None or until.encode() not in output:
        ready, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
        if not ready:
            sys.exit('timed out waiting for %r; the terminal showed %r' % (until, output.decode('utf8', 'replace')))
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            return
        if not chunk:
            return
        output += chunk

for prompt, answer in answers:
    read(until=prompt)
    os.write(fd, (answer + '\r').encode())
read()
_, status = os.waitpid(pid, 0)
print(json.dumps({'output': output.decode('utf8', 'replace'), 'code': os.waitstatus_to_exitcode(status)}))
