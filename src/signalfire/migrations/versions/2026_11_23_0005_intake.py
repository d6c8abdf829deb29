"""intake: signals, clusters, triage decisions, feeds, alert sources, the public channel's settings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import signalfire.core.db.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('intake_alert_source',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('format', sa.Enum('alertmanager', 'generic', name='intake_alert_format', native_enum=False, length=40), nullable=False),
    sa.Column('hmac_secret', sa.String(length=200), nullable=False),
    sa.Column('bearer_digest', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_received_at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_count', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_intake_alert_source_org_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_alert_source'))
    )
    op.create_index(op.f('ix_intake_alert_source_org_id'), 'intake_alert_source', ['org_id'], unique=False)
    op.create_table('intake_cluster',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('signal_count', sa.Integer(), nullable=False),
    sa.Column('curated', sa.Boolean(), nullable=False),
    sa.Column('created_at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_signal_at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_intake_cluster_org_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_cluster'))
    )
    op.create_index('ix_intake_cluster_org_last', 'intake_cluster', ['org_id', 'last_signal_at'], unique=False)
    op.create_table('intake_feed',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('kind', sa.Enum('rss_atom', 'aiid_snapshot', name='intake_feed_kind', native_enum=False, length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('poll_interval_seconds', sa.Integer(), nullable=False),
    sa.Column('next_poll_at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_polled_at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('etag', sa.String(length=500), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('items_total', sa.Integer(), nullable=False),
    sa.Column('created_at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_intake_feed_org_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_feed')),
    sa.UniqueConstraint('org_id', 'url', name='uq_intake_feed_org_url')
    )
    op.create_index('ix_intake_feed_due', 'intake_feed', ['active', 'next_poll_at'], unique=False)
    op.create_table('intake_settings',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('public_form_enabled', sa.Boolean(), nullable=False),
    sa.Column('intro', sa.Text(), nullable=False),
    sa.Column('allow_anonymous', sa.Boolean(), nullable=False),
    sa.Column('min_fill_seconds', sa.Integer(), nullable=False),
    sa.Column('model_names', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_intake_settings_org_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', name=op.f('pk_intake_settings'))
    )
    op.create_table('intake_signal',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('source_kind', sa.Enum('public_form', 'downstream_api', 'monitoring_alert', 'feed_item', 'manual', name='intake_source_kind', native_enum=False, length=40), nullable=False),
    sa.Column('feed_id', sa.Uuid(), nullable=True),
    sa.Column('alert_source_id', sa.Uuid(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('raw_payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('raw_content_type', sa.String(length=100), nullable=True),
    sa.Column('attribution', sa.String(length=300), nullable=True),
    sa.Column('received_at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('update_count', sa.Integer(), nullable=False),
    sa.Column('alert_status', sa.String(length=20), nullable=True),
    sa.Column('reporter_name', sa.String(length=200), nullable=True),
    sa.Column('reporter_contact', sa.String(length=300), nullable=True),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('submitter_org_id', sa.Uuid(), nullable=True),
    sa.Column('submitter_user_id', sa.Uuid(), nullable=True),
    sa.Column('state', sa.Enum('new', 'duplicate', 'dismissed', 'promoted_incident', 'promoted_exchange', name='intake_triage_state', native_enum=False, length=40), nullable=False),
    sa.Column('duplicate_of_id', sa.Uuid(), nullable=True),
    sa.Column('dismiss_reason', sa.Text(), nullable=True),
    sa.Column('incident_id', sa.Uuid(), nullable=True),
    sa.Column('exchange_item_id', sa.Uuid(), nullable=True),
    sa.Column('decided_at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.Uuid(), nullable=True),
    sa.Column('assignee_id', sa.Uuid(), nullable=True),
    sa.Column('cluster_id', sa.Uuid(), nullable=True),
    sa.Column('similarity', sa.Double(), nullable=True),
    sa.Column('match_text', sa.Text(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=True),
    sa.Column('likely_severity', sa.Enum('sev1', 'sev2', 'sev3', 'sev4', name='intake_severity', native_enum=False, length=40), nullable=False),
    sa.Column('severity_reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('relevance', sa.Double(), nullable=False),
    sa.Column('matched_models', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['alert_source_id'], ['intake_alert_source.id'], name=op.f('fk_intake_signal_alert_source_id_intake_alert_source'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['assignee_id'], ['user_account.id'], name=op.f('fk_intake_signal_assignee_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cluster_id'], ['intake_cluster.id'], name=op.f('fk_intake_signal_cluster_id_intake_cluster'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by'], ['user_account.id'], name=op.f('fk_intake_signal_decided_by_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['intake_signal.id'], name=op.f('fk_intake_signal_duplicate_of_id_intake_signal'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['feed_id'], ['intake_feed.id'], name=op.f('fk_intake_signal_feed_id_intake_feed'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['incident_id'], ['response_incident.id'], name=op.f('fk_intake_signal_incident_id_response_incident'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_intake_signal_org_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submitter_org_id'], ['organization.id'], name=op.f('fk_intake_signal_submitter_org_id_organization'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['submitter_user_id'], ['user_account.id'], name=op.f('fk_intake_signal_submitter_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_signal')),
    sa.UniqueConstraint('org_id', 'dedupe_key', name='uq_intake_signal_org_dedupe_key'),
    sa.UniqueConstraint('reference', name=op.f('uq_intake_signal_reference'))
    )
    op.create_index(op.f('ix_intake_signal_alert_source_id'), 'intake_signal', ['alert_source_id'], unique=False)
    op.create_index(op.f('ix_intake_signal_cluster_id'), 'intake_signal', ['cluster_id'], unique=False)
    op.create_index(op.f('ix_intake_signal_feed_id'), 'intake_signal', ['feed_id'], unique=False)
    op.create_index(op.f('ix_intake_signal_incident_id'), 'intake_signal', ['incident_id'], unique=False)
    op.create_index('ix_intake_signal_org_text_hash', 'intake_signal', ['org_id', 'text_hash'], unique=False)
    op.create_index('ix_intake_signal_queue', 'intake_signal', ['org_id', 'state', 'received_at'], unique=False)
    op.create_index(op.f('ix_intake_signal_submitter_org_id'), 'intake_signal', ['submitter_org_id'], unique=False)
    op.create_table('intake_webhook_delivery',
    sa.Column('source_id', sa.Uuid(), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.Column('received_at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['intake_alert_source.id'], name=op.f('fk_intake_webhook_delivery_source_id_intake_alert_source'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source_id', 'mac', name=op.f('pk_intake_webhook_delivery'))
    )
    op.create_index(op.f('ix_intake_webhook_delivery_received_at'), 'intake_webhook_delivery', ['received_at'], unique=False)
    op.create_table('intake_addition',
    sa.Column('signal_id', sa.Uuid(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('received_at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['signal_id'], ['intake_signal.id'], name=op.f('fk_intake_addition_signal_id_intake_signal'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_addition'))
    )
    op.create_index(op.f('ix_intake_addition_signal_id'), 'intake_addition', ['signal_id'], unique=False)
    op.create_table('intake_attachment',
    sa.Column('signal_id', sa.Uuid(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['signal_id'], ['intake_signal.id'], name=op.f('fk_intake_attachment_signal_id_intake_signal'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_attachment'))
    )
    op.create_index(op.f('ix_intake_attachment_signal_id'), 'intake_attachment', ['signal_id'], unique=False)
    op.create_table('intake_decision',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('signal_id', sa.Uuid(), nullable=True),
    sa.Column('cluster_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sa.Enum('received', 'clustered', 'duplicate', 'assigned', 'dismissed', 'promoted_incident', 'promoted_exchange', 'reopened', 'merged', 'split', 'alert_updated', 'reviewed', name='intake_decision_kind', native_enum=False, length=40), nullable=False),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('actor_user_id', sa.Uuid(), nullable=True),
    sa.Column('actor_label', sa.String(length=300), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('review_requested', sa.Boolean(), nullable=False),
    sa.Column('reviewed_at', signalfire.core.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by', sa.Uuid(), nullable=True),
    sa.Column('review_outcome', sa.String(length=20), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['user_account.id'], name=op.f('fk_intake_decision_actor_user_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cluster_id'], ['intake_cluster.id'], name=op.f('fk_intake_decision_cluster_id_intake_cluster'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_intake_decision_org_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by'], ['user_account.id'], name=op.f('fk_intake_decision_reviewed_by_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['signal_id'], ['intake_signal.id'], name=op.f('fk_intake_decision_signal_id_intake_signal'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_decision'))
    )
    op.create_index('ix_intake_decision_review', 'intake_decision', ['org_id', 'review_requested', 'reviewed_at'], unique=False)
    op.create_index('ix_intake_decision_signal', 'intake_decision', ['signal_id', 'at'], unique=False)
    op.create_table('intake_signal_band',
    sa.Column('signal_id', sa.Uuid(), nullable=False),
    sa.Column('band', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_intake_signal_band_org_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['signal_id'], ['intake_signal.id'], name=op.f('fk_intake_signal_band_signal_id_intake_signal'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('signal_id', 'band', name=op.f('pk_intake_signal_band'))
    )
    op.create_index('ix_intake_signal_band_lookup', 'intake_signal_band', ['org_id', 'band'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_intake_signal_band_lookup', table_name='intake_signal_band')
    op.drop_table('intake_signal_band')
    op.drop_index('ix_intake_decision_signal', table_name='intake_decision')
    op.drop_index('ix_intake_decision_review', table_name='intake_decision')
    op.drop_table('intake_decision')
    op.drop_index(op.f('ix_intake_attachment_signal_id'), table_name='intake_attachment')
    op.drop_table('intake_attachment')
    op.drop_index(op.f('ix_intake_addition_signal_id'), table_name='intake_addition')
    op.drop_table('intake_addition')
    op.drop_index(op.f('ix_intake_webhook_delivery_received_at'), table_name='intake_webhook_delivery')
    op.drop_table('intake_webhook_delivery')
    op.drop_index(op.f('ix_intake_signal_submitter_org_id'), table_name='intake_signal')
    op.drop_index('ix_intake_signal_queue', table_name='intake_signal')
    op.drop_index('ix_intake_signal_org_text_hash', table_name='intake_signal')
    op.drop_index(op.f('ix_intake_signal_incident_id'), table_name='intake_signal')
    op.drop_index(op.f('ix_intake_signal_feed_id'), table_name='intake_signal')
    op.drop_index(op.f('ix_intake_signal_cluster_id'), table_name='intake_signal')
    op.drop_index(op.f('ix_intake_signal_alert_source_id'), table_name='intake_signal')
    op.drop_table('intake_signal')
    op.drop_table('intake_settings')
    op.drop_index('ix_intake_feed_due', table_name='intake_feed')
    op.drop_table('intake_feed')
    op.drop_index('ix_intake_cluster_org_last', table_name='intake_cluster')
    op.drop_table('intake_cluster')
    op.drop_index(op.f('ix_intake_alert_source_org_id'), table_name='intake_alert_source')
    op.drop_table('intake_alert_source')
