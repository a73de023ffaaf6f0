"""The run table and the other pieces of CLI output."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console

from cli.output import (
    format_bytes,
    format_cost,
    history_table,
    print_outcomes,
    relative_time,
    runs_table,
    stats_table,
    status_text,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("ago", "text"), [
    (timedelta(seconds=3), "now"),
    (timedelta(seconds=42), "42 sec ago"),
    (timedelta(minutes=2, seconds=59), "2 min ago"),
    (timedelta(hours=1, minutes=5), "1 hour ago"),
    (timedelta(hours=5), "5 hours ago"),
    (timedelta(days=3), "3 days ago"),
    (timedelta(days=45), "2025-04-17"),
    (-timedelta(seconds=5), "now"),  # a server clock slightly ahead
])
def test_relative_time(ago: timedelta, text: str) -> None:
    assert relative_time(NOW - ago, NOW) == text


def test_status_shows_only_informative_reasons() -> None:
    assert status_text("done", "all_jobs_done") == "done"
    assert status_text("failed", "container_exited_with_error") == "failed"  # the exit code says more
    assert status_text("terminated", "stopped_by_user") == "terminated (stopped_by_user)"
    assert status_text("terminated", "aborted_by_user") == "terminated (aborted_by_user)"
    assert status_text("aborted", "aborted_by_user") == "aborted"
    assert status_text("running", None) == "running"


def test_cost() -> None:
    assert (format_cost(0), format_cost(0.01234), format_cost(12.5)) == ("$0.0000", "$0.0123", "$12.50")


def submission(num: int, status: str, **extra: Any) -> dict[str, Any]:
    return {"submission_num": num, "status": status, "termination_reason": None, "exit_code": None,
            "host": None, "submitted_at": (NOW - timedelta(minutes=2)).isoformat(), "cost": 0.0, **extra}


def run(name: str, status: str, jobs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"run_name": name, "status": status, "termination_reason": None, "running_replicas": 0,
            "desired_replicas": len(jobs), "submitted_at": (NOW - timedelta(minutes=3)).isoformat(),
            "cost": 0.0, "deleted": False, "finished_at": None, "id": name, "jobs": jobs, **extra}


def rendered_rows(runs: list[dict[str, Any]]) -> list[list[str]]:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(runs_table(runs, NOW))
    lines = console.export_text().splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "REPLICAS", "HOST", "EXIT", "SUBMITTED", "COST"]
    return [line.split() for line in lines[1:] if line.strip()]


def test_a_row_per_run_then_an_indented_row_per_replica() -> None:
    runs = [
        run("serve", "running", [
            {"replica_num": 0, "job_submissions": [
                submission(0, "failed", termination_reason="container_exited_with_error", exit_code=3),
                submission(1, "running", host="gpu-1", cost=0.25)]},
            {"replica_num": 1, "job_submissions": []},
        ], running_replicas=1, termination_reason="job_failed", cost=1.5),
        run("train", "terminated", [
            {"replica_num": 0, "job_submissions": [
                submission(0, "terminated", termination_reason="terminated_by_user", exit_code=143, host="vm")]},
            {"replica_num": 1, "job_submissions": [
                submission(0, "failed", termination_reason="failed_to_start_due_to_no_capacity")]},
        ], termination_reason="stopped_by_user"),
    ]
    assert rendered_rows(runs) == [
        # A live run's termination reason is not shown: it is not final.
        ["serve", "running", "1/2", "3", "min", "ago", "$1.50"],
        ["replica=0", "submission=1", "running", "gpu-1", "2", "min", "ago", "$0.2500"],
        ["train", "terminated", "(stopped_by_user)", "0/2", "3", "min", "ago", "$0.0000"],
        ["replica=0", "submission=0", "terminated", "vm", "143", "2", "min", "ago", "$0.0000"],
        ["replica=1", "submission=0", "failed", "(failed_to_start_due_to_no_capacity)", "2", "min", "ago",
         "$0.0000"],
    ]


def test_deleted_runs_are_marked() -> None:
    rows = rendered_rows([run("old", "done", [], deleted=True), run("new", "done", [])])
    assert [row[:2] for row in rows] == [["old", "(deleted)"], ["new", "done"]]


def test_history_has_a_row_per_run_with_its_id() -> None:
    console = Console(width=200, record=True, file=io.StringIO())
    finished = (NOW - timedelta(minutes=1)).isoformat()
    console.print(history_table([
        run("dev", "running", [], id="id-3", cost=0.5),
        run("dev", "terminated", [], id="id-2", finished_at=finished, termination_reason="stopped_by_user"),
        run("dev", "done", [], id="id-1", finished_at=finished, deleted=True),
    ], NOW))
    lines = [line.split() for line in console.export_text().splitlines() if line.strip()]
    assert lines == [
        ["ID", "STATUS", "SUBMITTED", "FINISHED", "COST"],
        ["id-3", "running", "3", "min", "ago", "$0.5000"],
        ["id-2", "terminated", "(stopped_by_user)", "3", "min", "ago", "1", "min", "ago", "$0.0000"],
        ["id-1", "done,", "deleted", "3", "min", "ago", "1", "min", "ago", "$0.0000"],
    ]


def test_outcomes_fail_on_not_found_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert print_outcomes([{"run_name": "a", "outcome": "stopping"},
                           {"run_name": "b", "outcome": "already_finished"}])
    assert not print_outcomes([{"run_name": "c", "outcome": "not_found"}])
    assert not print_outcomes([{"run_name": "d", "outcome": "error: run d is active; stop it first"}])
    assert capsys.readouterr().out.splitlines() == [
        "a: stopping", "b: already_finished", "c: not_found", "d: error: run d is active; stop it first"]


def test_bytes_in_binary_units() -> None:
    assert [format_bytes(size) for size in (0, 1023, 1536, 75 * 2**20 + 2**19, 3 * 2**30, 5 * 2**40)] == [
        "0B", "1023B", "1.5KB", "75.5MB", "3.0GB", "5.0TB"]


def test_a_stats_row_per_replica_with_a_dash_before_the_first_sample() -> None:
    stats = {"run_name": "svc", "status": "running", "replicas": [
        {"replica_num": 0, "submission_num": 1, "status": "running", "cpu_percent": 99.5,
         "memory_bytes": 64 * 2**20, "timestamp": NOW.isoformat()},
        {"replica_num": 2, "submission_num": 0, "status": "running", "cpu_percent": None, "memory_bytes": None,
         "timestamp": None}]}
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(stats_table(stats))
    assert [line.split() for line in console.export_text().splitlines()] == [
        ["REPLICA", "SUBMISSION", "STATUS", "CPU", "%", "MEMORY"],
        ["0", "1", "running", "99.5", "64.0MB"],
        ["2", "0", "running", "-", "-"]]
