"""`durastack fleet [list]` and `durastack fleet delete`."""

from __future__ import annotations

import argparse
import time

from cli.client_command import EXIT_FAILURE, add_client_parser, confirm, stdin_is_terminal, with_client
from cli.fleet_client import FleetClient
from cli.fleet_output import fleet_status_text, fleets_table
from cli.output import print_error, print_line, stdout_console
from core.statuses import FleetStatus

POLL_SECONDS = 1.0

_DELETE_EPILOG = """\
The runs with jobs on the fleet's hosts are stopped gracefully, then each host's worker is
stopped over SSH. delete waits until the fleet is terminated (-d: returns at once).

exit code: 1 when a fleet was not found or could not be deleted"""


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fleet = add_client_parser(subcommands, "fleet", "fleets and their instances (hosts); alone: `fleet list`")
    fleet.set_defaults(handler=_list)
    commands = fleet.add_subparsers(dest="fleet_command", metavar="COMMAND")

    listing = add_client_parser(commands, "list", "the fleets the project may use, each with its instances")
    listing.add_argument("-a", "--all", action="store_true", help="also fleets that were deleted")
    listing.set_defaults(handler=_list)

    delete = add_client_parser(commands, "delete", "delete SSH fleets: stop their runs, then their workers",
                               _DELETE_EPILOG)
    delete.add_argument("names", metavar="NAME", nargs="+", help="fleet names")
    delete.add_argument("-y", "--yes", action="store_true", help="don't ask for confirmation")
    delete.add_argument("-d", "--detach", action="store_true", help="don't wait until the fleets are terminated")
    delete.set_defaults(handler=_delete)


def _list(args: argparse.Namespace) -> int:
    def show(client: FleetClient) -> int:
        stdout_console().print(fleets_table(client.list_fleets(include_terminated=getattr(args, "all", False))))
        return 0

    return with_client(args, lambda api: show(FleetClient(api)))


def _delete(args: argparse.Namespace) -> int:
    names: list[str] = list(dict.fromkeys(args.names))
    what = f"the fleet {names[0]}" if len(names) == 1 else f"the {len(names)} fleets {', '.join(names)}"
    if not args.yes:
        if not stdin_is_terminal():
            print_error("not asking for confirmation without a terminal; pass -y to delete without asking")
            return EXIT_FAILURE
        if not confirm(f"Delete {what}? Runs on their instances are stopped."):
            return EXIT_FAILURE
    return with_client(args, lambda api: _delete_and_wait(FleetClient(api), names, args.detach))


def _delete_and_wait(client: FleetClient, names: list[str], detach: bool) -> int:
    fleets = client.delete(names)
    for fleet in fleets:
        print_line(f"{fleet.name}: {fleet_status_text(fleet)}", err=True)
    if detach:
        return 0
    pending = {fleet.name for fleet in fleets if fleet.status is not FleetStatus.TERMINATED}
    while pending:
        time.sleep(POLL_SECONDS)
        for name in sorted(pending):
            latest = client.get(name)
            if latest is None or latest.status is FleetStatus.TERMINATED:
                pending.discard(name)
                print_line(f"{name}: {fleet_status_text(latest) if latest else 'terminated'}", err=True)
    return 0
