"""drop the source_record key index (the unique version key serves its lookups)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # every lookup of a record's versions names its entity type, so the unique key
    # (agency, source, entity_type, source_record_id, version) serves it (decision 0056)
    op.drop_index("ix_source_record_key", table_name="source_record")


def downgrade() -> None:
    op.create_index(
        "ix_source_record_key", "source_record", ["agency", "source", "source_record_id"]
    )
