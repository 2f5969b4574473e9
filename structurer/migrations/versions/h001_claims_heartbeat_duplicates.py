"""document claims, run heartbeat, duplicate files

Revision ID: h001
Revises: r002
Create Date: 2026-12-04 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "h001"
down_revision: str | Sequence[str] | None = "r002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("host", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.Float(), nullable=True))
    op.create_table(
        "document_claims",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("settings_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"]),
        sa.PrimaryKeyConstraint("document_id", "settings_hash"),
    )
    op.create_index("ix_document_claims_run_id", "document_claims", ["run_id"])
    op.create_table(
        "duplicate_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("duplicate_of", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_duplicate_files_run_id", "duplicate_files", ["run_id"])
    op.create_index("ix_duplicate_files_document_id", "duplicate_files", ["document_id"])


def downgrade() -> None:
    op.drop_index("ix_duplicate_files_document_id", table_name="duplicate_files")
    op.drop_index("ix_duplicate_files_run_id", table_name="duplicate_files")
    op.drop_table("duplicate_files")
    op.drop_index("ix_document_claims_run_id", table_name="document_claims")
    op.drop_table("document_claims")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("host")
        batch.drop_column("pid")
