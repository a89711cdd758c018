"""foundation: canonical records (history + current projections), ingest batches, quarantine

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingest_batch",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("mapping_name", sa.String(length=200), nullable=False),
        sa.Column("mapping_version", sa.String(length=64), nullable=True),
        sa.Column("input_name", sa.String(length=500), nullable=False),
        sa.Column("input_sha256", sa.String(length=64), nullable=False),
        sa.Column("input_size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows_read", sa.BigInteger(), nullable=False),
        sa.Column("stored", sa.BigInteger(), nullable=False),
        sa.Column("unchanged", sa.BigInteger(), nullable=False),
        sa.Column("quarantined", sa.BigInteger(), nullable=False),
        sa.Column(
            "quarantined_by_reason",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("resume_row", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_batch")),
    )
    with op.batch_alter_table("ingest_batch", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ingest_batch_input", ["agency", "source", "input_sha256"], unique=False
        )

    op.create_table(
        "quarantine_row",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("input_name", sa.String(length=500), nullable=False),
        sa.Column("input_sha256", sa.String(length=64), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("reason_code", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_row")),
        sa.UniqueConstraint(
            "agency", "source", "input_sha256", "row_number", name="uq_quarantine_row_input_row"
        ),
    )
    with op.batch_alter_table("quarantine_row", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantine_row_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            "ix_quarantine_row_status", ["agency", "source", "status"], unique=False
        )

    op.create_table(
        "source_record",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("source_record_id", sa.String(length=128), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mapping_version", sa.String(length=64), nullable=True),
        sa.Column("source_updated_on", sa.Date(), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_record")),
        sa.UniqueConstraint(
            "agency",
            "source",
            "entity_type",
            "source_record_id",
            "version",
            name="uq_source_record_version",
        ),
    )
    with op.batch_alter_table("source_record", schema=None) as batch_op:
        batch_op.create_index("ix_source_record_batch", ["batch_id"], unique=False)
        batch_op.create_index(
            "ix_source_record_key", ["agency", "source", "source_record_id"], unique=False
        )

    op.create_table(
        "benefit_enrolment",
        sa.Column("programme_code", sa.String(length=32), nullable=False),
        sa.Column("programme_name", sa.String(length=200), nullable=True),
        sa.Column("means_tested", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("monthly_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("household_id", sa.String(length=64), nullable=True),
        sa.Column("person_source", sa.String(length=64), nullable=True),
        sa.Column("person_record_id", sa.String(length=64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("source_updated_on", sa.Date(), nullable=True),
        sa.Column(
            "source_record_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["source_record_pk"],
            ["source_record.id"],
            name=op.f("fk_benefit_enrolment_source_record_pk_source_record"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benefit_enrolment")),
        sa.UniqueConstraint("agency", "source", "record_id", name="uq_benefit_enrolment_record"),
    )
    with op.batch_alter_table("benefit_enrolment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_benefit_enrolment_person_record_id"), ["person_record_id"], unique=False
        )

    op.create_table(
        "employment_episode",
        sa.Column("employer_name", sa.String(length=200), nullable=True),
        sa.Column("employer_id", sa.String(length=64), nullable=True),
        sa.Column("occupation", sa.String(length=4), nullable=True),
        sa.Column("monthly_wage", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("contract_type", sa.String(length=20), nullable=True),
        sa.Column("person_source", sa.String(length=64), nullable=True),
        sa.Column("person_record_id", sa.String(length=64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("source_updated_on", sa.Date(), nullable=True),
        sa.Column(
            "source_record_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["source_record_pk"],
            ["source_record.id"],
            name=op.f("fk_employment_episode_source_record_pk_source_record"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employment_episode")),
        sa.UniqueConstraint("agency", "source", "record_id", name="uq_employment_episode_record"),
    )
    with op.batch_alter_table("employment_episode", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_employment_episode_person_record_id"), ["person_record_id"], unique=False
        )

    op.create_table(
        "household",
        sa.Column("address_line", sa.String(length=200), nullable=True),
        sa.Column("locality", sa.String(length=100), nullable=True),
        sa.Column("postcode", sa.String(length=16), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("admin_area_code", sa.String(length=32), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("source_updated_on", sa.Date(), nullable=True),
        sa.Column(
            "source_record_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["source_record_pk"],
            ["source_record.id"],
            name=op.f("fk_household_source_record_pk_source_record"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household")),
        sa.UniqueConstraint("agency", "source", "record_id", name="uq_household_record"),
    )
    op.create_table(
        "household_membership",
        sa.Column("household_id", sa.String(length=64), nullable=False),
        sa.Column("person_record_id", sa.String(length=64), nullable=False),
        sa.Column("relationship", sa.String(length=20), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("source_updated_on", sa.Date(), nullable=True),
        sa.Column(
            "source_record_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["source_record_pk"],
            ["source_record.id"],
            name=op.f("fk_household_membership_source_record_pk_source_record"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_membership")),
        sa.UniqueConstraint("agency", "source", "record_id", name="uq_household_membership_record"),
    )
    with op.batch_alter_table("household_membership", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_household_membership_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_household_membership_person_record_id"),
            ["person_record_id"],
            unique=False,
        )

    op.create_table(
        "job_seeker_registration",
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("office_code", sa.String(length=32), nullable=True),
        sa.Column("desired_occupation", sa.String(length=4), nullable=True),
        sa.Column("person_source", sa.String(length=64), nullable=True),
        sa.Column("person_record_id", sa.String(length=64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("source_updated_on", sa.Date(), nullable=True),
        sa.Column(
            "source_record_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["source_record_pk"],
            ["source_record.id"],
            name=op.f("fk_job_seeker_registration_source_record_pk_source_record"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_seeker_registration")),
        sa.UniqueConstraint(
            "agency", "source", "record_id", name="uq_job_seeker_registration_record"
        ),
    )
    with op.batch_alter_table("job_seeker_registration", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_job_seeker_registration_person_record_id"),
            ["person_record_id"],
            unique=False,
        )

    op.create_table(
        "person_record",
        sa.Column("given_names", sa.String(length=120), nullable=True),
        sa.Column("family_name", sa.String(length=80), nullable=True),
        sa.Column("second_family_name", sa.String(length=80), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=8), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("address_line", sa.String(length=200), nullable=True),
        sa.Column("locality", sa.String(length=100), nullable=True),
        sa.Column("postcode", sa.String(length=16), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("admin_area_code", sa.String(length=32), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("source_updated_on", sa.Date(), nullable=True),
        sa.Column(
            "source_record_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["source_record_pk"],
            ["source_record.id"],
            name=op.f("fk_person_record_source_record_pk_source_record"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_record")),
        sa.UniqueConstraint("agency", "source", "record_id", name="uq_person_record_record"),
    )
    op.create_table(
        "programme_participation",
        sa.Column("programme_type", sa.String(length=32), nullable=False),
        sa.Column("programme_code", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("person_source", sa.String(length=64), nullable=True),
        sa.Column("person_record_id", sa.String(length=64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("source_updated_on", sa.Date(), nullable=True),
        sa.Column(
            "source_record_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["source_record_pk"],
            ["source_record.id"],
            name=op.f("fk_programme_participation_source_record_pk_source_record"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_participation")),
        sa.UniqueConstraint(
            "agency", "source", "record_id", name="uq_programme_participation_record"
        ),
    )
    with op.batch_alter_table("programme_participation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_programme_participation_person_record_id"),
            ["person_record_id"],
            unique=False,
        )

    op.create_table(
        "person_identifier",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "person_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("scheme", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("check_digit_ok", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_pk"],
            ["person_record.id"],
            name=op.f("fk_person_identifier_person_pk_person_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_identifier")),
    )
    with op.batch_alter_table("person_identifier", schema=None) as batch_op:
        batch_op.create_index("ix_person_identifier_lookup", ["scheme", "value"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_person_identifier_person_pk"), ["person_pk"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("person_identifier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_identifier_person_pk"))
        batch_op.drop_index("ix_person_identifier_lookup")

    op.drop_table("person_identifier")
    with op.batch_alter_table("programme_participation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_programme_participation_person_record_id"))

    op.drop_table("programme_participation")
    op.drop_table("person_record")
    with op.batch_alter_table("job_seeker_registration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_seeker_registration_person_record_id"))

    op.drop_table("job_seeker_registration")
    with op.batch_alter_table("household_membership", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_membership_person_record_id"))
        batch_op.drop_index(batch_op.f("ix_household_membership_household_id"))

    op.drop_table("household_membership")
    op.drop_table("household")
    with op.batch_alter_table("employment_episode", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_employment_episode_person_record_id"))

    op.drop_table("employment_episode")
    with op.batch_alter_table("benefit_enrolment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_benefit_enrolment_person_record_id"))

    op.drop_table("benefit_enrolment")
    with op.batch_alter_table("source_record", schema=None) as batch_op:
        batch_op.drop_index("ix_source_record_key")
        batch_op.drop_index("ix_source_record_batch")

    op.drop_table("source_record")
    with op.batch_alter_table("quarantine_row", schema=None) as batch_op:
        batch_op.drop_index("ix_quarantine_row_status")
        batch_op.drop_index(batch_op.f("ix_quarantine_row_batch_id"))

    op.drop_table("quarantine_row")
    with op.batch_alter_table("ingest_batch", schema=None) as batch_op:
        batch_op.drop_index("ix_ingest_batch_input")

    op.drop_table("ingest_batch")
