"""Users, tokens, projects and members."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from store.database import Database
from store.models import MemberModel, ProjectModel, TokenModel, UserModel, utcnow

DEFAULT_PROJECT = "main"
ADMIN_USER = "admin"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class User:
    id: str
    name: str
    global_role: str

    @property
    def is_global_admin(self) -> bool:
        return self.global_role == "admin"


@dataclass(frozen=True)
class Project:
    id: str
    name: str


class Accounts:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def user_by_token(self, token: str) -> User | None:
        async with self._db.read() as session:
            row = (await session.execute(
                select(UserModel).join(TokenModel, TokenModel.user_id == UserModel.id)
                .where(TokenModel.token_hash == hash_token(token), TokenModel.revoked_at.is_(None))
            )).scalar_one_or_none()
        return User(row.id, row.name, row.global_role) if row else None

    async def project_for(self, user: User, project_name: str) -> tuple[Project, str | None] | None:
        """The project and the user's role in it; None when the user may not see it."""
        async with self._db.read() as session:
            project = (await session.execute(
                select(ProjectModel).where(ProjectModel.name == project_name))).scalar_one_or_none()
            if project is None:
                return None
            role = (await session.execute(
                select(MemberModel.project_role).where(MemberModel.project_id == project.id,
                                                       MemberModel.user_id == user.id))).scalar_one_or_none()
        if role is None and not user.is_global_admin:
            return None
        return Project(project.id, project.name), role

    async def user_names(self, user_ids: set[str]) -> dict[str, str]:
        if not user_ids:
            return {}
        async with self._db.read() as session:
            rows = await session.execute(select(UserModel.id, UserModel.name).where(UserModel.id.in_(user_ids)))
        return {row.id: row.name for row in rows}

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
                admin = UserModel(id=str(uuid.uuid4()), name=ADMIN_USER, global_role="admin")
                session.add(admin)
                await session.flush()
            token_hash = hash_token(admin_token)
            existing = (await session.execute(
                select(TokenModel).where(TokenModel.token_hash == token_hash))).scalar_one_or_none()
            if existing is None:
                session.add(TokenModel(id=str(uuid.uuid4()), user_id=admin.id, token_hash=token_hash))
            project = (await session.execute(
                select(ProjectModel).where(ProjectModel.name == DEFAULT_PROJECT))).scalar_one_or_none()
            if project is None:
                project = ProjectModel(id=str(uuid.uuid4()), name=DEFAULT_PROJECT)
                session.add(project)
                await session.flush()
                session.add(MemberModel(project_id=project.id, user_id=admin.id, project_role="admin"))

    async def create_user(self, name: str, global_role: str = "user") -> tuple[User, str]:
        """A user and a first token for them (used by tests until the users API lands)."""
        token = new_token()
        user = UserModel(id=str(uuid.uuid4()), name=name, global_role=global_role)
        async with self._db.write() as session:
            session.add(user)
            await session.flush()
            session.add(TokenModel(id=str(uuid.uuid4()), user_id=user.id, token_hash=hash_token(token),
                                   created_at=utcnow()))
        return User(user.id, user.name, user.global_role), token

    async def add_member(self, project_name: str, user_id: str, role: str) -> None:
        async with self._db.write() as session:
            project = (await session.execute(
                select(ProjectModel).where(ProjectModel.name == project_name))).scalar_one()
            session.add(MemberModel(project_id=project.id, user_id=user_id, project_role=role))

    async def create_project(self, name: str, owner: User) -> Project:
        project = ProjectModel(id=str(uuid.uuid4()), name=name)
        try:
            async with self._db.write() as session:
                session.add(project)
                await session.flush()
                session.add(MemberModel(project_id=project.id, user_id=owner.id, project_role="admin"))
        except IntegrityError:
            raise ValueError(f"project {name} already exists") from None
        return Project(project.id, project.name)
