"""`durastack whoami`, `durastack user ...`, `durastack token ...` and `durastack project ...`."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeAlias

from rich.table import Table

from cli.api_client import ApiClient
from cli.client_command import EXIT_FAILURE, add_client_parser, confirm, stdin_is_terminal, with_client
from cli.output import print_error, print_line, relative_time, stdout_console

GLOBAL_ROLES = ("admin", "user")
PROJECT_ROLES = ("admin", "manager", "user")

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(subcommands: Subcommands) -> None:
    whoami = add_client_parser(subcommands, "whoami", "show the user the token belongs to")
    _handle(whoami, _whoami)
    _register_users(_group(subcommands, "user", "users (global admins create them and set their roles)"))
    _register_tokens(_group(subcommands, "token", "API tokens: issue and revoke yours (global admins: anyone's)"))
    _register_projects(_group(subcommands, "project", "projects and their members"))


def _group(subcommands: Subcommands, name: str, text: str) -> Subcommands:
    parser = subcommands.add_parser(name, help=text, description=text)
    return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")


def _handle(parser: argparse.ArgumentParser, action: Callable[[ApiClient, argparse.Namespace], int]) -> None:
    parser.set_defaults(handler=lambda args: with_client(args, lambda client: action(client, args)))


def _register_users(users: Subcommands) -> None:
    create = add_client_parser(users, "create", "create a user and print their first token (shown once)")
    create.add_argument("username", metavar="NAME")
    create.add_argument("--admin", action="store_true", help="make them a global admin")
    _handle(create, _create_user)

    _handle(add_client_parser(users, "list", "list every user (global admins only)"), _list_users)

    set_role = add_client_parser(users, "set-role", "set a user's global role (global admins only)")
    set_role.add_argument("username", metavar="NAME")
    set_role.add_argument("global_role", metavar="ROLE", choices=GLOBAL_ROLES, help=" or ".join(GLOBAL_ROLES))
    _handle(set_role, _set_role)


def _register_tokens(tokens: Subcommands) -> None:
    create = add_client_parser(tokens, "create", "issue a token and print it (shown once)")
    create.add_argument("--user", help="whose token (global admins only; default: yours)")
    create.add_argument("--name", default="", help="a label to recognise it by")
    _handle(create, _create_token)

    listing = add_client_parser(tokens, "list", "list tokens that still work (never their secrets)")
    listing.add_argument("--user", help="whose tokens (global admins only; default: yours)")
    _handle(listing, _list_tokens)

    revoke = add_client_parser(tokens, "revoke", "revoke a token: the next request with it is refused")
    revoke.add_argument("token_id", metavar="TOKEN_ID", help="the id shown by `token create` or `token list`")
    _handle(revoke, _revoke_token)


def _register_projects(projects: Subcommands) -> None:
    create = add_client_parser(projects, "create", "create a project; you become its admin")
    create.add_argument("project_name", metavar="NAME")
    _handle(create, _create_project)

    _handle(add_client_parser(projects, "list", "list your projects (every project for a global admin)"),
            _list_projects)

    delete = add_client_parser(projects, "delete", "delete projects (their admins; global admins)",
                               "refused while a project has active runs or fleets; its name is free again")
    delete.add_argument("project_names", metavar="PROJECT", nargs="+")
    delete.add_argument("-y", "--yes", action="store_true", help="don't ask for confirmation")
    _handle(delete, _delete_projects)

    members = add_client_parser(projects, "members", "list a project's members and their roles")
    members.add_argument("project_name", metavar="PROJECT")
    _handle(members, _members)

    add = add_client_parser(projects, "add-member", "add a member, or change their role",
                            "project admins may give any role; managers only `user`")
    add.add_argument("project_name", metavar="PROJECT")
    add.add_argument("username", metavar="USER")
    add.add_argument("--role", default="user", choices=PROJECT_ROLES, help="project role (default: user)")
    _handle(add, _add_member)

    remove = add_client_parser(projects, "remove-member", "remove members from a project",
                               "project admins may remove anyone; managers only members with the user role")
    remove.add_argument("project_name", metavar="PROJECT")
    remove.add_argument("usernames", metavar="USER", nargs="+")
    _handle(remove, _remove_members)


# -- handlers -------------------------------------------------------------------------------------


def _whoami(client: ApiClient, _: argparse.Namespace) -> int:
    user = client.my_user()
    print_line(f"{user['username']} (global role: {user['global_role']})")
    return 0


def _create_user(client: ApiClient, args: argparse.Namespace) -> int:
    user = client.create_user(args.username, "admin" if args.admin else "user")
    print_line(f"created user {user['username']} (global role: {user['global_role']})")
    _print_secret(user["token"])
    return 0


def _list_users(client: ApiClient, _: argparse.Namespace) -> int:
    _print_table(("USER", "GLOBAL ROLE", "CREATED"), ((user["username"], user["global_role"], _when(user))
                                                       for user in client.list_users()))
    return 0


def _set_role(client: ApiClient, args: argparse.Namespace) -> int:
    user = client.set_global_role(args.username, args.global_role)
    print_line(f"{user['username']}: global role {user['global_role']}")
    return 0


def _create_token(client: ApiClient, args: argparse.Namespace) -> int:
    _print_secret(client.create_token(args.user, args.name))
    return 0


def _list_tokens(client: ApiClient, args: argparse.Namespace) -> int:
    _print_table(("ID", "USER", "NAME", "CREATED", "LAST USED"),
                 ((token["id"], token["username"], token["name"], _when(token), _last_used(token))
                  for token in client.list_tokens(args.user)))
    return 0


def _revoke_token(client: ApiClient, args: argparse.Namespace) -> int:
    token = client.revoke_token(args.token_id)
    print_line(f"revoked token {token['id']} of {token['username']}")
    return 0


def _create_project(client: ApiClient, args: argparse.Namespace) -> int:
    project = client.create_project(args.project_name)
    print_line(f"created project {project['project_name']}; you are its admin")
    return 0


def _list_projects(client: ApiClient, _: argparse.Namespace) -> int:
    _print_table(("PROJECT", "YOUR ROLE", "CREATED"),
                 ((project["project_name"], project["project_role"] or "-", _when(project))
                  for project in client.list_projects()))
    return 0


def _delete_projects(client: ApiClient, args: argparse.Namespace) -> int:
    names = ", ".join(args.project_names)
    if not args.yes:
        if not stdin_is_terminal():
            print_error("not asking for confirmation without a terminal; pass -y to delete without asking")
            return EXIT_FAILURE
        if not confirm(f"Delete project{'s' if len(args.project_names) > 1 else ''} {names}? "
                       "Its members lose access to its runs' history."):
            return EXIT_FAILURE
    for project in client.delete_projects(args.project_names):
        print_line(f"deleted project {project['project_name']}")
    return 0


def _members(client: ApiClient, args: argparse.Namespace) -> int:
    _print_members(client.get_project(args.project_name))
    return 0


def _add_member(client: ApiClient, args: argparse.Namespace) -> int:
    _print_members(client.add_members(args.project_name, [{"username": args.username, "project_role": args.role}]))
    return 0


def _remove_members(client: ApiClient, args: argparse.Namespace) -> int:
    _print_members(client.remove_members(args.project_name, args.usernames))
    return 0


# -- output ---------------------------------------------------------------------------------------


def _print_secret(token: dict[str, Any]) -> None:
    print_line(f"token id: {token['id']}")
    print_line(f"token: {token['token']}")
    print_line("the token is shown only now; the server keeps its hash")


def _print_members(project: dict[str, Any]) -> None:
    _print_table(("USER", "PROJECT ROLE"), ((member["username"], member["project_role"])
                                            for member in project["members"]))


def _print_table(columns: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> None:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    stdout_console().print(table)


def _when(item: dict[str, Any]) -> str:
    return relative_time(datetime.fromisoformat(item["created_at"]), datetime.now(UTC))


def _last_used(token: dict[str, Any]) -> str:
    used = token.get("last_used_at")
    return relative_time(datetime.fromisoformat(used), datetime.now(UTC)) if used else "never"
