"""The detached runner of one job submission: `python -I -S runner.py JOB_DIR SPEC_PATH`.

It starts once per replica, so it imports only what the interpreter has built in (no `json`,
`subprocess` or `threading`: they would double its start time and memory).

It runs in its own session, so the worker can die without taking it along. It holds an
exclusive lock on JOB_DIR/lock for its whole life: a second runner of the same job exits at
once (starting twice starts once), and a free lock means the runner is gone. Each launch has a
spec file of its own (SPEC_PATH), so a losing second launch can't change the winner's spec. The
job runs in a process group of its own (JOB_DIR/job_pgid), so signals for the job never hit the
runner, which lives on to record how the job ended.

The job's main process decides: when it exits, the rest of its group is killed (and, when the job
has a Unix user of its own, every process of that user), its remaining output is read for a
moment, and the exit code is recorded. Output goes to JOB_DIR/output.jsonl, one JSON object per
line with the time (epoch seconds), the stream and the text; the exit code and the time of the
exit go to JOB_DIR/exit_code, written atomically after the output is complete.

When the job has a user of its own (the worker runs as root), the runner stays root to keep its
files private, and the job gets that user, no supplementary groups and its own home directory.
The worker passes the lock of the user's slot as an open file descriptor: the runner keeps it for
its whole life, so no other job gets the same user meanwhile.
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
BASH = "/bin/bash"

_READ_SIZE = 65536
_MAX_LINE = 1 << 20  # a longer line without a newline is cut into pieces of this size
# Once the main process has exited and the rest of the job is killed, output still held open (by a
# process that left the job's group) is read for this long at most.
_DRAIN_SECONDS = 1.0
_START_FAILED = 126  # what shells answer for a command that could not be executed


def write_atomically(path: str, text: str) -> None:
    temporary = path + ".tmp"
    with open(temporary, "w") as file:
        file.write(text)
    os.replace(temporary, path)


def kill_user_processes() -> None:
    """Kills every process of the calling user but itself; run as that user. One kill(-1) is
    enough: the kernel signals them all under the lock that fork takes, and a process with a
    pending SIGKILL can't fork, so no child escapes it."""
    try:  # noqa: SIM105 - contextlib would cost the runner's start time
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass  # nothing to kill


def _kill_processes_of(user: dict[str, int]) -> None:
    """Kills every process of the job's user, from a child process that has become that user."""
    child = os.fork()
    if child == 0:
        try:
            os.setgroups([])
            os.setgid(user["gid"])
            os.setuid(user["uid"])
            kill_user_processes()
        finally:
            os._exit(0)
    os.waitpid(child, 0)


def _record(stream: str, raw: bytes) -> bytes:
    text = raw.decode(errors="replace").rstrip("\r\n")
    return b'{"t":%.6f,"s":"%s","m":%s}\n' % (time.time(), stream.encode(), encode_basestring_ascii(text).encode())


class _Streams:
    """Copies complete lines from the job's pipes to the output file."""

    def __init__(self, streams: dict[int, str], output: int) -> None:
        self.names = streams
        self.pending = {fd: b"" for fd in streams}
        self.output = output

    def copy(self, fd: int) -> bool:
        """Reads what is there; False once the pipe has closed (then it is closed here too)."""
        chunk = os.read(fd, _READ_SIZE)
        *lines, rest = (self.pending[fd] + chunk).split(b"\n")
        while len(rest) > _MAX_LINE:
            lines.append(rest[:_MAX_LINE])
            rest = rest[_MAX_LINE:]
        if not chunk and rest:
            lines.append(rest)
        if lines:
            os.write(self.output, b"".join(_record(self.names[fd], line) for line in lines))
        if chunk:
            self.pending[fd] = rest
            return True
        self.pending[fd] = b""  # written above
        self.close(fd)
        return False

    def close(self, fd: int) -> None:
        rest = self.pending.pop(fd)
        if rest:
            os.write(self.output, _record(self.names[fd], rest))
        os.close(fd)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None  # a kernel before 5.3: the exit is looked for on a short poll instead


def _wait_for_exit(job: int, streams: _Streams) -> int:
    """Copies output until the job's main process exits; returns its wait status."""
    poller = select.poll()
    for fd in streams.pending:
        poller.register(fd, select.POLLIN)
    pidfd = _pidfd(job)
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    while True:
        for fd, _ in poller.poll(None if pidfd is not None else 200):
            if fd in streams.pending and not streams.copy(fd):
                poller.unregister(fd)
        pid, status = os.waitpid(job, os.WNOHANG)
        if pid:
            if pidfd is not None:
                os.close(pidfd)
            return status


