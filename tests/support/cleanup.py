"""Replica processes are detached by design, so tests kill them explicitly when they end."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path


def kill_jobs(jobs_dir: Path) -> None:
    """SIGKILL every job process group under `jobs_dir`, then their runners."""
    for pgid_file in jobs_dir.glob("*/job_pgid"):
        with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
            os.killpg(int(pgid_file.read_text()), signal.SIGKILL)
    subprocess.run(["pkill", "-KILL", "-f", f"runner.py {jobs_dir}"], check=False)
