"""Users, tokens, projects and members. Tokens are stored as hashes; the secret is shown once."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.roles import Actor, GlobalRole, ProjectRole, may_delete_project, member_change_refusal
from core.statuses import FleetStatus
from store.database import Database
from store.models import FleetModel, MemberModel, ProjectModel, RunModel, TokenModel, UserModel, utcnow

DEFAULT_PROJECT = "main"
ADMIN_USER = "admin"
# A token's last use is written at most this often: a write on every request would be too many.
LAST_USED_PRECISION = timedelta(minutes=1)
_FINISHED_FLEETS = (FleetStatus.TERMINATED.value, FleetStatus.FAILED.value)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class User:
    id: str
    name: str
    global_role: GlobalRole
    created_at: datetime

    @property
    def is_global_admin(self) -> bool:
        return self.global_role is GlobalRole.ADMIN


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Token:
    id: str
    user_name: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class IssuedToken:
    token: Token
    secret: str  # only here, once: the database keeps its hash


@dataclass(frozen=True)
class Member:
    user_name: str
    project_role: ProjectRole


class NameTaken(Exception):
    pass


class LastGlobalAdmin(Exception):
    pass


class UnknownUsers(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


class MemberChangeRefused(Exception):
    pass


class UnknownProjects(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


class ProjectDeleteRefused(Exception):
    pass


class ProjectInUse(Exception):
    """Active runs or fleets would outlive their project: they must be stopped or deleted first."""


def _user(row: UserModel) -> User:
    return User(row.id, row.name, GlobalRole(row.global_role), row.created_at)


def _project(row: ProjectModel) -> Project:
    return Project(row.id, row.name, row.created_at)


def _token(row: TokenModel, user_name: str) -> Token:
    return Token(row.id, user_name, row.name, row.created_at, row.revoked_at, row.last_used_at)


def _new_token_row(user_id: str, name: str) -> tuple[TokenModel, str]:
    """A token's row, which keeps only its hash, and its secret."""
    secret = new_token()
    return TokenModel(id=str(uuid.uuid4()), user_id=user_id, token_hash=hash_token(secret), name=name,
                      created_at=utcnow()), secret


