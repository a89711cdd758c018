"""ingest findings, quarantine edits, batch columns

Revision ID: 0003
Revises: 0007
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingest_finding",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("input_sha256", sa.String(length=64), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_finding")),
        sa.UniqueConstraint(
            "agency",
            "source",
            "input_sha256",
            "row_number",
            "field",
            "code",
            name="uq_ingest_finding_input_row",
        ),
    )
    with op.batch_alter_table("ingest_finding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_finding_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            "ix_ingest_finding_record", ["agency", "source", "record_id"], unique=False
        )

    with op.batch_alter_table("ingest_batch", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "columns",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "findings_by_reason",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )

    with op.batch_alter_table("quarantine_row", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw_original", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quarantine_row", schema=None) as batch_op:
        batch_op.drop_column("edited_at")
        batch_op.drop_column("raw_original")

    with op.batch_alter_table("ingest_batch", schema=None) as batch_op:
        batch_op.drop_column("findings_by_reason")
        batch_op.drop_column("columns")

    with op.batch_alter_table("ingest_finding", schema=None) as batch_op:
        batch_op.drop_index("ix_ingest_finding_record")
        batch_op.drop_index(batch_op.f("ix_ingest_finding_batch_id"))

    op.drop_table("ingest_finding")
