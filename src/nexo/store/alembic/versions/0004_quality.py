"""quality runs, scores, failures, corrections

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quality_correction",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column(
            "current_value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "proposed_value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rule_id", sa.String(length=120), nullable=True),
        sa.Column("reporter", sa.String(length=120), nullable=False),
        sa.Column("reporter_role", sa.String(length=40), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reviewer", sa.String(length=120), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("batch_id", sa.String(length=36), nullable=True),
        sa.Column("new_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_correction")),
    )
    with op.batch_alter_table("quality_correction", schema=None) as batch_op:
        batch_op.create_index(
            "ix_quality_correction_record", ["agency", "source", "record_id"], unique=False
        )
        batch_op.create_index("ix_quality_correction_status", ["status"], unique=False)

    op.create_table(
        "quality_run",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.Column("rules_digest", sa.String(length=64), nullable=False),
        sa.Column(
            "rules",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("record_count", sa.BigInteger(), nullable=False),
        sa.Column("failure_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_run")),
    )
    with op.batch_alter_table("quality_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quality_run_started_at"), ["started_at"], unique=False)

    op.create_table(
        "quality_failure",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("rule_id", sa.String(length=120), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["quality_run.id"],
            name=op.f("fk_quality_failure_run_id_quality_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_failure")),
    )
    with op.batch_alter_table("quality_failure", schema=None) as batch_op:
        batch_op.create_index(
            "ix_quality_failure_record", ["agency", "source", "record_id"], unique=False
        )
        batch_op.create_index(
            "ix_quality_failure_run_rule", ["run_id", "rule_id", "agency", "source"], unique=False
        )

    op.create_table(
        "quality_score",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("rule_id", sa.String(length=120), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("checked", sa.BigInteger(), nullable=False),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["quality_run.id"],
            name=op.f("fk_quality_score_run_id_quality_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_score")),
    )
    with op.batch_alter_table("quality_score", schema=None) as batch_op:
        batch_op.create_index("ix_quality_score_agency_rule", ["agency", "rule_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quality_score_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quality_score", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quality_score_run_id"))
        batch_op.drop_index("ix_quality_score_agency_rule")

    op.drop_table("quality_score")
    with op.batch_alter_table("quality_failure", schema=None) as batch_op:
        batch_op.drop_index("ix_quality_failure_run_rule")
        batch_op.drop_index("ix_quality_failure_record")

    op.drop_table("quality_failure")
    with op.batch_alter_table("quality_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quality_run_started_at"))

    op.drop_table("quality_run")
    with op.batch_alter_table("quality_correction", schema=None) as batch_op:
        batch_op.drop_index("ix_quality_correction_status")
        batch_op.drop_index("ix_quality_correction_record")

    op.drop_table("quality_correction")
