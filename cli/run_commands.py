"""`durastack ps`, `durastack stop`, `durastack scale` and `durastack delete`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from cli.api_client import ApiClient
from cli.client_command import EXIT_FAILURE, EXIT_USAGE, add_client_parser, confirm, stdin_is_terminal, with_client
from cli.output import history_table, print_error, print_outcomes, runs_table, services_table, stdout_console

# Without --all, `ps` shows every active run and this many of the latest runs.
RECENT_RUNS = 10


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ps = add_client_parser(subcommands, "ps", f"list the active runs and the {RECENT_RUNS} latest ones")
    ps.add_argument("run_name", metavar="RUN", nargs="?", help="with --history: the name whose runs to list")
    ps.add_argument("-a", "--all", action="store_true", help="every run, deleted ones included (marked)")
    ps.add_argument("--history", action="store_true",
                    help="every run that used the name RUN: id, status, submitted, finished, cost")
    ps.set_defaults(handler=_ps_command)

    stop = add_client_parser(subcommands, "stop", "stop runs: SIGTERM, then a kill after stop_duration",
                             "exit code: 1 when any run was not found or could not be stopped")
    stop.add_argument("runs", metavar="RUN", nargs="+", help="run names")
    stop.add_argument("-x", "--abort", action="store_true", help="kill at once instead of a graceful stop")
    stop.add_argument("-y", "--yes", action="store_true", help="don't ask for confirmation")
    stop.set_defaults(handler=_stop)

    scale = add_client_parser(subcommands, "scale", "set the number of replicas of services, with one request",
                              "exit code: 1 when any run was not found or could not be scaled, or when the\n"
                              "server refused the count (outside a service's replicas range)")
    scale.add_argument("runs", metavar="RUN", nargs="+", help="service run names")
    scale.add_argument("replicas", metavar="N", type=int, help="how many replicas each service should have")
    scale.add_argument("-y", "--yes", action="store_true", help="accepted for symmetry with stop; scale never asks")
    scale.set_defaults(handler=_scale)

    delete = add_client_parser(subcommands, "delete", "delete finished runs (the server keeps their history)",
                               "exit code: 1 when any run was not found or is still active")
    delete.add_argument("runs", metavar="RUN", nargs="+", help="run names")
    delete.add_argument("-y", "--yes", action="store_true", help="don't ask for confirmation")
    delete.set_defaults(handler=_delete)


def _ps_command(args: argparse.Namespace) -> int:
    if args.history != (args.run_name is not None):
        print_error("give a run name with --history (durastack ps NAME --history), or neither")
        return EXIT_USAGE
    if args.history:
        return with_client(args, lambda client: _history(client, args.run_name))
    return with_client(args, lambda client: _ps(client, args.all))


def _history(client: ApiClient, run_name: str) -> int:
    runs = client.list_runs(only_active=False, include_deleted=True, run_name=run_name)
    if not runs:
        print_error(f"no run has used the name {run_name}")
        return EXIT_FAILURE
    stdout_console().print(history_table(runs, datetime.now(UTC)))
    return 0


def _ps(client: ApiClient, show_all: bool) -> int:
    if show_all:
        runs = client.list_runs(only_active=False, include_deleted=True)
    else:
        recent = client.list_runs(only_active=False, limit=RECENT_RUNS)
        active = client.list_runs(only_active=True)
        runs = sorted({run["id"]: run for run in [*recent, *active]}.values(), key=_newest_first)
    console = stdout_console()
    console.print(runs_table(runs, datetime.now(UTC)))
    if (services := services_table(runs)) is not None:
        console.print()
        console.print(services)
    return 0


def _newest_first(run: dict[str, Any]) -> tuple[float, str]:
    return -datetime.fromisoformat(run["submitted_at"]).timestamp(), run["id"]


def _stop(args: argparse.Namespace) -> int:
    verb = "Abort" if args.abort else "Stop"
    if not _confirmed(args, f"{verb} {_runs_text(args.runs)}?", "stop"):
        return EXIT_FAILURE
    return with_client(args, lambda client: _outcomes_exit(client.stop_runs(args.runs, args.abort)))


def _scale(args: argparse.Namespace) -> int:
    # No confirmation: scaling is undone by scaling again, and the range was set by the service.
    return with_client(args, lambda client: _outcomes_exit(client.scale_runs(args.runs, args.replicas)))


def _delete(args: argparse.Namespace) -> int:
    if not _confirmed(args, f"Delete {_runs_text(args.runs)}?", "delete"):
        return EXIT_FAILURE
    return with_client(args, lambda client: _outcomes_exit(client.delete_runs(args.runs)))


def _confirmed(args: argparse.Namespace, question: str, verb: str) -> bool:
    if args.yes:
        return True
    if not stdin_is_terminal():
        # A script that forgot -y must not act on runs without anyone saying yes.
        print_error(f"not asking for confirmation without a terminal; pass -y to {verb} without asking")
        return False
    return confirm(question)


def _runs_text(names: list[str]) -> str:
    return f"the run {names[0]}" if len(names) == 1 else f"the {len(names)} runs {', '.join(names)}"


def _outcomes_exit(results: list[dict[str, Any]]) -> int:
    return 0 if print_outcomes(results) else EXIT_FAILURE