class Accounts:
    def __init__(self, database: Database) -> None:
        self._db = database

    # -- users ----------------------------------------------------------------------------------

    async def user_by_token(self, token: str) -> User | None:
        """Read on every request, so that a revoked token is refused from the next request on.
        Marks the token used, to the minute."""
        async with self._db.read() as session:
            found = (await session.execute(
                select(UserModel, TokenModel.id, TokenModel.last_used_at)
                .join(TokenModel, TokenModel.user_id == UserModel.id)
                .where(TokenModel.token_hash == hash_token(token), TokenModel.revoked_at.is_(None))
            )).one_or_none()
        if found is None:
            return None
        row, token_id, last_used_at = found
        now = utcnow()
        if last_used_at is None or now - last_used_at >= LAST_USED_PRECISION:
            await self._mark_used(token_id, now)
        return _user(row)

    async def _mark_used(self, token_id: str, now: datetime) -> None:
        # Conditional, so that a burst of requests (a page load) writes the time once.
        async with self._db.write() as session:
            await session.execute(update(TokenModel).where(
                TokenModel.id == token_id,
                or_(TokenModel.last_used_at.is_(None), TokenModel.last_used_at <= now - LAST_USED_PRECISION))
                .values(last_used_at=now))

    async def user_by_name(self, name: str) -> User | None:
        async with self._db.read() as session:
            row = (await session.execute(select(UserModel).where(UserModel.name == name))).scalar_one_or_none()
        return _user(row) if row else None

    async def list_users(self) -> list[User]:
        async with self._db.read() as session:
            rows = (await session.execute(select(UserModel).order_by(UserModel.created_at, UserModel.name))).scalars()
            return [_user(row) for row in rows]

    async def user_names(self, user_ids: set[str]) -> dict[str, str]:
        if not user_ids:
            return {}
        async with self._db.read() as session:
            rows = await session.execute(select(UserModel.id, UserModel.name).where(UserModel.id.in_(user_ids)))
        return {row.id: row.name for row in rows}

    async def add_user(self, name: str, global_role: GlobalRole, token_name: str = "") -> tuple[User, IssuedToken]:
        """A user and their first token, in one transaction."""
        row = UserModel(id=str(uuid.uuid4()), name=name, global_role=global_role.value, created_at=utcnow())
        token, secret = _new_token_row(row.id, token_name)
        try:
            async with self._db.write() as session:
                session.add(row)
                await session.flush()
                session.add(token)
        except IntegrityError:
            raise NameTaken(f"user {name} already exists") from None
        return _user(row), IssuedToken(_token(token, name), secret)

    async def create_user(self, name: str, global_role: str = "user") -> tuple[User, str]:
        """A user and their first token's secret (for tests and scripts)."""
        user, issued = await self.add_user(name, GlobalRole(global_role))
        return user, issued.secret

    async def set_global_role(self, name: str, global_role: GlobalRole) -> User | None:
        """None when there is no such user. Refuses to demote the last global admin, who is the
        only one able to make another."""
        async with self._db.write() as session:
            row = (await session.execute(
                select(UserModel).where(UserModel.name == name).with_for_update())).scalar_one_or_none()
            if row is None:
                return None
            if row.global_role == GlobalRole.ADMIN and global_role is not GlobalRole.ADMIN:
                # Locking every admin row serializes concurrent demotions on PostgreSQL.
                admins = (await session.execute(select(UserModel.id).where(
                    UserModel.global_role == GlobalRole.ADMIN.value).with_for_update())).all()
                if len(admins) <= 1:
                    raise LastGlobalAdmin(f"{name} is the last global admin; make another user admin first")
            row.global_role = global_role.value
            return _user(row)

    # -- tokens ---------------------------------------------------------------------------------

    async def issue_token(self, user: User, name: str = "") -> IssuedToken:
        row, secret = _new_token_row(user.id, name)
        async with self._db.write() as session:
            session.add(row)
        return IssuedToken(_token(row, user.name), secret)

    async def list_tokens(self, user: User) -> list[Token]:
        """The user's tokens that still work, oldest first."""
        async with self._db.read() as session:
            rows = (await session.execute(
                select(TokenModel).where(TokenModel.user_id == user.id, TokenModel.revoked_at.is_(None))
                .order_by(TokenModel.created_at, TokenModel.id))).scalars()
            return [_token(row, user.name) for row in rows]

    async def revoke_token(self, token_id: str, *, owner_id: str | None) -> Token | None:
        """Revokes the token (again: a no-op); None when it doesn't exist or, with `owner_id`,
        belongs to someone else."""
        async with self._db.write() as session:
            found = (await session.execute(
                select(TokenModel, UserModel.name).join(UserModel, UserModel.id == TokenModel.user_id)
                .where(TokenModel.id == token_id))).one_or_none()
            if found is None:
                return None
            row, user_name = found
            if owner_id is not None and row.user_id != owner_id:
                return None
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            return _token(row, user_name)

    # -- projects -------------------------------------------------------------------------------

    async def project_for(self, user: User, project_name: str) -> tuple[Project, ProjectRole | None] | None:
        """The project and the user's role in it; None when the user may not see it."""
        async with self._db.read() as session:
            found = (await session.execute(
                select(ProjectModel, MemberModel.project_role)
                .outerjoin(MemberModel, (MemberModel.project_id == ProjectModel.id) & (MemberModel.user_id == user.id))
                .where(ProjectModel.name == project_name, ProjectModel.deleted_at.is_(None)))).one_or_none()
        if found is None:
            return None
        project, role = found
        if role is None and not user.is_global_admin:
            return None
        return _project(project), ProjectRole(role) if role else None

    async def list_projects(self, user: User) -> list[tuple[Project, ProjectRole | None]]:
        """The user's projects with their role; every project for a global admin."""
        statement = (select(ProjectModel, MemberModel.project_role)
                     .outerjoin(MemberModel, (MemberModel.project_id == ProjectModel.id)
                                & (MemberModel.user_id == user.id))
                     .where(ProjectModel.deleted_at.is_(None))
                     .order_by(ProjectModel.created_at, ProjectModel.name))
        if not user.is_global_admin:
            statement = statement.where(MemberModel.user_id.is_not(None))
        async with self._db.read() as session:
            rows = (await session.execute(statement)).all()
        return [(_project(project), ProjectRole(role) if role else None) for project, role in rows]

    async def create_project(self, name: str, owner: User) -> Project:
        """The owner becomes the project's admin."""
        project = ProjectModel(id=str(uuid.uuid4()), name=name, created_at=utcnow())
        try:
            async with self._db.write() as session:
                session.add(project)
                await session.flush()
                session.add(MemberModel(project_id=project.id, user_id=owner.id, project_role=ProjectRole.ADMIN.value))
        except IntegrityError:
            raise NameTaken(f"project {name} already exists") from None
        return _project(project)

    async def delete_projects(self, names: Sequence[str], by: User) -> list[Project]:
        """Deletes the named projects if `by` may delete every one of them and none has active runs
        or fleets, all or nothing; answers them as they were.

        A deleted project loses its members and its name (its row stays, renamed, for its runs'
        history), so a new project may take the name."""
        names = list(dict.fromkeys(names))
        async with self._db.write() as session:
            rows = {row.name: row for row in (await session.execute(
                select(ProjectModel).where(ProjectModel.name.in_(names), ProjectModel.deleted_at.is_(None))
                .with_for_update())).scalars()}
            roles = {project_id: ProjectRole(role) for project_id, role in (await session.execute(
                select(MemberModel.project_id, MemberModel.project_role).where(
                    MemberModel.user_id == by.id, MemberModel.project_id.in_([row.id for row in rows.values()]))))}
            # Outside a project it is exactly as missing as one that doesn't exist.
            missing = [name for name in names
                       if name not in rows or (rows[name].id not in roles and not by.is_global_admin)]
            if missing:
                raise UnknownProjects(missing)
            for name in names:
                if not may_delete_project(Actor(by.global_role, roles.get(rows[name].id))):
                    raise ProjectDeleteRefused(f"only a project admin may delete project {name}")
            await _refuse_projects_in_use(session, rows)
            deleted = [_project(rows[name]) for name in names]
            now = utcnow()
            for row in rows.values():
                row.name, row.deleted_at = f"{row.name}~deleted~{row.id}", now
                for member in (await session.execute(
                        select(MemberModel).where(MemberModel.project_id == row.id))).scalars():
                    await session.delete(member)
        return deleted

    async def members(self, project: Project) -> list[Member]:
        async with self._db.read() as session:
            rows = (await session.execute(
                select(UserModel.name, MemberModel.project_role).join(UserModel, UserModel.id == MemberModel.user_id)
                .where(MemberModel.project_id == project.id).order_by(UserModel.name))).all()
        return [Member(name, ProjectRole(role)) for name, role in rows]

    async def change_members(self, project: Project, by: User, changes: Mapping[str, ProjectRole | None]) -> None:
        """Sets each named user's role (None: not a member) if `by` may, all or nothing.

        The rules are checked inside the write transaction against the roles as they are then,
        so that two concurrent changes can't combine into one that neither was allowed to make."""
        async with self._db.write() as session:
            # Serializes member changes of one project on PostgreSQL; SQLite has one writer anyway.
            await session.execute(select(ProjectModel.id).where(ProjectModel.id == project.id).with_for_update())
            users = await _users_by_name(session, list(changes))
            missing = [name for name in changes if name not in users]
            if missing:
                raise UnknownUsers(missing)
            rows = {row.user_id: row for row in (await session.execute(select(MemberModel).where(
                MemberModel.project_id == project.id,
                MemberModel.user_id.in_([by.id, *(user.id for user in users.values())])))).scalars()}
            by_row = rows.get(by.id)
            actor = Actor(by.global_role, ProjectRole(by_row.project_role) if by_row else None)
            for name, role in changes.items():
                current = rows.get(users[name].id)
                refusal = member_change_refusal(actor, ProjectRole(current.project_role) if current else None, role)
                if refusal is not None:
                    raise MemberChangeRefused(refusal)
            for name, role in changes.items():
                current = rows.get(users[name].id)
                if role is None:
                    if current is not None:
                        await session.delete(current)
                elif current is None:
                    session.add(MemberModel(project_id=project.id, user_id=users[name].id, project_role=role.value))
                else:
                    current.project_role = role.value

    # -- a fresh server -------------------------------------------------------------------------

    async def bootstrap(self, admin_token: str) -> None:
        """A fresh server has the admin user with this token and project `main`; idempotent,
        and safe when several API replicas start at once (the loser of a race tries again)."""
        for attempt in range(3):
            try:
                await self._bootstrap_once(admin_token)
                return
            except IntegrityError:
                if attempt == 2:
                    raise

    async def _bootstrap_once(self, admin_token: str) -> None:
        async with self._db.write() as session:
            admin = (await session.execute(
                select(UserModel).where(UserModel.name == ADMIN_USER))).scalar_one_or_none()
            if admin is None:
                admin = UserModel(id=str(uuid.uuid4()), name=ADMIN_USER, global_role=GlobalRole.ADMIN.value)
                session.add(admin)
                await session.flush()
            token_hash = hash_token(admin_token)
            existing = (await session.execute(
                select(TokenModel).where(TokenModel.token_hash == token_hash))).scalar_one_or_none()
            if existing is None:
                session.add(TokenModel(id=str(uuid.uuid4()), user_id=admin.id, token_hash=token_hash,
                                       name="server admin token"))
            project = (await session.execute(
                select(ProjectModel).where(ProjectModel.name == DEFAULT_PROJECT))).scalar_one_or_none()
            if project is None:
                project = ProjectModel(id=str(uuid.uuid4()), name=DEFAULT_PROJECT)
                session.add(project)
                await session.flush()
                session.add(MemberModel(project_id=project.id, user_id=admin.id, project_role=ProjectRole.ADMIN.value))


