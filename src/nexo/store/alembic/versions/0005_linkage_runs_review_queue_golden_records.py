"""linkage runs, review queue, golden records

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mpi_review",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agency_a", sa.String(length=64), nullable=False),
        sa.Column("source_a", sa.String(length=64), nullable=False),
        sa.Column("record_a", sa.String(length=128), nullable=False),
        sa.Column("agency_b", sa.String(length=64), nullable=False),
        sa.Column("source_b", sa.String(length=64), nullable=False),
        sa.Column("record_b", sa.String(length=128), nullable=False),
        sa.Column("match_probability", sa.Float(), nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=False),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mpi_review")),
        sa.UniqueConstraint(
            "agency_a",
            "source_a",
            "record_a",
            "agency_b",
            "source_b",
            "record_b",
            name="uq_mpi_review_pair",
        ),
    )
    with op.batch_alter_table("mpi_review", schema=None) as batch_op:
        batch_op.create_index("ix_mpi_review_status", ["status"], unique=False)

    op.create_table(
        "mpi_run",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("trained", sa.Boolean(), nullable=False),
        sa.Column(
            "model",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "thresholds",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_mpi_run")),
    )
    with op.batch_alter_table("mpi_run", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mpi_run_model_version"), ["model_version"], unique=False
        )

    op.create_table(
        "mpi_golden",
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column(
            "record",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "provenance",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["mpi_person.person_id"], name=op.f("fk_mpi_golden_person_id_mpi_person")
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_mpi_golden")),
    )


def downgrade() -> None:
    op.drop_table("mpi_golden")
    with op.batch_alter_table("mpi_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mpi_run_model_version"))

    op.drop_table("mpi_run")
    with op.batch_alter_table("mpi_review", schema=None) as batch_op:
        batch_op.drop_index("ix_mpi_review_status")

    op.drop_table("mpi_review")
