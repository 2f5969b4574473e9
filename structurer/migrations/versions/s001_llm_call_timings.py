"""llm_calls: the server's per-call timings (prompt tokens processed vs reused, prefill and
decode time, speculative draft tokens proposed and accepted)

Revision ID: s001
Revises: h001
Create Date: 2026-12-04 15:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "s001"
down_revision: str | Sequence[str] | None = "h001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS: list[tuple[str, sa.types.TypeEngine[Any]]] = [
    ("prompt_processed", sa.Integer()),
    ("prompt_reused", sa.Integer()),
    ("prefill_ms", sa.Float()),
    ("decode_tokens", sa.Integer()),
    ("decode_ms", sa.Float()),
    ("draft_tokens", sa.Integer()),
    ("draft_accepted", sa.Integer()),
]


def upgrade() -> None:
    with op.batch_alter_table("llm_calls", schema=None) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("llm_calls", schema=None) as batch_op:
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