async def _refuse_projects_in_use(session: AsyncSession, projects: Mapping[str, ProjectModel]) -> None:
    """Raises ProjectInUse naming the first project with active runs or fleets, and them."""
    by_id = {row.id: name for name, row in projects.items()}
    runs = (await session.execute(select(RunModel.project_id, RunModel.run_name).where(
        RunModel.project_id.in_(by_id), RunModel.active.is_(True)).order_by(RunModel.run_name))).all()
    fleets = (await session.execute(select(FleetModel.project_id, FleetModel.name).where(
        FleetModel.project_id.in_(by_id), FleetModel.status.not_in(_FINISHED_FLEETS))
        .order_by(FleetModel.name))).all()
    for project_id, name in by_id.items():
        active = [run_name for owner, run_name in runs if owner == project_id]
        if active:
            raise ProjectInUse(f"project {name} has active runs ({', '.join(active)}): stop them first")
        live = [fleet for owner, fleet in fleets if owner == project_id]
        if live:
            raise ProjectInUse(f"project {name} has fleets ({', '.join(live)}): delete them first")


async def _users_by_name(session: AsyncSession, names: list[str]) -> dict[str, UserModel]:
    rows = (await session.execute(select(UserModel).where(UserModel.name.in_(names)))).scalars()
    return {row.name: row for row in rows}
