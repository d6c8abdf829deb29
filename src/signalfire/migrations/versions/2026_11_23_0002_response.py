"""response: incidents, timeline, roles, actions, model inventory, playbooks, rosters, escalation,
contacts and post-incident reviews

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import signalfire.core.db.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "response_contact",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("agency", sa.String(length=200), nullable=False),
        sa.Column(
            "risk_domain",
            sa.Enum(
                "cbrn",
                "cyber_offence",
                "autonomy",
                "misuse",
                "model_weights",
                "privacy",
                "other",
                name="response_risk_domain",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("jurisdiction", sa.String(length=20), nullable=False),
        sa.Column("is_government", sa.Boolean(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "phone",
                "secure_email",
                "email",
                "portal",
                name="response_contact_channel",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("backup_address", sa.String(length=300), nullable=True),
        sa.Column("reachable_24h", sa.Boolean(), nullable=False),
        sa.Column("hours", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("last_verified_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verified_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_response_contact_org_id_organization"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["verified_by"],
            ["user_account.id"],
            name=op.f("fk_response_contact_verified_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_contact")),
    )
    op.create_index("ix_response_contact_org_domain", "response_contact", ["org_id", "risk_domain"], unique=False)
    op.create_table(
        "response_escalation_policy",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "risk_domain",
            sa.Enum(
                "cbrn",
                "cyber_offence",
                "autonomy",
                "misuse",
                "model_weights",
                "privacy",
                "other",
                name="response_risk_domain",
                native_enum=False,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column("levels", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("webhooks", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_response_escalation_policy_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_escalation_policy")),
    )
    op.create_index(
        op.f("ix_response_escalation_policy_org_id"), "response_escalation_policy", ["org_id"], unique=False
    )
    op.create_table(
        "response_incident",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "severity",
            sa.Enum("sev1", "sev2", "sev3", "sev4", name="response_severity", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column(
            "risk_domain",
            sa.Enum(
                "cbrn",
                "cyber_offence",
                "autonomy",
                "misuse",
                "model_weights",
                "privacy",
                "other",
                name="response_risk_domain",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "reported",
                "triaged",
                "contained",
                "mitigated",
                "resolved",
                "closed",
                name="response_incident_status",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("is_drill", sa.Boolean(), nullable=False),
        sa.Column(
            "affected_models",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("occurred_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("aware_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reported_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("triaged_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("contained_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("mitigated_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status_changed_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("created_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_response_incident_created_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_response_incident_org_id_organization"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_incident")),
        sa.UniqueConstraint("org_id", "reference", name="uq_response_incident_org_reference"),
    )
    op.create_index(
        "ix_response_incident_metrics", "response_incident", ["org_id", "is_drill", "aware_at"], unique=False
    )
    op.create_index(
        "ix_response_incident_open",
        "response_incident",
        ["org_id", "severity", "aware_at"],
        unique=False,
        postgresql_where=sa.text("status <> 'closed'"),
        sqlite_where=sa.text("status <> 'closed'"),
    )
    op.create_table(
        "response_model_version",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column(
            "surfaces", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("deployed_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_response_model_version_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_model_version")),
        sa.UniqueConstraint("org_id", "name", "version", name="uq_response_model_version_key"),
    )
    op.create_index(op.f("ix_response_model_version_org_id"), "response_model_version", ["org_id"], unique=False)
    op.create_table(
        "response_playbook",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "risk_domain",
            sa.Enum(
                "cbrn",
                "cyber_offence",
                "autonomy",
                "misuse",
                "model_weights",
                "privacy",
                "other",
                name="response_risk_domain",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("criteria", sa.Text(), nullable=False),
        sa.Column("steps", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("created_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_response_playbook_created_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_response_playbook_org_id_organization"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_playbook")),
        sa.UniqueConstraint("org_id", "slug", "version", name="uq_response_playbook_version"),
    )
    op.create_index(op.f("ix_response_playbook_org_id"), "response_playbook", ["org_id"], unique=False)
    op.create_table(
        "response_reference_counter",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_response_reference_counter_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "year", name=op.f("pk_response_reference_counter")),
    )
    op.create_table(
        "response_roster",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("team", sa.String(length=120), nullable=False),
        sa.Column(
            "risk_domain",
            sa.Enum(
                "cbrn",
                "cyber_offence",
                "autonomy",
                "misuse",
                "model_weights",
                "privacy",
                "other",
                name="response_risk_domain",
                native_enum=False,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column("time_zone", sa.String(length=60), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_response_roster_org_id_organization"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_roster")),
    )
    op.create_index(op.f("ix_response_roster_org_id"), "response_roster", ["org_id"], unique=False)
    op.create_table(
        "response_page",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.Column("policy_id", sa.Uuid(), nullable=True),
        sa.Column(
            "snapshot", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("webhooks", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column(
            "status",
            sa.Enum("paging", "acknowledged", "exhausted", name="response_page_status", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("paged_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Uuid(), nullable=True),
        sa.Column("sent", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("next_check_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("is_drill", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["user_account.id"],
            name=op.f("fk_response_page_acknowledged_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_response_page_created_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["response_incident.id"],
            name=op.f("fk_response_page_incident_id_response_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_response_page_org_id_organization"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["response_escalation_policy.id"],
            name=op.f("fk_response_page_policy_id_response_escalation_policy"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_page")),
    )
    op.create_index("ix_response_page_due", "response_page", ["status", "next_check_at"], unique=False)
    op.create_index(op.f("ix_response_page_incident_id"), "response_page", ["incident_id"], unique=False)
    op.create_index(op.f("ix_response_page_org_id"), "response_page", ["org_id"], unique=False)
    op.create_table(
        "response_participant",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "commander",
                "scribe",
                "liaison",
                "domain_lead",
                "external",
                name="response_participant_role",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("affiliation", sa.String(length=200), nullable=True),
        sa.Column("assumed_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("renounced_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("added_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["user_account.id"],
            name=op.f("fk_response_participant_added_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["response_incident.id"],
            name=op.f("fk_response_participant_incident_id_response_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_response_participant_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_participant")),
    )
    op.create_index(
        "ix_response_participant_incident_role",
        "response_participant",
        ["incident_id", "role", "renounced_at"],
        unique=False,
    )
    op.create_index(
        "ix_response_participant_user", "response_participant", ["user_id", "role", "renounced_at"], unique=False
    )
    op.create_table(
        "response_review",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("draft", "closed", name="response_review_status", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("root_cause", sa.Text(), nullable=False),
        sa.Column(
            "contributing_factors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("went_well", sa.Text(), nullable=False),
        sa.Column("went_badly", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("closed_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["closed_by"],
            ["user_account.id"],
            name=op.f("fk_response_review_closed_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_response_review_created_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["response_incident.id"],
            name=op.f("fk_response_review_incident_id_response_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_response_review_org_id_organization"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_review")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_response_review_incident_id")),
    )
    op.create_index(op.f("ix_response_review_org_id"), "response_review", ["org_id"], unique=False)
    op.create_table(
        "response_roster_layer",
        sa.Column("roster_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "participants", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("anchor", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("shift_minutes", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=60), nullable=False),
        sa.Column(
            "windows", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("until", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["roster_id"],
            ["response_roster.id"],
            name=op.f("fk_response_roster_layer_roster_id_response_roster"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_roster_layer")),
    )
    op.create_index(op.f("ix_response_roster_layer_roster_id"), "response_roster_layer", ["roster_id"], unique=False)
    op.create_table(
        "response_roster_override",
        sa.Column("roster_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("start", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("created_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_response_roster_override_created_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["roster_id"],
            ["response_roster.id"],
            name=op.f("fk_response_roster_override_roster_id_response_roster"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_response_roster_override_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_roster_override")),
    )
    op.create_index(
        op.f("ix_response_roster_override_roster_id"), "response_roster_override", ["roster_id"], unique=False
    )
    op.create_table(
        "response_task",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("playbook_id", sa.Uuid(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "commander",
                "scribe",
                "liaison",
                "domain_lead",
                "external",
                name="response_participant_role",
                native_enum=False,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column(
            "action_kind",
            sa.Enum(
                "model_rollback",
                "capability_restriction",
                "safeguard_change",
                "access_revocation",
                "access_block",
                "external_notification",
                "other",
                name="response_action_kind",
                native_enum=False,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column("due_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "status",
            sa.Enum("open", "done", "skipped", name="response_task_status", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("done_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["done_by"], ["user_account.id"], name=op.f("fk_response_task_done_by_user_account"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["response_incident.id"],
            name=op.f("fk_response_task_incident_id_response_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["playbook_id"],
            ["response_playbook.id"],
            name=op.f("fk_response_task_playbook_id_response_playbook"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_task")),
    )
    op.create_index("ix_response_task_incident", "response_task", ["incident_id", "position"], unique=False)
    op.create_table(
        "response_timeline_entry",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "status_change",
                "note",
                "action",
                "evidence",
                "decision",
                "signal",
                "role_change",
                "playbook",
                "task",
                "page",
                "notification",
                "review",
                "reporting",
                "exchange",
                name="response_timeline_kind",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("author_user_id", sa.Uuid(), nullable=True),
        sa.Column("author_label", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["user_account.id"],
            name=op.f("fk_response_timeline_entry_author_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["response_incident.id"],
            name=op.f("fk_response_timeline_entry_incident_id_response_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_timeline_entry")),
    )
    op.create_index(
        "ix_response_timeline_entry_incident_at", "response_timeline_entry", ["incident_id", "at"], unique=False
    )
    op.create_table(
        "response_action",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("is_drill", sa.Boolean(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "model_rollback",
                "capability_restriction",
                "safeguard_change",
                "access_revocation",
                "access_block",
                "external_notification",
                "other",
                name="response_action_kind",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "requested",
                "in_progress",
                "completed",
                "verified",
                "failed",
                "cancelled",
                name="response_action_status",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=True),
        sa.Column("from_version_id", sa.Uuid(), nullable=True),
        sa.Column("to_version_id", sa.Uuid(), nullable=True),
        sa.Column("scope", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("capability", sa.String(length=200), nullable=True),
        sa.Column("params", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("requested_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verified_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verified_by", sa.Uuid(), nullable=True),
        sa.Column("verification", sa.Text(), nullable=True),
        sa.Column("target_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_response_action_created_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["from_version_id"],
            ["response_model_version.id"],
            name=op.f("fk_response_action_from_version_id_response_model_version"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["response_incident.id"],
            name=op.f("fk_response_action_incident_id_response_incident"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_response_action_org_id_organization"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["user_account.id"],
            name=op.f("fk_response_action_owner_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["response_task.id"],
            name=op.f("fk_response_action_task_id_response_task"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["to_version_id"],
            ["response_model_version.id"],
            name=op.f("fk_response_action_to_version_id_response_model_version"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["verified_by"],
            ["user_account.id"],
            name=op.f("fk_response_action_verified_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_action")),
    )
    op.create_index("ix_response_action_incident", "response_action", ["incident_id", "status"], unique=False)
    op.create_index("ix_response_action_org_kind", "response_action", ["org_id", "kind", "verified_at"], unique=False)
    op.create_table(
        "response_review_item",
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("open", "done", "skipped", name="response_task_status", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("done_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["user_account.id"],
            name=op.f("fk_response_review_item_owner_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["response_review.id"],
            name=op.f("fk_response_review_item_review_id_response_review"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_review_item")),
    )
    op.create_index(op.f("ix_response_review_item_review_id"), "response_review_item", ["review_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_response_review_item_review_id"), table_name="response_review_item")
    op.drop_table("response_review_item")
    op.drop_index("ix_response_action_org_kind", table_name="response_action")
    op.drop_index("ix_response_action_incident", table_name="response_action")
    op.drop_table("response_action")
    op.drop_index("ix_response_timeline_entry_incident_at", table_name="response_timeline_entry")
    op.drop_table("response_timeline_entry")
    op.drop_index("ix_response_task_incident", table_name="response_task")
    op.drop_table("response_task")
    op.drop_index(op.f("ix_response_roster_override_roster_id"), table_name="response_roster_override")
    op.drop_table("response_roster_override")
    op.drop_index(op.f("ix_response_roster_layer_roster_id"), table_name="response_roster_layer")
    op.drop_table("response_roster_layer")
    op.drop_index(op.f("ix_response_review_org_id"), table_name="response_review")
    op.drop_table("response_review")
    op.drop_index("ix_response_participant_user", table_name="response_participant")
    op.drop_index("ix_response_participant_incident_role", table_name="response_participant")
    op.drop_table("response_participant")
    op.drop_index(op.f("ix_response_page_org_id"), table_name="response_page")
    op.drop_index(op.f("ix_response_page_incident_id"), table_name="response_page")
    op.drop_index("ix_response_page_due", table_name="response_page")
    op.drop_table("response_page")
    op.drop_index(op.f("ix_response_roster_org_id"), table_name="response_roster")
    op.drop_table("response_roster")
    op.drop_table("response_reference_counter")
    op.drop_index(op.f("ix_response_playbook_org_id"), table_name="response_playbook")
    op.drop_table("response_playbook")
    op.drop_index(op.f("ix_response_model_version_org_id"), table_name="response_model_version")
    op.drop_table("response_model_version")
    op.drop_index(
        "ix_response_incident_open",
        table_name="response_incident",
        postgresql_where=sa.text("status <> 'closed'"),
        sqlite_where=sa.text("status <> 'closed'"),
    )
    op.drop_index("ix_response_incident_metrics", table_name="response_incident")
    op.drop_table("response_incident")
    op.drop_index(op.f("ix_response_escalation_policy_org_id"), table_name="response_escalation_policy")
    op.drop_table("response_escalation_policy")
    op.drop_index("ix_response_contact_org_domain", table_name="response_contact")
    op.drop_table("response_contact")
