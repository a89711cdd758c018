"""DCI registry API: senders, transactions, request items, callback deliveries, subscriptions

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dci_sender",
        sa.Column("sender_id", sa.String(length=99), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("signature", sa.String(length=16), nullable=False),
        sa.Column(
            "callback_uris",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "jwks",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sender_id", name=op.f("pk_dci_sender")),
    )
    with op.batch_alter_table("dci_sender", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dci_sender_client_id"), ["client_id"], unique=False)

    op.create_table(
        "dci_subscription",
        sa.Column("code", sa.String(length=99), nullable=False),
        sa.Column("sender_id", sa.String(length=99), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("transaction_id", sa.String(length=99), nullable=False),
        sa.Column("reference_id", sa.String(length=99), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("purpose", sa.String(length=128), nullable=False),
        sa.Column(
            "criteria",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("locale", sa.String(length=3), nullable=True),
        sa.Column("sender_uri", sa.String(length=2048), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_dci_subscription")),
    )
    with op.batch_alter_table("dci_subscription", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dci_subscription_sender_id"), ["sender_id"], unique=False
        )

    op.create_table(
        "dci_transaction",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("correlation_id", sa.String(length=99), nullable=False),
        sa.Column("sender_id", sa.String(length=99), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("default_purpose", sa.String(length=128), nullable=True),
        sa.Column("message_id", sa.String(length=99), nullable=False),
        sa.Column("transaction_id", sa.String(length=99), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "request",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("sender_uri", sa.String(length=2048), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dci_transaction")),
        sa.UniqueConstraint("correlation_id", name=op.f("uq_dci_transaction_correlation_id")),
        sa.UniqueConstraint("sender_id", "message_id", name="uq_dci_transaction_message"),
    )
    with op.batch_alter_table("dci_transaction", schema=None) as batch_op:
        batch_op.create_index("ix_dci_transaction_pending", ["status", "mode"], unique=False)
        batch_op.create_index(
            "ix_dci_transaction_txn", ["sender_id", "transaction_id"], unique=False
        )

    op.create_table(
        "dci_delivery",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "transaction_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=999), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["transaction_pk"],
            ["dci_transaction.id"],
            name=op.f("fk_dci_delivery_transaction_pk_dci_transaction"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dci_delivery")),
    )
    with op.batch_alter_table("dci_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_dci_delivery_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_dci_delivery_transaction_pk"), ["transaction_pk"], unique=False
        )

    op.create_table(
        "dci_request_item",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "transaction_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("sender_id", sa.String(length=99), nullable=False),
        sa.Column("reference_id", sa.String(length=99), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("reason_code", sa.String(length=64), nullable=True),
        sa.Column("reason_message", sa.String(length=999), nullable=True),
        sa.Column("total_count", sa.Integer(), nullable=True),
        sa.Column("page_number", sa.Integer(), nullable=True),
        sa.Column("page_size", sa.Integer(), nullable=True),
        sa.Column("locale", sa.String(length=3), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_pk"],
            ["dci_transaction.id"],
            name=op.f("fk_dci_request_item_transaction_pk_dci_transaction"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dci_request_item")),
    )
    with op.batch_alter_table("dci_request_item", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dci_request_item_reference", ["sender_id", "reference_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dci_request_item_transaction_pk"), ["transaction_pk"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dci_request_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dci_request_item_transaction_pk"))
        batch_op.drop_index("ix_dci_request_item_reference")

    op.drop_table("dci_request_item")
    with op.batch_alter_table("dci_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dci_delivery_transaction_pk"))
        batch_op.drop_index("ix_dci_delivery_due")

    op.drop_table("dci_delivery")
    with op.batch_alter_table("dci_transaction", schema=None) as batch_op:
        batch_op.drop_index("ix_dci_transaction_txn")
        batch_op.drop_index("ix_dci_transaction_pending")

    op.drop_table("dci_transaction")
    with op.batch_alter_table("dci_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dci_subscription_sender_id"))

    op.drop_table("dci_subscription")
    with op.batch_alter_table("dci_sender", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dci_sender_client_id"))

    op.drop_table("dci_sender")
