"""Projects and their members. Any user may create a project and becomes its admin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import structlog

from api.account_schemas import Member, MemberSetting, ProjectInfo, ProjectWithMembers
from api.auth import ProjectAccess
from api.errors import Conflict, Forbidden, NotFound
from core.roles import ProjectRole
from store.accounts import (
    Accounts,
    MemberChangeRefused,
    NameTaken,
    Project,
    ProjectDeleteRefused,
    ProjectInUse,
    UnknownProjects,
    UnknownUsers,
    User,
)

log = structlog.get_logger(__name__)


class ProjectService:
    def __init__(self, accounts: Accounts) -> None:
        self._accounts = accounts

    async def list_projects(self, caller: User) -> list[ProjectInfo]:
        return [project_info(project, role) for project, role in await self._accounts.list_projects(caller)]

    async def create_project(self, caller: User, project_name: str) -> ProjectWithMembers:
        try:
            project = await self._accounts.create_project(project_name, caller)
        except NameTaken as error:
            raise Conflict(str(error)) from None
        log.info("project created", project=project_name, by=caller.name)
        return await self._with_members(project, caller)

    async def delete_projects(self, caller: User, project_names: Sequence[str]) -> list[ProjectInfo]:
        """All or nothing: the projects as they were, with the caller's role in them."""
        roles = {project.name: role for project, role in await self._accounts.list_projects(caller)}
        try:
            deleted = await self._accounts.delete_projects(project_names, caller)
        except UnknownProjects as error:
            names = error.names
            raise NotFound(f"project{'s' if len(names) > 1 else ''} {', '.join(names)} not found") from None
        except ProjectDeleteRefused as refusal:
            raise Forbidden(f"forbidden: {refusal}") from None
        except ProjectInUse as error:
            raise Conflict(str(error)) from None
        log.info("projects deleted", projects=[project.name for project in deleted], by=caller.name)
        return [project_info(project, roles.get(project.name)) for project in deleted]

    async def get_project(self, access: ProjectAccess) -> ProjectWithMembers:
        return await self._with_members(access.project, access.user)

    async def add_members(self, access: ProjectAccess, members: Sequence[MemberSetting]) -> ProjectWithMembers:
        """Adds users or changes their role; a user named twice gets the last role given."""
        await self._change(access, {member.username: member.project_role for member in members}, "members")
        return await self.get_project(access)

    async def remove_members(self, access: ProjectAccess, usernames: Sequence[str]) -> ProjectWithMembers:
        """Removing a user who is not a member changes nothing."""
        await self._change(access, dict.fromkeys(usernames), "usernames")
        return await self.get_project(access)

    async def _change(self, access: ProjectAccess, changes: Mapping[str, ProjectRole | None], field: str) -> None:
        try:
            await self._accounts.change_members(access.project, access.user, changes)
        except UnknownUsers as error:
            names = error.names
            raise NotFound(f"{field}: user{'s' if len(names) > 1 else ''} {', '.join(names)} not found") from None
        except MemberChangeRefused as refusal:
            raise Forbidden(f"forbidden: {refusal}") from None
        log.info("members changed", project=access.project.name, by=access.user.name,
                 changes={name: role.value if role else None for name, role in changes.items()})

    async def _with_members(self, project: Project, caller: User) -> ProjectWithMembers:
        """Read after any change, so the caller's own role is the current one."""
        members = [Member(username=member.user_name, project_role=member.project_role)
                   for member in await self._accounts.members(project)]
        role = next((member.project_role for member in members if member.username == caller.name), None)
        return ProjectWithMembers(**project_info(project, role).model_dump(), members=members)


def project_info(project: Project, role: ProjectRole | None) -> ProjectInfo:
    return ProjectInfo(project_name=project.name, created_at=project.created_at, project_role=role)
