"""Roles and who may do what with them. Pure rules: the API and the store ask, nothing here does I/O.

A global admin may do anything anywhere. In a project, admins manage every member, managers
manage `user` members only, and runs may be stopped, scaled or deleted by their owner or by a
project admin or manager. Any user may create a project (as dstack allows by default)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class GlobalRole(StrEnum):
    ADMIN = "admin"
    USER = "user"


class ProjectRole(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    USER = "user"


@dataclass(frozen=True)
class Actor:
    """Whoever makes a request, as the rules see them: in a project, `project_role` is None for
    a global admin who is not a member (non-members who are not global admins never get this far)."""

    global_role: GlobalRole
    project_role: ProjectRole | None = None

    @property
    def is_global_admin(self) -> bool:
        return self.global_role is GlobalRole.ADMIN

    @property
    def manages_project(self) -> bool:
        return self.is_global_admin or self.project_role in (ProjectRole.ADMIN, ProjectRole.MANAGER)

    @property
    def administers_project(self) -> bool:
        return self.is_global_admin or self.project_role is ProjectRole.ADMIN


def may_see_project(actor: Actor) -> bool:
    return actor.is_global_admin or actor.project_role is not None


def may_manage_run(actor: Actor, *, is_owner: bool) -> bool:
    """Stop, scale and delete. Submitting, reading and logs need membership only."""
    return is_owner or actor.manages_project


def may_manage_users(actor: Actor) -> bool:
    """Create users, list them and set their global role."""
    return actor.is_global_admin


def may_delete_project(actor: Actor) -> bool:
    """Deleting a project takes its members' access to its runs' history: its admins' call."""
    return actor.administers_project


def may_manage_tokens_of(actor: Actor, *, is_self: bool) -> bool:
    return is_self or actor.is_global_admin


def member_change_refusal(actor: Actor, current: ProjectRole | None, new: ProjectRole | None) -> str | None:
    """Why `actor` may not move a user from role `current` to `new` (None: not a member), or
    None when they may. A manager may add, remove and keep `user` members and nobody else."""
    if actor.administers_project:
        return None
    if actor.project_role is not ProjectRole.MANAGER:
        return "only project admins and managers may change the members of a project"
    for role in (current, new):
        if role is not None and role is not ProjectRole.USER:
            return f"only a project admin may add, remove or change a project {role}"
    return None
