"""transparency: report definitions and their published, immutable editions

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import signalfire.core.db.base

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transparency_report",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column(
            "sections", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "status",
            sa.Enum(
                "draft", "signed_off", "published", name="transparency_report_status", native_enum=False, length=40
            ),
            nullable=False,
        ),
        sa.Column("created_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_by_label", sa.String(length=300), nullable=False),
        sa.Column("updated_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by_label", sa.String(length=300), nullable=False),
        sa.Column("signed_off_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("signed_off_by", sa.Uuid(), nullable=True),
        sa.Column("signed_off_by_label", sa.String(length=300), nullable=True),
        sa.Column("signed_off_hash", sa.String(length=64), nullable=True),
        sa.Column("signoff_note", sa.Text(), nullable=True),
        sa.Column("edition_count", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_transparency_report_created_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_transparency_report_org_id_organization"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["signed_off_by"],
            ["user_account.id"],
            name=op.f("fk_transparency_report_signed_off_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["user_account.id"],
            name=op.f("fk_transparency_report_updated_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transparency_report")),
        sa.UniqueConstraint("org_id", "slug", name="uq_transparency_report_org_slug"),
    )
    with op.batch_alter_table("transparency_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transparency_report_org_id"), ["org_id"], unique=False)

    op.create_table(
        "transparency_edition",
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("supersedes", sa.Integer(), nullable=True),
        sa.Column("published_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.Uuid(), nullable=True),
        sa.Column("published_by_label", sa.String(length=300), nullable=False),
        sa.Column("author_label", sa.String(length=300), nullable=False),
        sa.Column("signed_off_by_label", sa.String(length=300), nullable=False),
        sa.Column("signed_off_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "figures", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("canonical", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_transparency_edition_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["published_by"],
            ["user_account.id"],
            name=op.f("fk_transparency_edition_published_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["transparency_report.id"],
            name=op.f("fk_transparency_edition_report_id_transparency_report"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transparency_edition")),
        sa.UniqueConstraint("report_id", "number", name="uq_transparency_edition_number"),
    )
    with op.batch_alter_table("transparency_edition", schema=None) as batch_op:
        batch_op.create_index("ix_transparency_edition_org_published", ["org_id", "published_at"], unique=False)
    # A published edition never changes: the database refuses an UPDATE or DELETE too, not only the ORM, so
    # a raw statement cannot alter what readers hold a hash of. (A SQLite batch rebuild of this table would
    # drop these triggers; a later migration that alters it must create them again.)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION transparency_edition_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'a published transparency edition is immutable'; END $$"
        )
        op.execute(
            "CREATE TRIGGER transparency_edition_immutable BEFORE UPDATE OR DELETE ON transparency_edition "
            "FOR EACH ROW EXECUTE FUNCTION transparency_edition_immutable()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER transparency_edition_no_{verb.lower()} BEFORE {verb} ON transparency_edition "
                "BEGIN SELECT RAISE(ABORT, 'a published transparency edition is immutable'); END"
            )


def downgrade() -> None:
    with op.batch_alter_table("transparency_edition", schema=None) as batch_op:
        batch_op.drop_index("ix_transparency_edition_org_published")

    op.drop_table("transparency_edition")  # its triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS transparency_edition_immutable()")
    with op.batch_alter_table("transparency_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transparency_report_org_id"))

    op.drop_table("transparency_report")
