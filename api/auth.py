"""Bearer tokens and project access. An outsider gets the same 404 as a missing project."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.rate_limit import get_remote_address

from api.errors import NotFound
from core.roles import Actor, ProjectRole, may_manage_run
from store.accounts import Accounts, Project, User, hash_token


@dataclass(frozen=True)
class ProjectAccess:
    user: User
    project: Project
    role: ProjectRole | None  # None for a global admin who is not a member

    @property
    def actor(self) -> Actor:
        return Actor(self.user.global_role, self.role)

    def may_manage_run(self, owner_id: str) -> bool:
        """Stop, scale or delete the run that `owner_id` submitted."""
        return may_manage_run(self.actor, is_owner=owner_id == self.user.id)


# The `opt` key of the routes that also take the token as `?token=`: the log stream only, because
# a browser's EventSource can't send headers. Anywhere else a token in the URL would end up in
# access logs and browser history for no reason.
ACCEPTS_QUERY_TOKEN = "accepts_query_token"


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if request.route_handler.opt.get(ACCEPTS_QUERY_TOKEN):
        return request.query_params.get("token") or None
    return None


def rate_limit_key(request: Request[Any, Any, Any]) -> str:
    """Whom a request counts against: its token (hashed: the limiter's store is no place for
    secrets), or its address without one. A wrong token is limited too, like any other."""
    token = bearer_token(request)
    return f"token:{hash_token(token)}" if token else f"address:{get_remote_address(request)}"


async def authenticate(request: Request[Any, Any, Any], accounts: Accounts) -> User:
    token = bearer_token(request)
    if token is None:
        hint = " (only logs/follow accepts ?token=)" if "token" in request.query_params else ""
        raise NotAuthorizedException(detail=f"missing token: send 'Authorization: Bearer <token>'{hint}")
    user = await accounts.user_by_token(token)
    if user is None:
        raise NotAuthorizedException(detail="invalid or revoked token")
    return user


async def project_access(request: Request[Any, Any, Any], accounts: Accounts, project_name: str) -> ProjectAccess:
    user = await authenticate(request, accounts)
    found = await accounts.project_for(user, project_name)
    if found is None:
        raise NotFound(f"project {project_name} not found")
    project, role = found
    return ProjectAccess(user=user, project=project, role=role)
