"""Request and response bodies of users, tokens and projects, named as dstack names them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core.roles import GlobalRole, ProjectRole

USER_NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$"
# Project names go into workflow ids and URL paths, so they are as plain as run names.
PROJECT_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,49}$"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateUserRequest(_Request):
    username: str = Field(pattern=USER_NAME_PATTERN)
    global_role: GlobalRole = GlobalRole.USER


class UpdateUserRequest(_Request):
    username: str
    global_role: GlobalRole


class CreateTokenRequest(_Request):
    username: str | None = Field(default=None, description="whose token; default: the caller's")
    name: str = Field(default="", max_length=100, description="a label to recognise the token by")


class ListTokensRequest(_Request):
    username: str | None = Field(default=None, description="whose tokens; default: the caller's")


class RevokeTokenRequest(_Request):
    id: str = Field(min_length=1, max_length=36)


class CreateProjectRequest(_Request):
    project_name: str = Field(pattern=PROJECT_NAME_PATTERN)


class MemberSetting(_Request):
    username: str
    project_role: ProjectRole


class AddMembersRequest(_Request):
    members: list[MemberSetting] = Field(min_length=1, max_length=1000)


class RemoveMembersRequest(_Request):
    usernames: list[str] = Field(min_length=1, max_length=1000)


class UserInfo(BaseModel):
    username: str
    global_role: GlobalRole
    created_at: datetime


class TokenInfo(BaseModel):
    id: str
    username: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


class IssuedTokenInfo(TokenInfo):
    token: str = Field(description="the secret, shown this once: the server keeps only its hash")


class UserWithToken(UserInfo):
    token: IssuedTokenInfo = Field(description="the new user's first token")


class ProjectInfo(BaseModel):
    project_name: str
    created_at: datetime
    project_role: ProjectRole | None = Field(
        description="the caller's role; null for a global admin who is not a member")


class Member(BaseModel):
    username: str
    project_role: ProjectRole


class ProjectWithMembers(ProjectInfo):
    members: list[Member]
