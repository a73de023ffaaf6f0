"""What an SSH fleet runs on its hosts: the shell scripts that install durastack and start, check
and stop `durastack worker`, and the worker's environment. Pure text, so that it can be read (and
tested) apart from the SSH plumbing in activities/ssh_fleet.py.

Everything lives under the remote user's `~/.durastack/`:

    venv/                       durastack, as the server's own wheel, and its dependencies
    venv/durastack-wheel.sha256 the content hash of the wheel installed there
    wheels/                     wheels copied over SFTP
    hosts/<host id>/            the worker of one host id: worker.env (0600), worker.pid,
                                worker.log, server/ (its DURASTACK_SERVER_DIR: job files)
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.settings import Settings

# Relative paths are relative to the remote user's home (where SSH commands and SFTP start).
REMOTE_BASE = ".durastack"
VENV = f"{REMOTE_BASE}/venv"
WHEELS = f"{REMOTE_BASE}/wheels"
INSTALLED_HASH = f"{VENV}/durastack-wheel.sha256"
MINIMUM_PYTHON = (3, 11)
# The run workflows stay on the server's workers: an SSH host's run worker polls a queue of its
# own that nothing is sent to, so it never opens SSH connections to other hosts or serves runs.
# Its host worker (replicas on this machine) is what the host is for.
SSH_HOST_RUN_QUEUE_SUFFIX = "-ssh-hosts"
LOG_TAIL_LINES = 5


@dataclass(frozen=True)
class RemoteWorkerSettings:
    """What hosts' workers are told, as the hosts must reach it (server/settings.py:
    DURASTACK_FLEET_DATABASE_URL and DURASTACK_FLEET_TEMPORAL_ADDRESS override the server's own)."""

    database_url: str
    temporal_address: str
    temporal_namespace: str
    task_queue: str  # the server's run queue
    wheel_cache_dir: Path  # in the server's state directory


def host_dir(host_id: str) -> str:
    return f"{REMOTE_BASE}/hosts/{host_id}"


def worker_environment(settings: RemoteWorkerSettings, *, fleet_name: str, host_id: str,
                       home: str) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "DURASTACK_TASK_QUEUE": settings.task_queue + SSH_HOST_RUN_QUEUE_SUFFIX,
        "DURASTACK_FLEET": fleet_name,
        "DURASTACK_HOST_ID": host_id,
        "DURASTACK_SERVER_DIR": f"{home}/{host_dir(host_id)}/server",
    }


def environment_file(environment: dict[str, str]) -> str:
    """Sourced by the start script; the file is the user's alone (it holds the database URL)."""
    return "".join(f"{name}={shlex.quote(value)}\n" for name, value in sorted(environment.items()))


def python_version_problem(version_output: str, minimum: tuple[int, int] = MINIMUM_PYTHON) -> str | None:
    """Why the output of `python3 --version` rules a host out, or None when it will do."""
    match = re.search(r"Python (\d+)\.(\d+)(\.\d+)?", version_output)
    if match is None:
        said = version_output.strip().splitlines()[-1][:200] if version_output.strip() else "nothing"
        return f"python3 is missing on the host (`python3 --version` said: {said})"
    if (int(match.group(1)), int(match.group(2))) < minimum:
        return f"python3 on the host is {match.group(0)}; durastack needs Python {minimum[0]}.{minimum[1]} or later"
    return None


def sh(script: str) -> str:
    """A command that runs `script` with sh, whatever the user's login shell is."""
    return f"sh -c {shlex.quote(script)}"


def install_script(wheel_filename: str, content_hash: str) -> str:
    """Creates the venv when missing and installs the wheel in it: durastack itself anew (the
    version number stays the same across changes of code), then whatever dependencies it lacks."""
    wheel = shlex.quote(f"{WHEELS}/{wheel_filename}")
    return f"""set -e
cd "$HOME"
if [ ! -x {VENV}/bin/python ]; then
  python3 -m venv {VENV} || {{ echo "python3 -m venv failed (Debian, Ubuntu: apt install python3-venv)" >&2; exit 1; }}
fi
{VENV}/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall {wheel}
{VENV}/bin/python -m pip install --quiet --disable-pip-version-check {wheel}
printf '%s\\n' {shlex.quote(content_hash)} > {INSTALLED_HASH}
"""


# Whether worker.pid names a live durastack worker (not a process that reused its pid).
_ALIVE = """alive() {
  [ -f worker.pid ] && pid=$(cat worker.pid) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \\
    && grep -q durastack "/proc/$pid/cmdline" 2>/dev/null
}
"""

# SIGTERM gives the worker its graceful shutdown (10 s: it hands its watchers over); SIGKILL after.
_STOP = """if alive; then
  kill -TERM "$pid" 2>/dev/null || true
  tries=0
  while alive && [ "$tries" -lt 30 ]; do sleep 0.5; tries=$((tries + 1)); done
  if alive; then kill -KILL "$pid" 2>/dev/null || true; fi
fi
rm -f worker.pid
"""


def start_script(host_id: str) -> str:
    """(Re)starts the host's worker, detached from the SSH session: its own session, output to its
    log, nothing tied to the connection. Jobs are detached too, and survive the restart."""
    directory = shlex.quote(host_dir(host_id))
    return f"""set -e
cd "$HOME"
mkdir -p {directory}
cd {directory}
{_ALIVE}{_STOP}set -a
. ./worker.env
set +a
if command -v setsid >/dev/null 2>&1; then detach=setsid; else detach=; fi
$detach nohup "$HOME/{VENV}/bin/durastack" worker >> worker.log 2>&1 < /dev/null &
echo $! > worker.pid
"""


def stop_script(host_id: str) -> str:
    directory = shlex.quote(host_dir(host_id))
    return f"""cd "$HOME" && cd {directory} 2>/dev/null || exit 0
{_ALIVE}{_STOP}"""


def status_script(host_id: str) -> str:
    """Prints `running` or `stopped`, then the last lines of the worker's log."""
    directory = shlex.quote(host_dir(host_id))
    return f"""cd "$HOME" && cd {directory} 2>/dev/null || {{ echo stopped; exit 0; }}
{_ALIVE}if alive; then echo running; else echo stopped; fi
tail -n {LOG_TAIL_LINES} worker.log 2>/dev/null || true
"""


def remote_worker_settings(settings: Settings) -> RemoteWorkerSettings:
    """From the server's settings: the addresses it uses itself unless the DURASTACK_FLEET_ ones
    say how hosts reach them; wheels are cached in its state directory."""
    return RemoteWorkerSettings(
        database_url=settings.fleet_database_url or settings.resolved_database_url,
        temporal_address=settings.fleet_temporal_address or settings.resolved_temporal_address,
        temporal_namespace=settings.temporal_namespace, task_queue=settings.task_queue,
        wheel_cache_dir=settings.server_dir / "wheels")
