"""The detached runner of one job submission: `python -I -S runner.py JOB_DIR`.

It starts once per replica, so it imports only what the interpreter has built in (no `json`,
`subprocess` or `threading`: they would double its start time and memory).

It runs in its own session, so the worker can die without taking it along. It holds an
exclusive lock on JOB_DIR/lock for its whole life: a second runner of the same job exits at
once (starting twice starts once), and a free lock means the runner is gone. The job runs
in a process group of its own (JOB_DIR/job_pgid), so signals for the job never hit the
runner, which lives on to record how the job ended. Output goes to JOB_DIR/output.jsonl,
one JSON object per line with the time (epoch seconds), the stream and the text; the exit
code goes to JOB_DIR/exit_code, written atomically after the output is complete.
"""

from __future__ import annotations

import fcntl
import marshal
import os
import select
import signal
import sys
import time
from _json import encode_basestring_ascii  # json's C encoder, without importing json (and re)

LOCK_FILE = "lock"
PID_FILE = "pid"
JOB_PGID_FILE = "job_pgid"
SPEC_FILE = "spec.marshal"
OUTPUT_FILE = "output.jsonl"
EXIT_CODE_FILE = "exit_code"

_READ_SIZE = 65536
_MAX_LINE = 1 << 20  # a longer line without a newline is cut into pieces of this size


def write_atomically(path: str, text: str) -> None:
    temporary = path + ".tmp"
    with open(temporary, "w") as file:
        file.write(text)
    os.replace(temporary, path)


def _record(stream: str, raw: bytes) -> bytes:
    text = raw.decode(errors="replace").rstrip("\r\n")
    return b'{"t":%.6f,"s":"%s","m":%s}\n' % (time.time(), stream.encode(), encode_basestring_ascii(text).encode())


def _pump(streams: dict[int, str], output: int) -> None:
    """Copies complete lines from the job's pipes to the output file until both close."""
    pending = {fd: b"" for fd in streams}
    poller = select.poll()
    for fd in streams:
        poller.register(fd, select.POLLIN)
    while pending:
        for fd, _ in poller.poll():
            chunk = os.read(fd, _READ_SIZE)
            buffer = pending[fd] + chunk
            *lines, rest = buffer.split(b"\n")
            while len(rest) > _MAX_LINE:
                lines.append(rest[:_MAX_LINE])
                rest = rest[_MAX_LINE:]
            if not chunk and rest:
                lines.append(rest)
                rest = b""
            if lines:
                os.write(output, b"".join(_record(streams[fd], line) for line in lines))
            if chunk:
                pending[fd] = rest
            else:
                poller.unregister(fd)
                os.close(fd)
                del pending[fd]


def _forward(job: int, signum: int) -> None:
    try:  # noqa: SIM105 - contextlib would cost the runner's start time
        os.killpg(job, signum)
    except ProcessLookupError:
        pass  # the job already ended


def run(job_dir: str) -> int:
    # Fork once more and let the parent exit: the worker reaps that parent at once, and the
    # runner proper is adopted by init, so finished runners never linger as zombies.
    if os.fork() > 0:
        return 0
    lock = os.open(os.path.join(job_dir, LOCK_FILE), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another runner owns this job
    if os.path.exists(os.path.join(job_dir, EXIT_CODE_FILE)):
        return 0  # already ran to the end

    with open(os.path.join(job_dir, SPEC_FILE), "rb") as file:
        spec = marshal.load(file)
    stdout_read, stdout_write = os.pipe()
    stderr_read, stderr_write = os.pipe()
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.chdir(spec["working_dir"])
    script = "set -e\n" + "\n".join(spec["commands"]) + "\n"
    job = os.posix_spawn("/bin/bash", ["/bin/bash", "-c", script], {**os.environ, **spec["env"]},
                         file_actions=[(os.POSIX_SPAWN_DUP2, stdin, 0), (os.POSIX_SPAWN_DUP2, stdout_write, 1),
                                       (os.POSIX_SPAWN_DUP2, stderr_write, 2)],
                         setsid=True)
    for fd in (stdin, stdout_write, stderr_write):
        os.close(fd)
    # A SIGTERM meant for the runner is passed on to the job, and the runner waits for it.
    signal.signal(signal.SIGTERM, lambda *_: _forward(job, signal.SIGTERM))
    write_atomically(os.path.join(job_dir, JOB_PGID_FILE), str(job))
    write_atomically(os.path.join(job_dir, PID_FILE), str(os.getpid()))

    output = os.open(os.path.join(job_dir, OUTPUT_FILE), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    _pump({stdout_read: "stdout", stderr_read: "stderr"}, output)
    os.close(output)
    _, status = os.waitpid(job, 0)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:  # killed by a signal: report it the way shells do
        code = 128 - code
    write_atomically(os.path.join(job_dir, EXIT_CODE_FILE), str(code))
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1]))
