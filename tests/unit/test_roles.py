"""Who may do what, as pure rules: every actor against every rule."""

from __future__ import annotations

import pytest

from core.roles import (
    Actor,
    GlobalRole,
    ProjectRole,
    may_delete_project,
    may_manage_run,
    may_manage_tokens_of,
    may_manage_users,
    may_see_project,
    member_change_refusal,
)

ADMIN, MANAGER, USER = ProjectRole.ADMIN, ProjectRole.MANAGER, ProjectRole.USER

GLOBAL_ADMIN = Actor(GlobalRole.ADMIN)  # not a member of the project
PROJECT_ADMIN = Actor(GlobalRole.USER, ADMIN)
PROJECT_MANAGER = Actor(GlobalRole.USER, MANAGER)
PROJECT_USER = Actor(GlobalRole.USER, USER)
OUTSIDER = Actor(GlobalRole.USER)

# actor: (sees the project, manages others' runs, manages users, deletes the project)
ACTORS = {
    "global admin": (GLOBAL_ADMIN, True, True, True, True),
    "project admin": (PROJECT_ADMIN, True, True, False, True),
    "project manager": (PROJECT_MANAGER, True, True, False, False),
    "project user": (PROJECT_USER, True, False, False, False),
    "outsider": (OUTSIDER, False, False, False, False),
}


@pytest.mark.parametrize("name", ACTORS)
def test_project_runs_and_users(name: str) -> None:
    actor, sees, manages_runs, manages_users, deletes_project = ACTORS[name]
    assert may_see_project(actor) is sees
    assert may_delete_project(actor) is deletes_project
    assert may_manage_run(actor, is_owner=False) is manages_runs
    assert may_manage_run(actor, is_owner=True) is True
    assert may_manage_users(actor) is manages_users
    assert may_manage_tokens_of(actor, is_self=True) is True
    assert may_manage_tokens_of(actor, is_self=False) is manages_users


ADMIN_ONLY = "only a project admin may add, remove or change a project {}"
NOT_MANAGING = "only project admins and managers may change the members of a project"


@pytest.mark.parametrize(("current", "new", "manager_refusal"), [
    (None, USER, None),                              # add a user
    (USER, None, None),                              # remove a user
    (USER, USER, None),                              # set a user's role again
    (None, MANAGER, ADMIN_ONLY.format("manager")),   # add a manager
    (None, ADMIN, ADMIN_ONLY.format("admin")),       # add an admin
    (USER, MANAGER, ADMIN_ONLY.format("manager")),   # promote a user
    (MANAGER, USER, ADMIN_ONLY.format("manager")),   # demote a manager
    (ADMIN, USER, ADMIN_ONLY.format("admin")),       # demote an admin
    (ADMIN, None, ADMIN_ONLY.format("admin")),       # remove an admin
    (MANAGER, None, ADMIN_ONLY.format("manager")),   # remove a manager
    (None, None, None),                              # remove someone who isn't a member
])
def test_member_changes(current: ProjectRole | None, new: ProjectRole | None, manager_refusal: str | None) -> None:
    assert member_change_refusal(GLOBAL_ADMIN, current, new) is None
    assert member_change_refusal(PROJECT_ADMIN, current, new) is None
    assert member_change_refusal(PROJECT_MANAGER, current, new) == manager_refusal
    assert member_change_refusal(PROJECT_USER, current, new) == NOT_MANAGING
    assert member_change_refusal(OUTSIDER, current, new) == NOT_MANAGING


def test_roles_are_the_strings_stored_and_sent() -> None:
    assert [role.value for role in GlobalRole] == ["admin", "user"]
    assert [role.value for role in ProjectRole] == ["admin", "manager", "user"]