def _drain(streams: _Streams) -> None:
    """Reads what the job's pipes still hold, until they close or _DRAIN_SECONDS have passed."""
    poller = select.poll()
    for fd in streams.pending:
        poller.register(fd, select.POLLIN)
    deadline = time.monotonic() + _DRAIN_SECONDS
    while streams.pending and (remaining := deadline - time.monotonic()) > 0:
        for fd, _ in poller.poll(remaining * 1000):
            if not streams.copy(fd):
                poller.unregister(fd)
    for fd in list(streams.pending):
        streams.close(fd)


def _stop_the_rest(job: int, user: dict[str, int] | None) -> None:
    try:  # noqa: SIM105 - contextlib would cost the runner's start time
        os.killpg(job, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the group had only the main process
    if user is not None:
        _kill_processes_of(user)


def _exec_job(spec: dict, stdin: int, stdout: int, stderr: int) -> None:
    """In the forked child: becomes the job (never returns)."""
    try:
        os.setsid()
        for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
            os.dup2(fd, target)
        for signum in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores them; a job expects the defaults
            signal.signal(signum, signal.SIG_DFL)
        user = spec["user"]
        if user is not None:
            os.setgroups([])
            os.setgid(user["gid"])
            os.setuid(user["uid"])
        os.umask(0o022)
        for directory in spec["make_dirs"]:
            os.makedirs(directory, exist_ok=True)
        os.chdir(spec["working_dir"])
        script = "set -e\n" + "\n".join(spec["commands"]) + "\n"
        os.execve(BASH, [BASH, "-c", script], spec["env"])
    except OSError as error:
        os.write(2, b"durastack: the job could not start: %s\n" % str(error).encode(errors="replace"))
    finally:
        os._exit(_START_FAILED)


def _prepare_home(spec: dict) -> None:
    user = spec["user"]
    os.makedirs(spec["home"], mode=0o700, exist_ok=True)
    if user is not None:
        os.chown(spec["home"], user["uid"], user["gid"])
        os.chmod(spec["home"], 0o700)
        # Whatever a previous job of this user left running (its runner was killed) goes first.
        _kill_processes_of(user)


def run(job_dir: str, spec_path: str) -> int:
    # Fork once more and let the parent exit: the worker reaps that parent at once, and the
    # runner proper is adopted by init, so finished runners never linger as zombies.
    if os.fork() > 0:
        return 0
    lock = os.open(os.path.join(job_dir, LOCK_FILE), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.remove(spec_path)
        return 0  # another runner owns this job
    if os.path.exists(os.path.join(job_dir, EXIT_CODE_FILE)):
        os.remove(spec_path)
        return 0  # already ran to the end

    os.replace(spec_path, os.path.join(job_dir, SPEC_FILE))
    with open(os.path.join(job_dir, SPEC_FILE), "rb") as file:
        spec = marshal.load(file)
    user = spec["user"]
    if user is not None:
        os.set_inheritable(user["slot_fd"], False)  # held by the runner alone, never by the job
    _prepare_home(spec)
    stdout_read, stdout_write = os.pipe()
    stderr_read, stderr_write = os.pipe()
    stdin = os.open(os.devnull, os.O_RDONLY)
    job = os.fork()
    if job == 0:
        _exec_job(spec, stdin, stdout_write, stderr_write)
    for fd in (stdin, stdout_write, stderr_write):
        os.close(fd)
    # A SIGTERM meant for the runner is passed on to the job, and the runner waits for it.
    signal.signal(signal.SIGTERM, lambda *_: _forward(job, signal.SIGTERM))
    write_atomically(os.path.join(job_dir, JOB_PGID_FILE), str(job))
    write_atomically(os.path.join(job_dir, PID_FILE), str(os.getpid()))

    output = os.open(os.path.join(job_dir, OUTPUT_FILE), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    streams = _Streams({stdout_read: "stdout", stderr_read: "stderr"}, output)
    status = _wait_for_exit(job, streams)
    exited_at = time.time()
    _stop_the_rest(job, user)
    _drain(streams)
    os.close(output)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:  # killed by a signal: report it the way shells do
        code = 128 - code
    write_atomically(os.path.join(job_dir, EXIT_CODE_FILE), f"{code} {exited_at:.6f}")
    return 0


def _forward(job: int, signum: int) -> None:
    try:  # noqa: SIM105 - contextlib would cost the runner's start time
        os.killpg(job, signum)
    except ProcessLookupError:
        pass  # the job already ended


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2]))
