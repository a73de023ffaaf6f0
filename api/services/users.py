"""Users and their tokens: global admins manage users; everyone manages their own tokens."""

from __future__ import annotations

import structlog

from api.account_schemas import IssuedTokenInfo, TokenInfo, UserInfo, UserWithToken
from api.errors import ApiError, Conflict, Forbidden, NotFound
from core.roles import Actor, GlobalRole, may_manage_tokens_of, may_manage_users
from store.accounts import Accounts, IssuedToken, LastGlobalAdmin, NameTaken, Token, User

log = structlog.get_logger(__name__)


class UserService:
    def __init__(self, accounts: Accounts) -> None:
        self._accounts = accounts

    async def list_users(self, caller: User) -> list[UserInfo]:
        _require_user_admin(caller, "list users")
        return [user_info(user) for user in await self._accounts.list_users()]

    async def create_user(self, caller: User, username: str, global_role: GlobalRole) -> UserWithToken:
        _require_user_admin(caller, "create users")
        try:
            user, issued = await self._accounts.add_user(username, global_role, token_name="first token")
        except NameTaken as error:
            raise Conflict(str(error)) from None
        log.info("user created", username=username, global_role=global_role.value, by=caller.name)
        return UserWithToken(**user_info(user).model_dump(), token=issued_token_info(issued))

    async def set_global_role(self, caller: User, username: str, global_role: GlobalRole) -> UserInfo:
        _require_user_admin(caller, "set global roles")
        try:
            user = await self._accounts.set_global_role(username, global_role)
        except LastGlobalAdmin as error:
            # Well-formed, but it conflicts with the users as they are.
            raise ApiError(409, f"global_role: {error}", "global_role") from None
        if user is None:
            raise NotFound(f"user {username} not found")
        log.info("global role set", username=username, global_role=global_role.value, by=caller.name)
        return user_info(user)

    async def issue_token(self, caller: User, username: str | None, name: str) -> IssuedTokenInfo:
        owner = await self._token_owner(caller, username, "issue")
        issued = await self._accounts.issue_token(owner, name)
        log.info("token issued", username=owner.name, token_id=issued.token.id, by=caller.name)
        return issued_token_info(issued)

    async def list_tokens(self, caller: User, username: str | None) -> list[TokenInfo]:
        owner = await self._token_owner(caller, username, "list")
        return [token_info(token) for token in await self._accounts.list_tokens(owner)]

    async def revoke_token(self, caller: User, token_id: str) -> TokenInfo:
        """Someone else's token is as unknown to a non-admin as a missing one."""
        owner_id = None if caller.is_global_admin else caller.id
        token = await self._accounts.revoke_token(token_id, owner_id=owner_id)
        if token is None:
            raise NotFound(f"token {token_id} not found")
        log.info("token revoked", username=token.user_name, token_id=token_id, by=caller.name)
        return token_info(token)

    async def _token_owner(self, caller: User, username: str | None, verb: str) -> User:
        if username is None or username == caller.name:
            return caller
        if not may_manage_tokens_of(Actor(caller.global_role), is_self=False):
            raise Forbidden(f"forbidden: only a global admin may {verb} tokens of other users")
        owner = await self._accounts.user_by_name(username)
        if owner is None:
            raise NotFound(f"user {username} not found")
        return owner


def _require_user_admin(caller: User, what: str) -> None:
    if not may_manage_users(Actor(caller.global_role)):
        raise Forbidden(f"forbidden: only a global admin may {what}")


def user_info(user: User) -> UserInfo:
    return UserInfo(username=user.name, global_role=user.global_role, created_at=user.created_at)


def token_info(token: Token) -> TokenInfo:
    return TokenInfo(id=token.id, username=token.user_name, name=token.name, created_at=token.created_at,
                     revoked_at=token.revoked_at, last_used_at=token.last_used_at)


def issued_token_info(issued: IssuedToken) -> IssuedTokenInfo:
    return IssuedTokenInfo(**token_info(issued.token).model_dump(), token=issued.secret)
