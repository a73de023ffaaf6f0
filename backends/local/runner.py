"""The detached runner of one job submission: `python -I -S runner.py JOB_DIR`.

Standard library only: it starts once per replica, so it must start fast and stay small.

It runs in its own session, so the worker can die without taking it along. It holds an
exclusive lock on JOB_DIR/lock for its whole life: a second runner of the same job exits at
once (starting twice starts once), and a free lock means the runner is gone. The job runs
in a process group of its own (JOB_DIR/job_pgid), so signals for the job never hit the
runner, which lives on to record how the job ended. Output goes to JOB_DIR/output.jsonl,
one JSON object per line with timestamp, stream and text; the exit code goes to
JOB_DIR/exit_code, written atomically after the output is complete.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

LOCK_FILE = "lock"
PID_FILE = "pid"
JOB_PGID_FILE = "job_pgid"
SPEC_FILE = "spec.json"
OUTPUT_FILE = "output.jsonl"
EXIT_CODE_FILE = "exit_code"


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _pump(stream: IO[bytes], name: str, output: IO[str], output_lock: threading.Lock) -> None:
    for raw in iter(stream.readline, b""):
        record = {"t": datetime.now(UTC).isoformat(), "s": name,
                  "m": raw.decode(errors="replace").rstrip("\r\n")}
        with output_lock:
            output.write(json.dumps(record) + "\n")
            output.flush()


def run(job_dir: Path) -> int:
    # Fork once more and let the parent exit: the worker reaps that parent at once, and the
    # runner proper is adopted by init, so finished runners never linger as zombies.
    if os.fork() > 0:
        return 0
    lock = open(job_dir / LOCK_FILE, "a")  # noqa: SIM115 - held until the process exits
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another runner owns this job
    if (job_dir / EXIT_CODE_FILE).exists():
        return 0  # already ran to the end

    spec: dict[str, Any] = json.loads((job_dir / SPEC_FILE).read_text())
    script = "set -e\n" + "\n".join(spec["commands"]) + "\n"
    child = subprocess.Popen(["/bin/bash", "-c", script], cwd=spec["working_dir"],
                             env={**os.environ, **spec["env"]}, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    # A SIGTERM meant for the runner is passed on to the job, and the runner waits for it.
    signal.signal(signal.SIGTERM, lambda *_: os.killpg(child.pid, signal.SIGTERM))
    write_atomically(job_dir / JOB_PGID_FILE, str(child.pid))
    write_atomically(job_dir / PID_FILE, str(os.getpid()))
    output_lock = threading.Lock()
    with open(job_dir / OUTPUT_FILE, "a", encoding="utf-8") as output:
        pumps = [threading.Thread(target=_pump, args=(pipe, name, output, output_lock))
                 for pipe, name in ((child.stdout, "stdout"), (child.stderr, "stderr"))]
        for pump in pumps:
            pump.start()
        code = child.wait()
        if code < 0:  # killed by a signal: report it the way shells do
            code = 128 - code
        for pump in pumps:
            pump.join()
    write_atomically(job_dir / EXIT_CODE_FILE, str(code))
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
