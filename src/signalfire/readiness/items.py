"""The scorecard's items, in the order shown, each with the requirement it serves.

Index capability ids and dimension ids are those of ``data/landscape.yaml`` (the index table); Code of
Practice references are to Commitment 9 of the EU GPAI Code of Practice (Safety and Security chapter).
"""

from __future__ import annotations

from signalfire.readiness.checks import exchange, intake, reporting, response
from signalfire.readiness.scorecard import ItemDef, Requirement
from signalfire.response.vocab import RiskDomain

# The risk domains an org is checked for unless it says otherwise (bio/chem, cyber, autonomy, misuse
# at scale, weights security: the domains the anchors and the index name).
DEFAULT_DOMAINS: tuple[RiskDomain, ...] = (
    RiskDomain.CBRN,
    RiskDomain.CYBER_OFFENCE,
    RiskDomain.AUTONOMY,
    RiskDomain.MISUSE,
    RiskDomain.MODEL_WEIGHTS,
)

ITEMS: tuple[ItemDef, ...] = (
    ItemDef(
        "roster_24x7",
        "Duty roster covers 24x7",
        Requirement(
            "A 24x7 duty roster: someone on call at every hour of the next four weeks, in every risk domain in scope.",
            "response_capabilities",
            short="Index: 24x7 duty roster",
            index_capabilities=("plan_commander_roster",),
        ),
        response.roster_coverage,
    ),
    ItemDef(
        "incident_commander",
        "A named commander for each open incident",
        Requirement(
            "A named incident commander for every incident in progress.",
            "response_capabilities",
            short="Index: named incident commander",
            index_capabilities=("plan_commander_roster",),
        ),
        response.open_incident_commanders,
        public_detail=False,
    ),
    ItemDef(
        "playbooks",
        "A playbook for each risk domain",
        Requirement(
            "A documented response plan with declaration thresholds for each risk domain in scope.",
            "response_capabilities",
            short="Index: documented plan with thresholds",
            index_capabilities=("plan_commander_roster",),
        ),
        response.playbooks_per_domain,
    ),
    ItemDef(
        "rollback",
        "Rollback within 12 hours, exercised in the last 12 months",
        Requirement(
            "Roll a deployed model back within 12 hours, shown by a verified rollback in a drill or an incident "
            "in the last 12 months.",
            "response_capabilities",
            short="Index: rollback within 12 h, tested",
            index_capabilities=("rollback_tested", "rollback_exercised"),
        ),
        response.rollback_within_target,
    ),
    ItemDef(
        "restriction",
        "Capability restriction within 12 hours, exercised in the last 12 months",
        Requirement(
            "Restrict or throttle a capability (e.g. browsing, tool use) within 12 hours, shown by a verified "
            "restriction in a drill or an incident in the last 12 months.",
            "response_capabilities",
            short="Index: capability restriction, tested",
            index_capabilities=("restriction_tested", "restriction_exercised"),
        ),
        response.restriction_within_target,
    ),
    ItemDef(
        "corrective_actions",
        "Takedown, filter update and retraining on time and verified",
        Requirement(
            "Remove unlawful content, update filters and retrain or adjust the model promptly, each tracked to a "
            "target time and verified by a second person (China's generative-AI interim measures, Art. 14).",
            "response_capabilities",
            short="CN interim measures Art. 14: remove, fix, report",
        ),
        response.corrective_actions,
    ),
    ItemDef(
        "drill",
        "A drill in the last 12 months",
        Requirement(
            "At least one emergency response drill in the last 12 months.",
            "response_capabilities",
            short="Index: live drill in 12 months",
            index_capabilities=("live_drill",),
        ),
        response.drill_in_last_year,
    ),
    ItemDef(
        "government_contacts",
        "24-hour government contacts per risk domain",
        Requirement(
            "A government point of contact reachable 24 hours a day for each risk domain in scope, verified in "
            "the last 90 days.",
            "government_notification",
            short="Index: 24-hour government contacts",
            index_capabilities=("government_contacts",),
        ),
        response.government_contacts,
    ),
    ItemDef(
        "external_monitoring",
        "External monitoring polled in the last day",
        Requirement(
            "Monitor external sources (media, research, incident databases) for serious incidents.",
            "reporting_framework",
            short="Code of Practice M9.1: external monitoring",
            code_of_practice="Measure 9.1",
        ),
        intake.external_monitoring,
    ),
    ItemDef(
        "public_channel",
        "A public reporting channel is live",
        Requirement(
            "Give downstream developers, users and third parties a clear channel to report incidents.",
            "reporting_framework",
            short="Code of Practice M9.1: reporting channels",
            code_of_practice="Measure 9.1",
        ),
        intake.public_channel,
    ),
    ItemDef(
        "reports_on_time",
        "Reports filed on time in the last year",
        Requirement(
            "Report serious incidents to authorities within the deadlines (2 to 15 days, updates every 4 weeks, "
            "final report within 60 days).",
            "reporting_framework",
            short="Code of Practice M9.3: reporting deadlines",
            code_of_practice="Measure 9.3",
        ),
        reporting.reports_on_time,
    ),
    ItemDef(
        "retention",
        "Records kept at least five years",
        Requirement(
            "Keep documentation of serious incidents for at least five years.",
            "reporting_framework",
            short="Code of Practice M9.4: five-year retention",
            code_of_practice="Measure 9.4",
        ),
        reporting.retention_five_years,
    ),
    ItemDef(
        "exchange",
        "Taking part in the exchange",
        Requirement(
            "Share vulnerabilities, threats and capabilities of concern with peers, and act on theirs "
            "(the industry information-sharing agreement).",
            "information_sharing",
            short="Index: industry information sharing",
        ),
        exchange.exchange_participation,
    ),
)

ITEM_IDS: tuple[str, ...] = tuple(i.id for i in ITEMS)
