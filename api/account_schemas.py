"""Request and response bodies of users, tokens and projects, named as dstack names them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.fields import ProjectName, Text, UserName
from core.roles import GlobalRole, ProjectRole


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateUserRequest(_Request):
    username: UserName
    global_role: GlobalRole = GlobalRole.USER


class UpdateUserRequest(_Request):
    """The last global admin can't be demoted (409): nobody could make another."""

    username: UserName
    global_role: GlobalRole


class CreateTokenRequest(_Request):
    username: UserName | None = Field(default=None, description="whose token; default: the caller's")
    name: Text = Field(default="", max_length=100, description="a label to recognise the token by")


class ListTokensRequest(_Request):
    username: UserName | None = Field(default=None, description="whose tokens; default: the caller's")


class RevokeTokenRequest(_Request):
    id: Text = Field(min_length=1, max_length=36)


class CreateProjectRequest(_Request):
    project_name: ProjectName


class DeleteProjectsRequest(_Request):
    projects_names: list[ProjectName] = Field(min_length=1, max_length=100)


class MemberSetting(_Request):
    username: UserName
    project_role: ProjectRole


class AddMembersRequest(_Request):
    members: list[MemberSetting] = Field(min_length=1, max_length=1000)


class RemoveMembersRequest(_Request):
    usernames: list[UserName] = Field(min_length=1, max_length=1000)


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
    last_used_at: datetime | None = Field(description="when a request last carried it, to the minute; "
                                                      "null: never")


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
