"""reporting: clock events, assessments, obligations, reminders, reports and their versions, deliveries
to authorities and follow-up threads, recipient bindings, legal holds and retention state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import signalfire.core.db.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reporting_org_settings",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("org_sla_minutes", sa.Integer(), nullable=True),
        sa.Column("updated_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_label", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_reporting_org_settings_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_reporting_org_settings")),
    )
    op.create_table(
        "reporting_recipient_binding",
        sa.Column("regime_id", sa.String(length=80), nullable=False),
        sa.Column("recipient_id", sa.String(length=80), nullable=False),
        sa.Column("authority_org_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_label", sa.String(length=300), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_org_id"],
            ["organization.id"],
            name=op.f("fk_reporting_recipient_binding_authority_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporting_recipient_binding")),
        sa.UniqueConstraint("regime_id", "recipient_id", name="uq_reporting_recipient_binding_key"),
    )
    op.create_table(
        "reporting_reminder_lead",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("minutes", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_reporting_reminder_lead_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "minutes", name=op.f("pk_reporting_reminder_lead")),
    )
    op.create_table(
        "reporting_assessment",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("regime_id", sa.String(length=80), nullable=False),
        sa.Column("regime_version", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column(
            "answers", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("facts", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column(
            "applicability",
            sa.Enum("yes", "no", "unknown", name="reporting_applicability", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column(
            "missing_facts", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "outcome",
            sa.Enum(
                "reportable", "not_reportable", "undetermined", name="reporting_outcome", native_enum=False, length=40
            ),
            nullable=False,
        ),
        sa.Column(
            "classes", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "possible_classes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "concurrent_reports",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "possible_concurrent_reports",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "missing", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "engine_rationale",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column(
            "incident_snapshot",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("assessed_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("assessed_by", sa.Uuid(), nullable=True),
        sa.Column("assessed_by_label", sa.String(length=300), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessed_by"],
            ["user_account.id"],
            name=op.f("fk_reporting_assessment_assessed_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["response_incident.id"],
            name=op.f("fk_reporting_assessment_incident_id_response_incident"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_reporting_assessment_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporting_assessment")),
        sa.UniqueConstraint("incident_id", "regime_id", "version", name="uq_reporting_assessment_version"),
    )
    op.create_index(
        "ix_reporting_assessment_current",
        "reporting_assessment",
        ["incident_id", "regime_id", "is_current"],
        unique=False,
    )
    op.create_index(op.f("ix_reporting_assessment_org_id"), "reporting_assessment", ["org_id"], unique=False)
    op.create_table(
        "reporting_case",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("seen_occurred_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("seen_aware_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("seen_resolved_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("seen_closed_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("seen_is_drill", sa.Boolean(), nullable=True),
        sa.Column("synced_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retain_until", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retention_basis", sa.Text(), nullable=False),
        sa.Column("purged_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["response_incident.id"],
            name=op.f("fk_reporting_case_incident_id_response_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_reporting_case_org_id_organization"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_reporting_case")),
    )
    op.create_index(op.f("ix_reporting_case_org_id"), "reporting_case", ["org_id"], unique=False)
    op.create_index("ix_reporting_case_retention", "reporting_case", ["purged_at", "retain_until"], unique=False)
    op.create_table(
        "reporting_clock_event",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("recorded_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("recorded_by_label", sa.String(length=300), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["response_incident.id"],
            name=op.f("fk_reporting_clock_event_incident_id_response_incident"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_reporting_clock_event_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["user_account.id"],
            name=op.f("fk_reporting_clock_event_recorded_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporting_clock_event")),
    )
    op.create_index(
        "ix_reporting_clock_event_incident",
        "reporting_clock_event",
        ["incident_id", "event", "recorded_at"],
        unique=False,
    )
    op.create_table(
        "reporting_legal_hold",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("placed_by", sa.Uuid(), nullable=True),
        sa.Column("placed_by_label", sa.String(length=300), nullable=False),
        sa.Column("released_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("released_by_label", sa.String(length=300), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["response_incident.id"],
            name=op.f("fk_reporting_legal_hold_incident_id_response_incident"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_reporting_legal_hold_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["placed_by"],
            ["user_account.id"],
            name=op.f("fk_reporting_legal_hold_placed_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporting_legal_hold")),
    )
    op.create_index(
        "ix_reporting_legal_hold_incident", "reporting_legal_hold", ["incident_id", "released_at"], unique=False
    )
    op.create_table(
        "reporting_obligation",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("regime_id", sa.String(length=80), nullable=False),
        sa.Column("regime_version", sa.String(length=40), nullable=False),
        sa.Column("class_id", sa.String(length=80), nullable=False),
        sa.Column("stage", sa.String(length=60), nullable=False),
        sa.Column(
            "recipients", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("start_event", sa.String(length=200), nullable=False),
        sa.Column("start_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("legal_due_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("waiting_for", sa.String(length=200), nullable=True),
        sa.Column("confidence", sa.String(length=10), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column(
            "required_fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("due_from_reclassification_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("past_due_on_reclassification", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "due",
                "late",
                "submitted",
                "waived",
                "superseded",
                name="reporting_obligation_status",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("report_id", sa.Uuid(), nullable=True),
        sa.Column("closed_reason", sa.Text(), nullable=True),
        sa.Column("closed_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Uuid(), nullable=True),
        sa.Column("closed_by_label", sa.String(length=300), nullable=True),
        sa.Column("computed_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["closed_by"],
            ["user_account.id"],
            name=op.f("fk_reporting_obligation_closed_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["response_incident.id"],
            name=op.f("fk_reporting_obligation_incident_id_response_incident"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporting_obligation")),
        sa.UniqueConstraint("incident_id", "regime_id", "class_id", "stage", name="uq_reporting_obligation_key"),
    )
    op.create_index(
        "ix_reporting_obligation_board", "reporting_obligation", ["org_id", "is_open", "due_at"], unique=False
    )
    op.create_index("ix_reporting_obligation_sweep", "reporting_obligation", ["is_open", "due_at"], unique=False)
    op.create_table(
        "reporting_reminder",
        sa.Column("obligation_id", sa.Uuid(), nullable=False),
        sa.Column("lead_minutes", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("due_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("escalation", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["obligation_id"],
            ["reporting_obligation.id"],
            name=op.f("fk_reporting_reminder_obligation_id_reporting_obligation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("obligation_id", "lead_minutes", name=op.f("pk_reporting_reminder")),
    )
    op.create_table(
        "reporting_report",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("obligation_id", sa.Uuid(), nullable=False),
        sa.Column("regime_id", sa.String(length=80), nullable=False),
        sa.Column("regime_version", sa.String(length=40), nullable=False),
        sa.Column("class_id", sa.String(length=80), nullable=False),
        sa.Column("stage", sa.String(length=60), nullable=False),
        sa.Column(
            "status",
            sa.Enum("draft", "submitted", name="reporting_report_status", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("fields", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("version_count", sa.Integer(), nullable=False),
        sa.Column("created_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_label", sa.String(length=300), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_reporting_report_created_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["response_incident.id"],
            name=op.f("fk_reporting_report_incident_id_response_incident"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["obligation_id"],
            ["reporting_obligation.id"],
            name=op.f("fk_reporting_report_obligation_id_reporting_obligation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_reporting_report_org_id_organization"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporting_report")),
        sa.UniqueConstraint("obligation_id", name=op.f("uq_reporting_report_obligation_id")),
    )
    op.create_index(op.f("ix_reporting_report_incident_id"), "reporting_report", ["incident_id"], unique=False)
    op.create_index(op.f("ix_reporting_report_org_id"), "reporting_report", ["org_id"], unique=False)
    op.create_table(
        "reporting_message",
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("authority_org_id", sa.Uuid(), nullable=False),
        sa.Column("author_org_id", sa.Uuid(), nullable=False),
        sa.Column("author_user_id", sa.Uuid(), nullable=True),
        sa.Column("author_label", sa.String(length=300), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "acknowledgement", "question", "answer", name="reporting_message_kind", native_enum=False, length=40
            ),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("in_reply_to_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_org_id"],
            ["organization.id"],
            name=op.f("fk_reporting_message_author_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["user_account.id"],
            name=op.f("fk_reporting_message_author_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["authority_org_id"],
            ["organization.id"],
            name=op.f("fk_reporting_message_authority_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["in_reply_to_id"],
            ["reporting_message.id"],
            name=op.f("fk_reporting_message_in_reply_to_id_reporting_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_reporting_message_org_id_organization"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reporting_report.id"],
            name=op.f("fk_reporting_message_report_id_reporting_report"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporting_message")),
    )
    op.create_index(
        "ix_reporting_message_thread",
        "reporting_message",
        ["report_id", "authority_org_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "reporting_report_version",
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "content", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.Uuid(), nullable=True),
        sa.Column("submitted_by_label", sa.String(length=300), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["response_incident.id"],
            name=op.f("fk_reporting_report_version_incident_id_response_incident"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_reporting_report_version_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reporting_report.id"],
            name=op.f("fk_reporting_report_version_report_id_reporting_report"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by"],
            ["user_account.id"],
            name=op.f("fk_reporting_report_version_submitted_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporting_report_version")),
        sa.UniqueConstraint("report_id", "number", name="uq_reporting_report_version_number"),
    )
    op.create_index(
        op.f("ix_reporting_report_version_incident_id"), "reporting_report_version", ["incident_id"], unique=False
    )
    op.create_index(op.f("ix_reporting_report_version_org_id"), "reporting_report_version", ["org_id"], unique=False)
    op.create_table(
        "reporting_delivery",
        sa.Column("report_version_id", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("authority_org_id", sa.Uuid(), nullable=False),
        sa.Column(
            "recipient_ids", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("delivered_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Uuid(), nullable=True),
        sa.Column("acknowledged_by_label", sa.String(length=300), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["user_account.id"],
            name=op.f("fk_reporting_delivery_acknowledged_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["authority_org_id"],
            ["organization.id"],
            name=op.f("fk_reporting_delivery_authority_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_reporting_delivery_org_id_organization"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reporting_report.id"],
            name=op.f("fk_reporting_delivery_report_id_reporting_report"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["report_version_id"],
            ["reporting_report_version.id"],
            name=op.f("fk_reporting_delivery_report_version_id_reporting_report_version"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporting_delivery")),
        sa.UniqueConstraint("report_version_id", "authority_org_id", name="uq_reporting_delivery_target"),
    )
    op.create_index(
        "ix_reporting_delivery_inbox", "reporting_delivery", ["authority_org_id", "delivered_at"], unique=False
    )
    op.create_index(op.f("ix_reporting_delivery_report_id"), "reporting_delivery", ["report_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_reporting_delivery_report_id"), table_name="reporting_delivery")
    op.drop_index("ix_reporting_delivery_inbox", table_name="reporting_delivery")
    op.drop_table("reporting_delivery")
    op.drop_index(op.f("ix_reporting_report_version_org_id"), table_name="reporting_report_version")
    op.drop_index(op.f("ix_reporting_report_version_incident_id"), table_name="reporting_report_version")
    op.drop_table("reporting_report_version")
    op.drop_index("ix_reporting_message_thread", table_name="reporting_message")
    op.drop_table("reporting_message")
    op.drop_index(op.f("ix_reporting_report_org_id"), table_name="reporting_report")
    op.drop_index(op.f("ix_reporting_report_incident_id"), table_name="reporting_report")
    op.drop_table("reporting_report")
    op.drop_table("reporting_reminder")
    op.drop_index("ix_reporting_obligation_sweep", table_name="reporting_obligation")
    op.drop_index("ix_reporting_obligation_board", table_name="reporting_obligation")
    op.drop_table("reporting_obligation")
    op.drop_index("ix_reporting_legal_hold_incident", table_name="reporting_legal_hold")
    op.drop_table("reporting_legal_hold")
    op.drop_index("ix_reporting_clock_event_incident", table_name="reporting_clock_event")
    op.drop_table("reporting_clock_event")
    op.drop_index("ix_reporting_case_retention", table_name="reporting_case")
    op.drop_index(op.f("ix_reporting_case_org_id"), table_name="reporting_case")
    op.drop_table("reporting_case")
    op.drop_index(op.f("ix_reporting_assessment_org_id"), table_name="reporting_assessment")
    op.drop_index("ix_reporting_assessment_current", table_name="reporting_assessment")
    op.drop_table("reporting_assessment")
    op.drop_table("reporting_reminder_lead")
    op.drop_table("reporting_recipient_binding")
    op.drop_table("reporting_org_settings")
