"""master person index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mpi_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("other_person_id", sa.String(length=32), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mpi_event")),
    )
    with op.batch_alter_table("mpi_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mpi_event_person_id"), ["person_id"], unique=False)

    op.create_table(
        "mpi_person",
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("merged_into", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_mpi_person")),
    )
    op.create_table(
        "mpi_link",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("match_probability", sa.Float(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["mpi_person.person_id"], name=op.f("fk_mpi_link_person_id_mpi_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mpi_link")),
        sa.UniqueConstraint("agency", "source", "record_id", name="uq_mpi_link_record"),
    )
    with op.batch_alter_table("mpi_link", schema=None) as batch_op:
        batch_op.create_index("ix_mpi_link_person", ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mpi_link", schema=None) as batch_op:
        batch_op.drop_index("ix_mpi_link_person")

    op.drop_table("mpi_link")
    op.drop_table("mpi_person")
    with op.batch_alter_table("mpi_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mpi_event_person_id"))

    op.drop_table("mpi_event")
