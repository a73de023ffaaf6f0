"""`durastack apply`: submit a run configuration, then follow the run to its end."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from cli.api_client import ApiClient
from cli.client_command import EXIT_FAILURE, add_client_parser, confirm, stdin_is_terminal, with_client
from cli.log_commands import print_followed_logs
from cli.output import is_finished, print_error, print_line, print_outcomes, run_status_text
from cli.run_spec import load_run_spec
from core.configuration import ConfigurationError

POLL_SECONDS = 0.5

_EPILOG = """\
output: the run's log lines go to stdout, prefixed with [N] when the run has several
replicas; status changes and errors go to stderr. With -d, stdout is the run name.

When an active run already has the name, apply says what changed and asks: update it in
place when only replicas changed, else stop it gracefully, wait, and submit the new one.
A name that only finished runs used is simply reused ("Submit the run NAME?"): the old
runs stay in history. -y answers yes; without a terminal and without -y, apply refuses to
touch an active run.

Ctrl+C while following asks whether to stop the run (-y: stop without asking; stdin not
a terminal: leave it running), then detaches.

exit code: 0 when the run is done, or when detached (-d, Ctrl+C); 1 when the run failed or
was terminated, or when the file or the request was refused; 2 when no server is configured."""


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_client_parser(subcommands, "apply", "submit a run configuration and follow the run", _EPILOG)
    parser.add_argument("-f", "--file", type=Path, required=True, metavar="FILE",
                        help="run configuration (YAML); a relative working_dir is relative to this file")
    parser.add_argument("-d", "--detach", action="store_true", help="submit and return at once")
    parser.add_argument("-y", "--yes", action="store_true",
                        help="answer yes: update or replace an active run of the same name, reuse a name, "
                             "stop the run on Ctrl+C")
    parser.add_argument("--name", help="run name (instead of `name` in the file, or a generated one)")
    parser.set_defaults(handler=_apply)


def _apply(args: argparse.Namespace) -> int:
    try:
        run_spec = load_run_spec(args.file, args.name)
    except ConfigurationError as error:
        print_error(f"{args.file}: {error}")
        return EXIT_FAILURE
    return with_client(args, lambda client: _submit(client, run_spec, args))


def _submit(client: ApiClient, run_spec: dict[str, Any], args: argparse.Namespace) -> int:
    plan = client.plan(run_spec)
    if plan["action"] == "no_change":
        print_line(f"{plan['message'][0].upper()}{plan['message'][1:]}; nothing to do", err=True)
        return 0
    if not _agreed(plan, args.yes):
        return EXIT_FAILURE
    if plan["action"] == "replace":
        _stop_and_wait(client, plan["current_run"])
    run = client.apply(run_spec)
    if args.detach:
        print_line(run["run_name"])
        return 0
    try:
        run = _follow(client, run)
    except KeyboardInterrupt:
        name = run["run_name"]
        stop = args.yes or (stdin_is_terminal() and confirm(f"\nStop the run {name}?"))
        return _detach(client, name, stop)
    return 0 if run["status"] == "done" else EXIT_FAILURE


def _agreed(plan: dict[str, Any], yes: bool) -> bool:
    """Asks the plan's question where there is one to ask."""
    if plan["action"] == "create" and not plan["finished_runs"]:
        return True  # a name nobody used: nothing to ask
    if yes:
        return True
    if stdin_is_terminal():
        return confirm(plan["message"])
    if plan["action"] == "create":
        return True  # reusing a finished run's name changes nothing that exists
    print_error(f"{plan['message']} Not asking without a terminal; pass -y to go ahead")
    return False


def _stop_and_wait(client: ApiClient, current: dict[str, Any]) -> None:
    """Stops the active run of the name gracefully and waits until it has finished."""
    print_line(f"Stopping {current['run_name']} ({current['id']})...", err=True)
    client.stop_runs([current["id"]], abort=False)
    run = current
    while not is_finished(run["status"]):
        time.sleep(POLL_SECONDS)
        run = client.get_run(run_id=current["id"])
    _status(run)


def _follow(client: ApiClient, run: dict[str, Any]) -> dict[str, Any]:
    """Status changes until the run starts, its log lines until it ends; the final run."""
    _status(run)
    while run["status"] != "running" and not is_finished(run["status"]):
        time.sleep(POLL_SECONDS)
        run = _refresh(client, run)
    # Even a run that finished before we saw it running may have printed lines.
    replica_nums = sorted({job["replica_num"] for job in run["jobs"]} | set(range(run["desired_replicas"])))
    print_followed_logs(client, replica_nums, run_id=run["id"])
    # The stream ends when the run's projection is final, so this rarely waits.
    while not is_finished(run["status"]):
        run = _refresh(client, run)
        if not is_finished(run["status"]):
            time.sleep(POLL_SECONDS)
    return run


def _refresh(client: ApiClient, run: dict[str, Any]) -> dict[str, Any]:
    latest = client.get_run(run_id=run["id"])
    if latest["status"] != run["status"]:
        _status(latest)
    return latest


def _status(run: dict[str, Any]) -> None:
    print(f"{run['run_name']}: {run_status_text(run)}", file=sys.stderr, flush=True)


def _detach(client: ApiClient, run_name: str, stop: bool) -> int:
    if stop:
        return 0 if print_outcomes(client.stop_runs([run_name], abort=False)) else EXIT_FAILURE
    print(f"detached; run {run_name} keeps going (`durastack logs -f {run_name}` to follow it again)",
          file=sys.stderr, flush=True)
    return 0
