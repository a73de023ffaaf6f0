"""Entry point of the `durastack` command."""

from __future__ import annotations

import argparse
import sys

from cli import (
    account_commands,
    apply_command,
    fleet_commands,
    log_commands,
    run_commands,
    server_commands,
    stats_command,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="durastack", description="Durable runs for AI and batch workloads.")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    server_commands.register(subcommands)
    apply_command.register(subcommands)
    run_commands.register(subcommands)
    log_commands.register(subcommands)
    stats_command.register(subcommands)
    account_commands.register(subcommands)
    fleet_commands.register(subcommands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
