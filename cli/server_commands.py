"""`durastack server`, `durastack api`, `durastack worker`."""

from __future__ import annotations

import argparse
import asyncio

from server.settings import ENVIRONMENT_HELP, Settings

_ENVIRONMENT = "environment:\n" + "\n".join(f"  {name:<30} {text}" for name, text in ENVIRONMENT_HELP.items())


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, roles, text in (
        ("server", "all", "run everything on this machine: the Temporal dev server (unless TEMPORAL_ADDRESS "
                          "is set), the API, the workers and this machine as a host"),
        ("api", "api", "run the API only (production: several behind a load balancer)"),
        ("worker", "worker", "run the workers only, with this machine as a host"),
    ):
        parser = subcommands.add_parser(name, help=text, description=text, epilog=_ENVIRONMENT,
                                        formatter_class=argparse.RawDescriptionHelpFormatter)
        if roles in ("all", "api"):
            parser.add_argument("--host", help="address to listen on (default 127.0.0.1; env DURASTACK_SERVER_HOST)")
            parser.add_argument("--port", type=int, help="port to listen on (default 3000; env DURASTACK_SERVER_PORT)")
        parser.set_defaults(handler=_run, roles=roles)


def _run(args: argparse.Namespace) -> int:
    # Imported here so that client commands start without loading the API, Temporal and SQLAlchemy.
    from server.logging import configure_logging
    from server.main import Roles, serve
    from server.supervisor import TemporalStartError

    settings = Settings()
    if getattr(args, "host", None):
        settings.server_host = args.host
    if getattr(args, "port", None):
        settings.server_port = args.port
    configure_logging(settings.log_level, settings.log_json)
    if args.roles != "all" and settings.embedded_temporal:
        raise SystemExit(f"durastack {args.roles}: set TEMPORAL_ADDRESS (only `durastack server` embeds Temporal)")
    roles = Roles(api=args.roles in ("all", "api"), worker=args.roles in ("all", "worker"),
                  embedded_temporal=args.roles == "all" and settings.embedded_temporal)
    try:
        asyncio.run(serve(settings, roles))
    except TemporalStartError as error:  # logged where it happened; one readable line, not a traceback
        raise SystemExit(f"durastack {args.command}: {error}") from None
    return 0
