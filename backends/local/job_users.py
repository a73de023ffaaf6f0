"""Unix users for jobs: when the host worker runs as root, every live job runs as a user of its own.

A job's user can't read the server's state (its directory is private to root), another job's
home or another job's processes (/proc of another user is closed to it). Users are slots of a
pool (`dsjob<N>`, uid = base + N), created on first use; a slot is held by a lock file (in /run,
machine-wide like the users) that the job's runner keeps open for its whole life, so two live jobs
never share a user. A slot is given
to the lowest free number, so a host creates as many users as it ever ran jobs at once.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import structlog

from backends.base import JobStartError

log = structlog.get_logger(__name__)

POOL_SIZE = 4096  # more than the 2,000 replicas a host worker can watch at once
SLOTS_ROOT = Path("/run/durastack-job-users")
USER_PREFIX = "dsjob"


@dataclass(frozen=True)
class JobUser:
    slot: int
    uid: int
    name: str

    @property
    def gid(self) -> int:
        return self.uid  # each user has a group of its own, with the same number

    def runner_spec(self, slot_fd: int) -> dict[str, int]:
        return {"uid": self.uid, "gid": self.gid, "slot_fd": slot_fd}


class JobUsers:
    def __init__(self, uid_base: int) -> None:
        # Users are the machine's, so their locks are too: every worker on this machine with the same
        # uid base (several deployments, say) shares them, and two live jobs never share a user.
        self._slots_dir = SLOTS_ROOT / f"uid-{uid_base}"
        self._uid_base = uid_base
        self._slots_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._claiming = threading.Lock()  # launches run in threads
        self._existing: set[int] = set()

    def user(self, slot: int) -> JobUser:
        return JobUser(slot=slot, uid=self._uid_base + slot, name=f"{USER_PREFIX}{slot}")

    def claim(self) -> tuple[JobUser, int]:
        """The lowest free user, created if needed, and an open file descriptor holding its
        slot's lock: pass it to the runner, then close it here."""
        with self._claiming:
            for slot in range(POOL_SIZE):
                fd = self._lock(slot)
                if fd is not None:
                    try:
                        user = self.user(slot)
                        self._ensure_exists(user)
                    except BaseException:
                        os.close(fd)
                        raise
                    return user, fd
        raise JobStartError(f"all {POOL_SIZE} job users of this host are busy")

    def kill_orphaned_processes(self, slot: int) -> None:
        """Kills what is left of a job whose runner died, unless another job holds the user now
        (its runner killed the leftovers when it started)."""
        fd = self._lock(slot)
        if fd is None:
            return
        user = self.user(slot)
        try:  # a shell's own kill, as the user: this process has threads, so it must not fork and setuid
            subprocess.run(["/bin/sh", "-c", "kill -9 -1"], user=user.uid, group=user.gid, extra_groups=[],
                           check=False, capture_output=True, timeout=10)
        finally:
            os.close(fd)

    def _lock(self, slot: int) -> int | None:
        fd = os.open(self._slots_dir / f"{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    def _ensure_exists(self, user: JobUser) -> None:
        if user.slot in self._existing:
            return
        try:
            found = pwd.getpwuid(user.uid)
        except KeyError:
            self._create(user)
        else:
            if found.pw_name != user.name:
                raise JobStartError(f"uid {user.uid} belongs to {found.pw_name}, not the job user {user.name}; "
                                    "choose another DURASTACK_JOB_UID_BASE")
        self._existing.add(user.slot)

    @staticmethod
    def _create(user: JobUser) -> None:
        commands = [
            ["groupadd", "--gid", str(user.gid), user.name],
            ["useradd", "--uid", str(user.uid), "--gid", str(user.gid), "--no-create-home", "--no-log-init",
             "--home-dir", "/nonexistent", "--shell", "/bin/bash", "--comment", "durastack job", user.name],
        ]
        errors = []
        for command in commands:
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            errors.append(result.stderr.strip())
        try:
            created = pwd.getpwuid(user.uid).pw_name == user.name  # an existing group is fine
        except KeyError:
            created = False
        if not created:
            raise JobStartError(f"could not create the job user {user.name} (uid {user.uid}): "
                                + "; ".join(filter(None, errors)))
        log.info("job user created", user=user.name, uid=user.uid)


def can_separate_users() -> bool:
    """Only root can run jobs as other users."""
    return os.geteuid() == 0
