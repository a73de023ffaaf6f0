"""`durastack apply`: submit a run configuration, then follow the run to its end."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from cli.api_client import ApiClient
from cli.client_command import EXIT_FAILURE, add_client_parser, confirm, stdin_is_terminal, with_client
from cli.code_upload import CodeArchive, CodeArchiveError, pack_directory, upload_code, upload_line
from cli.fleet_apply import apply_fleet
from cli.log_commands import print_followed_logs
from cli.output import is_finished, print_error, print_line, print_outcomes, run_status_text
from cli.run_spec import load_run_spec
from core.configuration import ConfigurationError
from core.fleet_configuration import configuration_type

POLL_SECONDS = 0.5

_EPILOG = """\
code: the configuration file's directory goes with the run (at most 100 MB as a tar.gz; .git/
and what .gitignore and .durastackignore exclude stay behind), uploaded once for as long as it
doesn't change. Each job runs in its own copy, and a relative working_dir is relative to it.
With --no-code, jobs run in the file's directory itself, which only the CLI's own machine has.

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
    parser = add_client_parser(subcommands, "apply", "submit a run (or create an SSH fleet: type: fleet) and follow it",
                               _EPILOG)
    parser.add_argument("-f", "--file", type=Path, required=True, metavar="FILE",
                        help="run configuration (YAML); its directory is the run's code, and a relative "
                             "working_dir is relative to it")
    parser.add_argument("--no-code", action="store_true",
                        help="don't upload the file's directory: jobs run in it, on a host on this machine")
    parser.add_argument("-d", "--detach", action="store_true", help="submit and return at once")
    parser.add_argument("-y", "--yes", action="store_true",
                        help="answer yes: update or replace an active run of the same name, reuse a name, "
                             "stop the run on Ctrl+C")
    parser.add_argument("--name", help="run name (instead of `name` in the file, or a generated one)")
    parser.set_defaults(handler=_apply)


def _apply(args: argparse.Namespace) -> int:
    if _file_type(args.file) == "fleet":
        return apply_fleet(args)
    try:
        run_spec = load_run_spec(args.file, args.name, with_code=not args.no_code)
    except ConfigurationError as error:
        print_error(f"{args.file}: {error}")
        return EXIT_FAILURE
    try:
        code = None if args.no_code else pack_directory(Path(run_spec["configuration_path"]).parent)
    except CodeArchiveError as error:
        print_error(str(error))
        return EXIT_FAILURE
    return with_client(args, lambda client: _submit(client, run_spec, code, args))


def _submit(client: ApiClient, run_spec: dict[str, Any], code: CodeArchive | None, args: argparse.Namespace) -> int:
    if code is not None:
        print_line(upload_line(code, upload_code(client, code)), err=True)
        run_spec = {**run_spec, "repo_code_hash": code.hash}
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
    if run.get("service") and not is_finished(run["status"]):
        print(f"{run['run_name']}: serving at {run['service']['url']}", file=sys.stderr, flush=True)
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


def _file_type(path: Path) -> str | None:
    """`fleet` for a fleet configuration (`type: fleet`); anything else, unreadable files included,
    is the run configuration path's to read and refuse."""
    try:
        return configuration_type(path.read_text())
    except (OSError, UnicodeDecodeError):
        return None
