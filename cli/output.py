"""What the CLI prints: error lines, run tables, batch outcomes, log lines."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from core.statuses import RunStatus

# Reasons that only repeat what the status already says.
_OBVIOUS_REASONS = {"all_jobs_done", "done_by_runner"}
FAILED_OUTCOMES = ("not_found", "error")


def stdout_console() -> Console:
    # Piped output keeps whole rows (rich would wrap them at 80 columns) so that grep works.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def print_error(message: str) -> None:
    """One line on stderr; plain print so that nothing wraps or interprets markup."""
    print(f"error: {message}", file=sys.stderr, flush=True)


def print_line(text: str) -> None:
    print(text, flush=True)


def relative_time(then: datetime, now: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 10:
        return "now"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "min"), (1, "sec")):
        if seconds >= size:
            count = seconds // size
            if unit == "day" and count > 30:
                return then.strftime("%Y-%m-%d")
            plural = "s" if count > 1 and unit in ("day", "hour") else ""
            return f"{count} {unit}{plural} ago"
    return "now"  # unreachable: seconds >= 10 matches "sec"


def status_text(status: str, termination_reason: str | None) -> str:
    if termination_reason and termination_reason not in _OBVIOUS_REASONS:
        return f"{status} ({termination_reason})"
    return status


def format_cost(cost: float) -> str:
    return f"${cost:.2f}" if cost >= 1 else f"${cost:.4f}"


def is_finished(status: str) -> bool:
    return RunStatus(status).is_finished


def runs_table(runs: Iterable[dict[str, Any]], now: datetime) -> Table:
    """One row per run, then one indented row per replica showing its latest submission."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("NAME", "STATUS", "REPLICAS", "HOST", "EXIT", "SUBMITTED", "COST"):
        table.add_column(column, no_wrap=True)
    for run in runs:
        reason = run["termination_reason"] if is_finished(run["status"]) else None
        table.add_row(run["run_name"], status_text(run["status"], reason),
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


def print_outcomes(results: Iterable[dict[str, Any]]) -> bool:
    """One line per run; True when every outcome was a success."""
    succeeded = True
    for result in results:
        print_line(f"{result['run_name']}: {result['outcome']}")
        succeeded = succeeded and not result["outcome"].startswith(FAILED_OUTCOMES)
    return succeeded
