"""Runs `minions chat` on a pseudo-terminal, as a person would: waits for each expected text, then types
the next line. Usage: pty_chat.py TIMEOUT -- ARGV... with steps as JSON on stdin: [[expect, type], ...].
Prints everything the terminal showed; exits 0 when every step's text appeared and the program ended."""

import json
import os
import pty
import select
import sys
import time

timeout = float(sys.argv[1])
argv = sys.argv[sys.argv.index("--") + 1:]
steps = json.load(sys.stdin)
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)

seen = b""
deadline = time.time() + timeout


def read_until(text):
    global seen
    while text.encode() not in seen:
        left = deadline - time.time()
        if left <= 0:
            return False
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            seen += chunk
    return True


ok = True
for expect, answer in steps:
    if not read_until(expect):
        ok = False
        break
    seen_mark = len(seen)
    os.write(fd, (answer + "\n").encode())
# Read what is left until the program ends.
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.2)
    if ready:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
else:
    os.kill(pid, 9)
    ok = False
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(0 if ok else 1)
