"""What every client command shares: connection flags, settings, error lines and exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from cli.api_client import ApiClient, ApiError
from cli.client_config import ClientConfigError, add_connection_arguments, client_config_from_args
from cli.output import print_error

# Exit codes: 0 success, 1 a refusal or a failed run, 2 missing settings or bad usage (as argparse).
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def add_client_parser(subcommands: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
                      text: str, epilog: str = "") -> argparse.ArgumentParser:
    parser = subcommands.add_parser(
        name, help=text, description=text, epilog=epilog or None,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_connection_arguments(parser)
    return parser


def with_client(args: argparse.Namespace, action: Callable[[ApiClient], int]) -> int:
    """Runs `action` with a client for the configured server, turning failures into one line."""
    try:
        config = client_config_from_args(args, os.environ)
    except ClientConfigError as error:
        print_error(str(error))
        return EXIT_USAGE
    try:
        with ApiClient(config) as client:
            return action(client)
    except ApiError as error:
        print_error(str(error))
        return EXIT_FAILURE
    except KeyboardInterrupt:
        # Ctrl+C is how one leaves `logs -f`; no traceback for that.
        return EXIT_INTERRUPTED


def confirm(question: str) -> bool:
    """Asks on the terminal; anything but y/yes, or no answer, means no."""
    try:
        answer = input(f"{question} [y/N] ")
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
        return False
    return answer.strip().lower() in ("y", "yes")


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()
