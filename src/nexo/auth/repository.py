"""Queries of clients, users and used assertion ids."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from nexo.auth.domain import Client, Role, User
from nexo.auth.tables import ApiClientRow, ConsoleUserRow, UsedAssertionRow
from nexo.store.repository import RepositoryBase


def _client(row: ApiClientRow) -> Client:
    return Client(
        client_id=row.client_id,
        agency=row.agency,
        name=row.name,
        scopes=frozenset(row.scopes.split()),
        rate_per_second=row.rate_per_second,
        burst=row.burst,
        active=row.status == "active",
        has_secret=row.secret_hash is not None,
        default_purpose=row.default_purpose,
        public_jwk=row.public_jwk,
    )


class ClientRepository(RepositoryBase):
    def get(self, client_id: str) -> Client | None:
        row = self.session.get(ApiClientRow, client_id)
        return _client(row) if row else None

    def row(self, client_id: str) -> ApiClientRow | None:
        return self.session.get(ApiClientRow, client_id)

    def add(self, row: ApiClientRow) -> Client:
        self.session.add(row)
        self.session.flush()
        return _client(row)

    def all(self) -> list[Client]:
        rows = self.session.scalars(select(ApiClientRow).order_by(ApiClientRow.client_id))
        return [_client(r) for r in rows]

    def use_assertion(self, client_id: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        """Record a client assertion id; False if it was used before (a replay)."""
        self.session.execute(delete(UsedAssertionRow).where(UsedAssertionRow.expires_at < now))
        try:
            with self.session.begin_nested():
                self.session.add(
                    UsedAssertionRow(client_id=client_id, jti=jti, expires_at=expires_at)
                )
        except IntegrityError:
            return False
        return True


class UserRepository(RepositoryBase):
    def add(self, row: ConsoleUserRow) -> User:
        self.session.add(row)
        self.session.flush()
        return _user(row)

    def get(self, username: str) -> User | None:
        row = self.session.get(ConsoleUserRow, username)
        return _user(row) if row else None

    def all(self) -> list[User]:
        rows = self.session.scalars(select(ConsoleUserRow).order_by(ConsoleUserRow.username))
        return [_user(r) for r in rows]


def _user(row: ConsoleUserRow) -> User:
    return User(
        username=row.username,
        display_name=row.display_name,
        roles=frozenset(Role(r) for r in row.roles.split()),
        agency=row.agency,
        active=row.status == "active",
    )
