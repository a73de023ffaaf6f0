"""`durastack stats`: CPU and memory of the replicas of a run that are running now."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.live import Live

from cli.api_client import ApiClient
from cli.client_command import add_client_parser, with_client
from cli.output import is_finished, stats_table, stdout_console

# Replicas are sampled every 5 s; refreshing faster would only repeat the same numbers.
REFRESH_SECONDS = 5.0

_EPILOG = """\
CPU % is summed over a replica's processes (100 is one busy core); MEMORY is resident memory.
A replica appears once it runs and disappears when it stops running (scaled down, stopped).

exit code: 0, also when -w ends with Ctrl+C or with the run; 1 when the run was not found."""


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_client_parser(subcommands, "stats", "CPU and memory of a run's running replicas", _EPILOG)
    parser.add_argument("run_name", metavar="RUN", help="run name (the latest run of that name)")
    parser.add_argument("-w", "--watch", action="store_true",
                        help=f"refresh every {REFRESH_SECONDS:g} s until the run finishes (Ctrl+C to stop)")
    parser.set_defaults(handler=lambda args: with_client(args, lambda client: _stats(client, args)))


def _stats(client: ApiClient, args: argparse.Namespace) -> int:
    console = stdout_console()
    if not args.watch:
        stats = client.run_stats(args.run_name)
        console.print(stats_table(stats))
        _say_if_finished(stats)
        return 0
    try:
        stats = _watch(console, _snapshots(client, args.run_name))
    except KeyboardInterrupt:
        return 0  # how one leaves a watch
    _say_if_finished(stats)
    return 0


def _snapshots(client: ApiClient, run_name: str) -> Iterator[dict[str, Any]]:
    """The run's stats now, then every REFRESH_SECONDS, up to the first one of the finished run."""
    while True:
        stats = client.run_stats(run_name)
        yield stats
        if is_finished(stats["status"]):
            return
        time.sleep(REFRESH_SECONDS)


def _watch(console: Console, snapshots: Iterator[dict[str, Any]]) -> dict[str, Any]:
    """Redraws the table in place on a terminal; elsewhere prints each table, so a log keeps them all."""
    stats = next(snapshots)
    if not console.is_terminal:
        console.print(stats_table(stats))
        for stats in snapshots:
            console.print()
            console.print(stats_table(stats))
        return stats
    with Live(stats_table(stats), console=console, auto_refresh=False) as live:
        for stats in snapshots:
            live.update(stats_table(stats), refresh=True)
    return stats


def _say_if_finished(stats: dict[str, Any]) -> None:
    if is_finished(stats["status"]):
        print(f"{stats['run_name']}: {stats['status']}; no replica is running", file=sys.stderr, flush=True)
