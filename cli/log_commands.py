"""`durastack logs`, and the live log printing that `apply` shares."""

from __future__ import annotations

import argparse
import queue
import threading
from collections.abc import Sequence
from typing import Any

from cli.api_client import ApiClient
from cli.client_command import EXIT_USAGE, add_client_parser, with_client
from cli.output import print_error, print_line


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_client_parser(subcommands, "logs", "print the log lines of one replica of a run")
    parser.add_argument("run_name", metavar="RUN", nargs="?", help="run name (the latest run of that name)")
    parser.add_argument("--id", dest="run_id", metavar="RUN_ID", help="a run id instead of a name")
    parser.add_argument("-f", "--follow", action="store_true",
                        help="keep printing new lines until the run finishes (Ctrl+C to stop following)")
    parser.add_argument("--replica", type=int, default=0, metavar="N", help="replica number (default 0)")
    parser.set_defaults(handler=_logs)


def _logs(args: argparse.Namespace) -> int:
    if (args.run_name is None) == (args.run_id is None):
        print_error("give either a run name or --id RUN_ID")
        return EXIT_USAGE

    def action(client: ApiClient) -> int:
        if args.follow:
            print_followed_logs(client, [args.replica], run_name=args.run_name, run_id=args.run_id)
        else:
            lines = client.poll_logs(run_name=args.run_name, run_id=args.run_id, replica_num=args.replica)
            for event in lines:
                print_line(event["message"])
        return 0

    return with_client(args, action)


def print_followed_logs(client: ApiClient, replica_nums: Sequence[int], *, run_name: str | None = None,
                        run_id: str | None = None) -> None:
    """Follows each replica until the run ends; with several, each line starts with `[replica]`."""
    if len(replica_nums) == 1:
        for event in client.follow_logs(run_name=run_name, run_id=run_id, replica_num=replica_nums[0]):
            print_line(event["message"])
        return

    # One thread per stream; only this thread prints, so lines never interleave mid-line.
    events: queue.Queue[tuple[int, dict[str, Any] | None] | BaseException] = queue.Queue()

    def pump(replica_num: int) -> None:
        try:
            for event in client.follow_logs(run_name=run_name, run_id=run_id, replica_num=replica_num):
                events.put((replica_num, event))
            events.put((replica_num, None))
        except BaseException as error:  # handed to the printing thread, which raises it
            events.put(error)

    for replica_num in replica_nums:
        threading.Thread(target=pump, args=(replica_num,), daemon=True).start()
    streaming = len(replica_nums)
    while streaming:
        item = events.get()
        if isinstance(item, BaseException):
            raise item
        replica_num, line = item
        if line is not None:
            print_line(f"[{replica_num}] {line['message']}")
        else:
            streaming -= 1
