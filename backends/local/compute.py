"""Local compute: starts detached runner processes and reads their files."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import marshal
import os
import pwd
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import psutil
import structlog

from backends.base import (
    Compute,
    Heartbeat,
    HostOffer,
    JobStartError,
    MetricsSample,
    OutputLine,
    Signalled,
)
from backends.local import runner
from backends.local.config import LocalConfig
from backends.local.gpus import detect_gpus
from backends.local.job_code import unpack_code
from backends.local.job_users import JobUsers
from backends.local.ports import choose_port
from core.gpus import Gpu
from core.jobs import JobSpec, ReplicaExit, StartedReplica

log = structlog.get_logger(__name__)

_RUNNER_START_TIMEOUT = 10.0
_TERMINATE_POLL = 0.05
_TERMINATE_QUIET_SECONDS = 2.0  # well within the termination's heartbeat timeout (10 s)
_PROCESS_TABLE_SECONDS = 1.0
_MIN_CPU_AVERAGE_SECONDS = 1.0
# A runner records how its job ended; only a runner that was itself killed doesn't, and its death
# is noticed this long after at most. Taking its lock on every look cost a watcher more than the rest.
_LIVENESS_SECONDS = 2.0
_TMP_DIR = ".tmp"
_PORT_FILE = "port"
# Of the server's environment, a job sees only these (and the locale's LC_*).
_PASSED_VARIABLES = {"PATH", "LANG", "LANGUAGE", "TZ", "TERM"}


class LocalCompute(Compute):
    backend_type = "local"
    config_model = LocalConfig
    detached_jobs = True

    def __init__(self, config: LocalConfig) -> None:
        self.config = config
        _make_private_dir(config.jobs_dir)
        self.workspaces_dir = config.resolved_workspaces_dir
        self._users: JobUsers | None = None
        if config.isolate_jobs:
            _make_traversable_dir(self.workspaces_dir)
            self._users = JobUsers(config.job_uid_base)
        else:
            self.workspaces_dir.mkdir(parents=True, exist_ok=True)
            log.warning("single-user mode: jobs run as the server's own user, so they can read its state "
                        "directory and each other's files; run the worker as root to give each job a user of its own",
                        user=_user_name(os.geteuid()), jobs_dir=str(config.jobs_dir))
        # psutil measures CPU between two calls on the same Process object, so each live job
        # keeps its processes from one sample to the next (by pid); dropped when the job is gone.
        self._sampled: dict[str, dict[int, psutil.Process]] = {}
        self._children: dict[int, list[int]] = {}
        self._children_read_at = -_PROCESS_TABLE_SECONDS
        self._seen_alive_at: dict[str, float] = {}  # submission → when its runner last held its lock
        self._job_pgids: dict[str, int] = {}
        self._starting: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._choosing_port = threading.Lock()  # launches run in threads

    def offer(self) -> HostOffer:
        return HostOffer(host_id=self.config.host_id, name=self.config.name,
                         cpu_milli=round(self.config.cpus * 1000), memory_mb=self.config.memory_mb,
                         price_per_hour=self.config.price_per_hour, gpus=self.gpus)

    @cached_property
    def gpus(self) -> tuple[Gpu, ...]:
        """Looked for once, on first use: a host's GPUs don't change while it runs, and asking
        nvidia-smi takes a moment."""
        return detect_gpus()

    def _job_dir(self, submission_id: str) -> Path:
        return self.config.jobs_dir / submission_id

    def _working_dir(self, job: JobSpec, home: Path) -> Path:
        if job.working_dir and Path(job.working_dir).is_absolute():
            path = Path(job.working_dir)
            if not path.is_dir():
                raise JobStartError(f"working_dir {path} does not exist on host {self.config.name}")
            return path
        # Relative (or absent) working dirs live in the job's own home, which they can't leave.
        path = Path(os.path.normpath(home / (job.working_dir or ".")))
        if not path.is_relative_to(home):
            raise JobStartError(f"working_dir {job.working_dir} leaves the job's directory")
        return path

    async def run_job(self, job: JobSpec, code: Path | None = None) -> StartedReplica:
        job_dir = self._job_dir(job.submission_id)
        async with self._starting[job.submission_id]:  # one launch at a time per job in this process
            try:
                pid = _read_pid(job_dir)
                if pid is None:
                    await asyncio.to_thread(self._launch, job, job_dir, code)
                    deadline = time.monotonic() + _RUNNER_START_TIMEOUT
                    while (pid := _read_pid(job_dir)) is None:
                        if time.monotonic() > deadline:
                            raise RuntimeError(f"runner of {job.submission_id} did not start; see {job_dir}/runner.log")
                        await asyncio.sleep(0.01)
                port = _read_int(job_dir / _PORT_FILE)
                return StartedReplica(pid=pid, port=port, address=self.config.address if port else None)
            finally:
                self._starting.pop(job.submission_id, None)

    def _give_port(self, job: JobSpec, job_dir: Path) -> int | None:
        """The service replica's port, recorded in its job directory before it starts (a start
        repeated by a retry finds it there)."""
        if job.port is None:
            return None
        recorded = _read_int(job_dir / _PORT_FILE)
        if recorded is not None:
            return recorded
        with self._choosing_port:
            taken = {port for submission_id in self._port_holders()
                     if (port := _read_int(self._job_dir(submission_id) / _PORT_FILE)) is not None}
            port = choose_port(job.port, taken)
            (job_dir / _PORT_FILE).write_text(str(port))
        return port

    def _launch(self, job: JobSpec, job_dir: Path, code: Path | None) -> None:
        job_dir.mkdir(parents=True, exist_ok=True)
        home = self.workspaces_dir / job.submission_id
        working_dir = self._working_dir(job, home)
        port = self._give_port(job, job_dir)
        user, slot_fd = self._users.claim() if self._users is not None else (None, None)
        try:
            if code is not None:  # the home is the code: a relative working_dir is inside it
                unpack_code(code, home, (user.uid, user.gid) if user is not None else None)
            spec = {
                "commands": job.commands,
                "env": _job_environment(job, home, user.name if user else _user_name(os.geteuid()), bool(self.gpus),
                                        port),
                "home": str(home),
                "working_dir": str(working_dir),
                "make_dirs": [str(home / _TMP_DIR), *([str(working_dir)] if working_dir.is_relative_to(home) else [])],
                "user": user.runner_spec(slot_fd) if user is not None and slot_fd is not None else None,
            }
            # marshal: the runner reads it without importing json; both run this same interpreter.
            # A file per launch: a second launch that loses the job's lock can't change the winner's.
            spec_path = job_dir / f"{runner.SPEC_FILE}.{uuid.uuid4().hex[:8]}"
            spec_path.write_bytes(marshal.dumps(spec))
            with open(job_dir / "runner.log", "ab") as runner_log:
                # Run as a plain script in isolated mode: importing the package would pull in pydantic
                # and psutil, tripling the start time and memory of every replica.
                launcher = subprocess.Popen([sys.executable, "-I", "-S", runner.__file__, str(job_dir), str(spec_path)],
                                            start_new_session=True, stdin=subprocess.DEVNULL, stdout=runner_log,
                                            stderr=runner_log, close_fds=True,
                                            pass_fds=() if slot_fd is None else (slot_fd,))
            launcher.wait()  # it forks the runner proper and exits
        finally:
            if slot_fd is not None:
                os.close(slot_fd)  # the runner holds the slot now, or it lost the job and let it go

    def read_output(self, submission_id: str, offset: int, max_bytes: int) -> tuple[list[OutputLine], int]:
        path = os.path.join(self.config.jobs_dir, submission_id, runner.OUTPUT_FILE)
        try:
            if os.stat(path).st_size <= offset:
                return [], offset  # nothing new: most looks at a quiet replica end here
            with open(path, "rb") as output:
                output.seek(offset)
                chunk = output.read(max_bytes)
        except FileNotFoundError:
            return [], offset
        lines: list[OutputLine] = []
        position = offset
        for raw in chunk.splitlines(keepends=True):
            if not raw.endswith(b"\n"):
                break  # the runner is still writing this line
            record = json.loads(raw)
            lines.append(OutputLine(offset=position, timestamp=datetime.fromtimestamp(record["t"], UTC),
                                    stream=record["s"], message=record["m"]))
            position += len(raw)
        return lines, position

    def job_exit(self, submission_id: str) -> ReplicaExit | None:
        exited = self._job_exit(submission_id)
        if exited is not None:
            self._sampled.pop(submission_id, None)
            self._seen_alive_at.pop(submission_id, None)
            self._job_pgids.pop(submission_id, None)
        return exited

    def _job_exit(self, submission_id: str) -> ReplicaExit | None:
        job_dir = self._job_dir(submission_id)
        if not os.path.exists(os.path.join(job_dir, runner.EXIT_CODE_FILE)):
            now = time.monotonic()
            if now - self._seen_alive_at.get(submission_id, -_LIVENESS_SECONDS) < _LIVENESS_SECONDS:
                return None
            if _runner_alive(job_dir):
                self._seen_alive_at[submission_id] = now
                return None
        # The runner may have written the exit code between the two looks.
        exited = _read_exit(job_dir)
        if exited is not None:
            return exited
        self._stop_orphaned(submission_id)
        return ReplicaExit(exit_code=None,
                           message=f"the replica's runner on {self.config.name} was killed; its processes were stopped")

    def _stop_orphaned(self, submission_id: str) -> None:
        """What is left of a job whose runner died goes with it, so that a retry never runs
        beside it: its process group, and every process of its user when it has one."""
        job_dir = self._job_dir(submission_id)
        pgid = _read_int(job_dir / runner.JOB_PGID_FILE)
        if pgid is not None:
            _signal_group(pgid, signal.SIGKILL)
        user = _spec_user(job_dir)
        if user is not None and self._users is not None:
            self._users.kill_orphaned_processes(user["uid"] - self.config.job_uid_base)
        log.warning("stopped the processes of a job whose runner died", submission_id=submission_id)

    def _port_holders(self) -> list[str]:
        """Live jobs, and jobs still starting: their runner is not up yet, so live_jobs misses
        them, and their process has not bound its port (two replicas started at once got one)."""
        return [entry.name for entry in os.scandir(self.config.jobs_dir)
                if entry.is_dir() and not entry.name.startswith(".")
                and not os.path.exists(os.path.join(entry.path, runner.EXIT_CODE_FILE))
                and (_read_pid(Path(entry.path)) is None or _runner_alive(Path(entry.path)))]

    def live_jobs(self) -> list[str]:
        """Submissions whose runner is alive on this host."""
        return [entry.name for entry in os.scandir(self.config.jobs_dir)
                if entry.is_dir() and not entry.name.startswith(".")
                and not os.path.exists(os.path.join(entry.path, runner.EXIT_CODE_FILE))
                and _runner_alive(Path(entry.path))]

    async def terminate_job(self, submission_id: str, *, abort: bool, grace_seconds: float,
                            heartbeat: Heartbeat, signalled: Signalled) -> None:
        job_dir = self._job_dir(submission_id)
        pgid = _read_int(job_dir / runner.JOB_PGID_FILE)
        if pgid is None:
            return
        if not _runner_alive(job_dir):
            if _read_exit(job_dir) is None:
                self._stop_orphaned(submission_id)
            return
        if not abort:
            _signal_group(pgid, signal.SIGTERM)
            signalled()
            started = time.monotonic()
            while (now := time.monotonic()) < started + grace_seconds:
                if not _runner_alive(job_dir):
                    return
                # Most jobs are gone within a second; a heartbeat only for longer grace periods
                # saves the Temporal server a call per stop.
                if now - started >= _TERMINATE_QUIET_SECONDS:
                    result = heartbeat()
                    if result is not None:
                        await result
                await asyncio.sleep(_TERMINATE_POLL)
        # The runner survives this, stops the rest of the job and records the exit code (137).
        _signal_group(pgid, signal.SIGKILL)
        signalled()

    def process_ids(self, submission_id: str) -> list[int]:
        pgid = self._job_pgids.get(submission_id)
        if pgid is None:
            pgid = _read_int(self._job_dir(submission_id) / runner.JOB_PGID_FILE)
            if pgid is None:
                return []
            self._job_pgids[submission_id] = pgid  # the job's group leader, fixed for its life
        if not os.path.exists(f"/proc/{pgid}"):
            return []
        pids, pending = [pgid], [pgid]
        while pending:
            found = self._children_of(pending.pop())
            pids += found
            pending += found
        return pids

    def _children_of(self, pid: int) -> list[int]:
        """Linux lists each thread's children in /proc: a few small reads per replica, where
        asking psutil means reading the parent of every process on the host. Kernels without
        that file (CONFIG_PROC_CHILDREN) get a host-wide table, built at most once a second."""
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return []  # gone
        children: list[int] = []
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/children") as listing:
                    children += [int(child) for child in listing.read().split()]
            except FileNotFoundError:
                if not os.path.exists(f"/proc/{pid}/task/{task}"):
                    continue  # the thread ended
                return self._children_table().get(pid, [])
            except OSError:
                continue
        return children

    def _children_table(self) -> dict[int, list[int]]:
        now = time.monotonic()
        if now - self._children_read_at > _PROCESS_TABLE_SECONDS:
            table: dict[int, list[int]] = defaultdict(list)
            for process in psutil.process_iter(["ppid"]):
                table[process.info["ppid"]].append(process.pid)
            self._children, self._children_read_at = table, now
        return self._children

    def sample_metrics(self, submission_id: str) -> MetricsSample | None:
        pids = self.process_ids(submission_id)
        if not pids:
            self._sampled.pop(submission_id, None)
            return None
        previous = self._sampled.get(submission_id, {})
        current: dict[int, psutil.Process] = {}
        cpu_percent, memory_bytes = 0.0, 0
        for pid in pids:
            try:
                if pid in previous:
                    process = previous[pid]
                    cpu_percent += process.cpu_percent()
                else:
                    process = psutil.Process(pid)
                    process.cpu_percent()  # the reference for the next sample
                    # Seen for the first time: its average since it started, rather than the 0.0
                    # psutil reports, so a busy process shows up busy in its first sample.
                    cpu_percent += _lifetime_cpu_percent(process)
                memory_bytes += process.memory_info().rss
            except psutil.Error:
                continue  # it exited between the listing and now
            current[pid] = process
        self._sampled[submission_id] = current
        return MetricsSample(timestamp=datetime.now(UTC), cpu_percent=cpu_percent, memory_bytes=memory_bytes)


def _lifetime_cpu_percent(process: psutil.Process) -> float:
    elapsed = time.time() - process.create_time()
    if elapsed < _MIN_CPU_AVERAGE_SECONDS:  # clock ticks are 10 ms: too young to tell
        return 0.0
    times = process.cpu_times()
    return 100 * (times.user + times.system) / elapsed


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _read_exit(job_dir: Path) -> ReplicaExit | None:
    """The recorded exit code and, from runners that record it, when the job exited."""
    try:
        code, *exited_at = (job_dir / runner.EXIT_CODE_FILE).read_text().split()
        return ReplicaExit(exit_code=int(code),
                           exited_at=datetime.fromtimestamp(float(exited_at[0]), UTC) if exited_at else None)
    except (FileNotFoundError, ValueError):
        return None


def _spec_user(job_dir: Path) -> dict[str, int] | None:
    try:
        with open(job_dir / runner.SPEC_FILE, "rb") as file:
            return marshal.load(file).get("user")
    except (FileNotFoundError, EOFError, ValueError):
        return None


def _job_environment(job: JobSpec, home: Path, user_name: str, host_has_gpus: bool,
                     port: int | None) -> dict[str, str]:
    """Only what the job needs: a few base variables, its configuration's env, and the run's own
    variables. Never the server's environment, which holds its secrets."""
    base = {key: value for key, value in os.environ.items() if key in _PASSED_VARIABLES or key.startswith("LC_")}
    return {
        **base,
        "HOME": str(home), "USER": user_name, "LOGNAME": user_name, "SHELL": runner.BASH,
        "TMPDIR": str(home / _TMP_DIR), "PYTHONUNBUFFERED": "1",
        **job.env,
        "DURASTACK_RUN_NAME": job.run_name,
        "DURASTACK_RUN_ID": job.run_id,
        "DURASTACK_PROJECT": job.project,
        "DURASTACK_REPLICA_NUM": str(job.replica_num),
        "DURASTACK_SUBMISSION_NUM": str(job.submission_num),
        **({"PORT": str(port)} if port is not None else {}),
        **_visible_gpus(job, host_has_gpus),
    }


