"""HTTP routes of users, tokens and projects (dstack's paths where dstack has them)."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import Provide
from litestar.status_codes import HTTP_200_OK

from api.account_schemas import (
    AddMembersRequest,
    CreateProjectRequest,
    CreateTokenRequest,
    CreateUserRequest,
    DeleteProjectsRequest,
    IssuedTokenInfo,
    ListTokensRequest,
    ProjectInfo,
    ProjectWithMembers,
    RemoveMembersRequest,
    RevokeTokenRequest,
    TokenInfo,
    UpdateUserRequest,
    UserInfo,
    UserWithToken,
)
from api.auth import ProjectAccess, authenticate
from api.controllers import provide_access
from api.errors import CALLER_ERRORS, NOT_FOUND_ERRORS, error_responses
from api.openapi import BEARER_TOKEN
from api.services.projects import ProjectService
from api.services.users import UserService, user_info
from store.accounts import User

# 403: the caller's global or project role does not allow it; 404: no such project or user.
ADMIN_ONLY_ERRORS = error_responses(403)
ROLE_ERRORS = error_responses(403, 404)


class UsersController(Controller):
    path = "/api/users"
    tags = ["users"]
    security = BEARER_TOKEN
    dependencies = {"caller": Provide(authenticate)}

    @post("/list", status_code=HTTP_200_OK, summary="Every user (global admins only)", responses=ADMIN_ONLY_ERRORS)
    async def list_users(self, caller: User, user_service: UserService) -> list[UserInfo]:
        return await user_service.list_users(caller)

    @post("/get_my_user", status_code=HTTP_200_OK, summary="The caller", responses=CALLER_ERRORS)
    async def get_my_user(self, caller: User) -> UserInfo:
        return user_info(caller)

    @post("/create", status_code=HTTP_200_OK, summary="Create a user and their first token (global admins only)",
          responses=error_responses(403, 409))
    async def create(self, caller: User, data: CreateUserRequest, user_service: UserService) -> UserWithToken:
        return await user_service.create_user(caller, data.username, data.global_role)

    @post("/update", status_code=HTTP_200_OK, summary="Set a user's global role (global admins only)",
          description="The last global admin can't be demoted (409): nobody could make another.",
          responses=error_responses(403, 404, 409))
    async def update(self, caller: User, data: UpdateUserRequest, user_service: UserService) -> UserInfo:
        return await user_service.set_global_role(caller, data.username, data.global_role)

    @post("/tokens/create", status_code=HTTP_200_OK, summary="Issue a token; its secret is shown this once",
          responses=ROLE_ERRORS)
    async def create_token(self, caller: User, data: CreateTokenRequest,
                           user_service: UserService) -> IssuedTokenInfo:
        return await user_service.issue_token(caller, data.username, data.name)

    @post("/tokens/list", status_code=HTTP_200_OK, summary="A user's tokens that still work (no secrets)",
          responses=ROLE_ERRORS)
    async def list_tokens(self, caller: User, data: ListTokensRequest, user_service: UserService) -> list[TokenInfo]:
        return await user_service.list_tokens(caller, data.username)

    @post("/tokens/revoke", status_code=HTTP_200_OK, summary="Revoke a token; the next request with it gets 401",
          description="Someone else's token is as unknown to a non-admin as a missing one (404).",
          responses=NOT_FOUND_ERRORS)
    async def revoke_token(self, caller: User, data: RevokeTokenRequest, user_service: UserService) -> TokenInfo:
        return await user_service.revoke_token(caller, data.id)


class ProjectsController(Controller):
    path = "/api/projects"
    tags = ["projects"]
    security = BEARER_TOKEN

    @post("/list", status_code=HTTP_200_OK, summary="The caller's projects (every project for a global admin)",
          dependencies={"caller": Provide(authenticate)}, responses=CALLER_ERRORS)
    async def list_projects(self, caller: User, project_service: ProjectService) -> list[ProjectInfo]:
        return await project_service.list_projects(caller)

    @post("/create", status_code=HTTP_200_OK, summary="Create a project; the caller becomes its admin",
          dependencies={"caller": Provide(authenticate)}, responses=error_responses(409))
    async def create(self, caller: User, data: CreateProjectRequest,
                     project_service: ProjectService) -> ProjectWithMembers:
        return await project_service.create_project(caller, data.project_name)

    @post("/delete", status_code=HTTP_200_OK,
          summary="Delete projects (their admins; global admins): all or nothing",
          description="A project with active runs or fleets is refused (409): stop or delete them first. "
                      "A deleted project's name is free again; its runs stay in the database.",
          dependencies={"caller": Provide(authenticate)}, responses=error_responses(403, 404, 409))
    async def delete(self, caller: User, data: DeleteProjectsRequest,
                     project_service: ProjectService) -> list[ProjectInfo]:
        return await project_service.delete_projects(caller, data.projects_names)

    @post("/{project_name:str}/get", status_code=HTTP_200_OK, summary="A project and its members",
          dependencies={"access": Provide(provide_access)}, responses=NOT_FOUND_ERRORS)
    async def get_project(self, access: ProjectAccess, project_service: ProjectService) -> ProjectWithMembers:
        return await project_service.get_project(access)

    @post("/{project_name:str}/add_members", status_code=HTTP_200_OK,
          summary="Add members or change their role (project admins; managers for the user role)",
          dependencies={"access": Provide(provide_access)}, responses=ROLE_ERRORS)
    async def add_members(self, access: ProjectAccess, data: AddMembersRequest,
                          project_service: ProjectService) -> ProjectWithMembers:
        return await project_service.add_members(access, data.members)

    @post("/{project_name:str}/remove_members", status_code=HTTP_200_OK,
          summary="Remove members (project admins; managers for members with the user role)",
          dependencies={"access": Provide(provide_access)}, responses=ROLE_ERRORS)
    async def remove_members(self, access: ProjectAccess, data: RemoveMembersRequest,
                             project_service: ProjectService) -> ProjectWithMembers:
        return await project_service.remove_members(access, data.usernames)
