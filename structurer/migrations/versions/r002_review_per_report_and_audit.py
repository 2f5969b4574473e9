"""review: fields grouped in one task per report, audit samples, annotator conflicts

Revision ID: r002
Revises: r001
Create Date: 2026-12-04 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "r002"
down_revision: str | Sequence[str] | None = "r001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_audits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("sampled", sa.Integer(), nullable=False),
        sa.Column("field_value_ids", sa.JSON(), nullable=True),
        sa.Column("extraction_ids", sa.JSON(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("task_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("slot", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("section", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("audit_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("features", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("reasons", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_review_tasks_audit_id"), ["audit_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_review_tasks_audit_id", "review_audits", ["audit_id"], ["id"]
        )
    with op.batch_alter_table("review_corrections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("conflict", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("review_corrections", schema=None) as batch_op:
        batch_op.drop_column("conflict")
    with op.batch_alter_table("review_tasks", schema=None) as batch_op:
        batch_op.drop_constraint("fk_review_tasks_audit_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_review_tasks_audit_id"))
        for name in ("reasons", "features", "audit_id", "section", "slot", "task_key"):
            batch_op.drop_column(name)
    op.drop_table("review_audits")
