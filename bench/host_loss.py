"""Time from a host's loss to its replicas running again elsewhere.

    .venv/bin/python -m bench.host_loss [--replicas 10]

An embedded stack (`durastack server`: Temporal dev server, API, workers, SQLite) whose own host
is too small for the run, and two more hosts, `durastack worker` processes with their own host
ids and state directories (real hosts on this machine, with real replica processes). A task of
`--replicas` replicas (1 CPU each, `retry: {on_events: [interruption]}`) spreads over the two;
then one host is SIGKILLed with its jobs, as a machine that dies. For each replica that was on
it, the time from the kill until the API shows its new submission `running` on the other host.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from typing import Any

import httpx

from bench.common import load, percentile, print_table
from bench.stack import REPO, EmbeddedStack
from tests.support.cleanup import kill_jobs


def start_host(stack: EmbeddedStack, host_id: str, cpus: int) -> subprocess.Popen[bytes]:
    directory = stack.directory / host_id
    directory.mkdir()
    env = {**stack.env, "DURASTACK_HOST_ID": host_id, "DURASTACK_SERVER_DIR": str(directory),
           "DURASTACK_HOST_CPUS": str(cpus), "DURASTACK_HOST_MEMORY": "16GB",
           "DATABASE_URL": stack.env.get("DATABASE_URL") or f"sqlite+aiosqlite:///{stack.directory}/server/durastack.db",
           "TEMPORAL_ADDRESS": f"127.0.0.1:{stack.env['DURASTACK_TEMPORAL_PORT']}"}
    log = open(directory / "worker.log", "ab")  # noqa: SIM115 - owned by the child
    return subprocess.Popen([sys.executable, "-m", "cli.main", "worker"], cwd=REPO, env=env,
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL)


def get(http: httpx.Client, name: str) -> dict[str, Any]:
    response = http.post("/api/project/main/runs/get", json={"run_name": name})
    response.raise_for_status()
    return response.json()


def wait(http: httpx.Client, name: str, condition: Any, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = get(http, name)
        if condition(run):
            return run
        time.sleep(0.2)
    raise RuntimeError(f"{name}: condition not met in {timeout}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=10)
    args = parser.parse_args()
    print(f"load average before: {load()}")
    with EmbeddedStack(cpus=0.5, memory="1GB") as stack:
        hosts = {host_id: start_host(stack, host_id, args.replicas) for host_id in ("host-b", "host-c")}
        http = httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {stack.token}"}, timeout=30)
        try:
            for host_id in hosts:  # each host has joined its fleet once its worker says so
                log = stack.directory / host_id / "worker.log"
                deadline = time.monotonic() + 60
                while "workers started" not in log.read_text(errors="replace") and time.monotonic() < deadline:
                    time.sleep(0.2)
            http.post("/api/project/main/runs/apply", json={"run_spec": {"configuration": {
                "type": "task", "name": "spread", "replicas": args.replicas, "stop_duration": "1s",
                "commands": ["sleep 3600"], "resources": {"cpu": 1, "memory": "64MB"},
                "retry": {"on_events": ["interruption"], "duration": "1h"}}}}).raise_for_status()

            def current(run: dict[str, Any]) -> list[dict[str, Any]]:
                return [job["job_submissions"][-1] for job in run["jobs"]]

            run = wait(http, "spread", lambda run: all(s["status"] == "running" for s in current(run))
                       and len(current(run)) == args.replicas, 120)
            lost = [job["replica_num"] for job in run["jobs"] if job["job_submissions"][-1]["host_id"] == "host-b"]
            hosts["host-b"].send_signal(signal.SIGKILL)
            kill_jobs(stack.directory / "host-b" / "jobs")
            killed = time.monotonic()
            moved: dict[int, float] = {}
            while len(moved) < len(lost) and time.monotonic() - killed < 180:
                for job in get(http, "spread")["jobs"]:
                    latest = job["job_submissions"][-1]
                    if job["replica_num"] in lost and job["replica_num"] not in moved \
                            and latest["status"] == "running" and latest["host_id"] == "host-c":
                        moved[job["replica_num"]] = time.monotonic() - killed
                time.sleep(0.2)
            http.post("/api/project/main/runs/stop", json={"runs_names": ["spread"], "abort": True})
            times = sorted(moved.values())
            print_table(f"host loss: {len(lost)} of {args.replicas} replicas on the lost host", [
                ("replicas running again on the other host", f"{len(moved)} of {len(lost)}", ""),
                ("first / median / last (s after the kill)",
                 f"{times[0]:.1f} / {percentile(times, 0.5):.1f} / {times[-1]:.1f}" if times else "-",
                 "bound: 30 s silence + 5 s monitor"),
            ], ("metric", "result", "note"))
        finally:
            for process in hosts.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=30)
            for host_id in hosts:
                kill_jobs(stack.directory / host_id / "jobs")


if __name__ == "__main__":
    main()
