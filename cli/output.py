"""What the CLI prints: error lines, run tables, batch outcomes, log lines."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from core.statuses import RunStatus

# Reasons that only repeat what the status (and, for replicas, the exit code) already says.
_OBVIOUS_REASONS = {("done", "all_jobs_done"), ("done", "done_by_runner"), ("aborted", "aborted_by_user"),
                    ("terminated", "terminated_by_user"), ("failed", "container_exited_with_error")}
FAILED_OUTCOMES = ("not_found", "error")


def stdout_console() -> Console:
    # Piped output keeps whole rows (rich would wrap them at 80 columns) so that grep works.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def print_error(message: str) -> None:
    """One line on stderr; plain print so that nothing wraps or interprets markup."""
    print(f"error: {message}", file=sys.stderr, flush=True)


def print_line(text: str, *, err: bool = False) -> None:
    print(text, file=sys.stderr if err else sys.stdout, flush=True)


def relative_time(then: datetime, now: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))  # max: the server's clock may be ahead
    if seconds < 10:
        return "now"
    if seconds < 60:
        return f"{seconds} sec ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return _plural(seconds // 3600, "hour")
    if seconds < 31 * 86400:
        return _plural(seconds // 86400, "day")
    return then.strftime("%Y-%m-%d")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'s' if count > 1 else ''} ago"


def status_text(status: str, termination_reason: str | None) -> str:
    if termination_reason and (status, termination_reason) not in _OBVIOUS_REASONS:
        return f"{status} ({termination_reason})"
    return status


def format_cost(cost: float) -> str:
    return f"${cost:.2f}" if cost >= 1 else f"${cost:.4f}"


def is_finished(status: str) -> bool:
    return RunStatus(status).is_finished


def run_status_text(run: dict[str, Any]) -> str:
    """A run's status, with its termination reason once it has finished."""
    return status_text(run["status"], run["termination_reason"] if is_finished(run["status"]) else None)


def _runs_table_with(*columns: str) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in columns:
        # In a narrow terminal a long status wraps rather than losing its end to an ellipsis.
        table.add_column(column, no_wrap=column != "STATUS", min_width=12 if column == "STATUS" else None)
    return table


def runs_table(runs: Iterable[dict[str, Any]], now: datetime) -> Table:
    """One row per run, then one indented row per replica showing its latest submission."""
    table = _runs_table_with("NAME", "STATUS", "REPLICAS", "HOST", "EXIT", "SUBMITTED", "COST")
    for run in runs:
        name = f"{run['run_name']} (deleted)" if run["deleted"] else run["run_name"]
        table.add_row(name, run_status_text(run),
                      f"{run['running_replicas']}/{run['desired_replicas']}", "", "",
                      relative_time(datetime.fromisoformat(run["submitted_at"]), now),
                      format_cost(run["cost"]))
        for job in run["jobs"]:
            if not job["job_submissions"]:
                continue
            latest = job["job_submissions"][-1]
            exit_code = latest["exit_code"]
            table.add_row(f"  replica={job['replica_num']} submission={latest['submission_num']}",
                          status_text(latest["status"], latest["termination_reason"]), "",
                          latest["host"] or "", "" if exit_code is None else str(exit_code),
                          relative_time(datetime.fromisoformat(latest["submitted_at"]), now),
                          format_cost(latest["cost"]), style="dim")
    return table


def services_table(runs: Iterable[dict[str, Any]]) -> Table | None:
    """Where each active service is reached (through the server's proxy); None without any."""
    services = [run for run in runs if run.get("service") and not is_finished(run["status"])]
    if not services:
        return None
    table = _runs_table_with("SERVICE", "URL", "READY")
    for run in services:
        table.add_row(run["run_name"], run["service"]["url"], str(run["service"]["ready_replicas"]))
    return table


def history_table(runs: Iterable[dict[str, Any]], now: datetime) -> Table:
    """One row per run that used a name, newest first."""
    table = _runs_table_with("ID", "STATUS", "SUBMITTED", "FINISHED", "COST")
    for run in runs:
        status = run_status_text(run) + (", deleted" if run["deleted"] else "")
        finished = run["finished_at"]
        table.add_row(run["id"], status, relative_time(datetime.fromisoformat(run["submitted_at"]), now),
                      relative_time(datetime.fromisoformat(finished), now) if finished else "",
                      format_cost(run["cost"]))
    return table


def format_bytes(size: int) -> str:
    """Binary units, named as in run configurations (MB is 1024² bytes)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}TB"


def stats_table(stats: dict[str, Any]) -> Table:
    """One row per replica running now, with its latest sample ("-" before the first one)."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("REPLICA", "SUBMISSION", "STATUS", "CPU %", "MEMORY"):
        table.add_column(column, no_wrap=True, justify="right" if column in ("CPU %", "MEMORY") else "left")
    for replica in stats["replicas"]:
        cpu, memory = replica["cpu_percent"], replica["memory_bytes"]
        table.add_row(str(replica["replica_num"]), str(replica["submission_num"]), replica["status"],
                      "-" if cpu is None else f"{cpu:.1f}", "-" if memory is None else format_bytes(memory))
    return table


def print_outcomes(results: Iterable[dict[str, Any]]) -> bool:
    """One line per run; True when every outcome was a success."""
    succeeded = True
    for result in results:
        print_line(f"{result['run_name']}: {result['outcome']}")
        succeeded = succeeded and not result["outcome"].startswith(FAILED_OUTCOMES)
    return succeeded
