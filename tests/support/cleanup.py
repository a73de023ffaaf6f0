"""Replica processes are detached by design, so tests kill them explicitly when they end; their
homes live outside the tests' private temporary directories, so tests remove them too."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from pathlib import Path


def kill_jobs(jobs_dir: Path) -> None:
    """SIGKILL every job process group under `jobs_dir`, then their runners."""
    for pgid_file in jobs_dir.glob("*/job_pgid"):
        with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
            os.killpg(int(pgid_file.read_text()), signal.SIGKILL)
    subprocess.run(["pkill", "-KILL", "-f", f"runner.py {jobs_dir}"], check=False)


def job_workspaces() -> Path:
    """A directory for jobs' homes that jobs with users of their own can reach: pytest's own
    temporary directories are closed to other users."""
    path = Path(tempfile.mkdtemp(prefix="durastack-workspaces-"))
    path.chmod(0o711)
    return path


def open_to_jobs(path: Path) -> Path:
    """Lets jobs with users of their own reach `path` (it and every directory above it become
    traversable, not readable): a configuration's working_dir must be reachable by its job."""
    for directory in (path, *path.parents):
        directory.chmod(directory.stat().st_mode | 0o001)
    return path