def _visible_gpus(job: JobSpec, host_has_gpus: bool) -> dict[str, str]:
    """Exactly the job's GPUs, whatever its env says, so that two replicas never share one; on a
    host with GPUs, a job given none sees none."""
    if job.gpu_indices:
        return {"CUDA_VISIBLE_DEVICES": ",".join(map(str, job.gpu_indices))}
    return {"CUDA_VISIBLE_DEVICES": ""} if host_has_gpus else {}


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _make_private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid == os.geteuid():
        path.chmod(0o700)


def _make_traversable_dir(path: Path) -> None:
    """Jobs of other users must reach their homes inside it, but not list it or write to it."""
    path.mkdir(mode=0o711, parents=True, exist_ok=True)
    status = path.stat()
    if status.st_uid != os.geteuid() or status.st_mode & 0o022:
        raise ValueError(f"{path} must belong to the server's user and be writable by it alone")
    path.chmod(0o711)
    for ancestor in path.parents:
        if not ancestor.stat().st_mode & 0o001:
            raise ValueError(f"jobs could not reach their homes in {path}: {ancestor} is closed to other users; "
                             "choose another DURASTACK_WORKSPACES_DIR")


def _read_pid(job_dir: Path) -> int | None:
    return _read_int(job_dir / runner.PID_FILE)


def _runner_alive(job_dir: Path) -> bool:
    """The runner holds an exclusive lock for its whole life; if we can take it, it is gone."""
    try:
        with open(job_dir / runner.LOCK_FILE, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(lock, fcntl.LOCK_UN)
            return False
    except FileNotFoundError:
        return False


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)
