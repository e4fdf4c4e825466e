"""The record of processing activities (GDPR Art. 30(1)) of one tenant, built from the
live configuration so that it cannot drift from what the service does.

The tenant is the controller of its send records; commlog keeps them on its behalf. This
module states, for one tenant, what Art. 30(1) asks a controller to record, where commlog
knows it:

- (b) the purposes (:data:`PURPOSES`);
- (c) the categories of data subjects and of personal data (:data:`SUBJECTS`,
  :data:`DATA_CATEGORIES`);
- (d) the categories of recipients (:data:`RECIPIENTS`, by role) — and the processors the
  tenant's records name (the providers seen, passed in by the caller);
- (e) transfers to third countries (:data:`TRANSFERS`: none by the service itself);
- (f) the envisaged time limits for erasure: the tenant's retention windows per channel,
  read from the same :class:`~policies.retention.RetentionPolicy` the retention job
  applies, each with its legal basis from :data:`~policies.retention.DEFAULT_RULES`;
- (g) a general description of the security measures (GDPR Art. 32; PIPL Art. 51), from the
  live settings: master-key ids and count only, never key material.

(a) the controller's name and contact details are the tenant's to fill in: commlog does
not hold them. Everything here is pure: the caller passes the configuration and the
providers seen (``compliance.processing``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from policies.access import Role
from policies.channels import Channel
from policies.holds import DEFAULT_MAX_DAYS, DEFAULT_RELEASED_HOLD_DAYS
from policies.retention import DEFAULT_RULES, STAGE_ORDER, RetentionPolicy, Stage


@dataclass(frozen=True, slots=True, kw_only=True)
class Purpose:
    id: str
    description: str
    legal_basis: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DataCategory:
    id: str
    description: str
    stored_as: str
    erased_at_stage: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SubjectCategory:
    id: str
    description: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecipientCategory:
    role: str
    sees: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StageWindow:
    stage: str
    days: int
    what_goes: str
    legal_basis: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelRetention:
    channel: str
    set_by: str
    """``default``, ``tenant`` or ``channel``: which level of the policy file sets it."""
    windows: list[StageWindow]


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldRules:
    description: str
    max_days: int
    released_hold_days: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Retention:
    policy_digest: str
    channels: list[ChannelRetention]
    template_windows: str
    legal_holds: HoldRules


@dataclass(frozen=True, slots=True, kw_only=True)
class Processors:
    description: str
    providers_seen: list[str]
    truncated: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class MasterKeys:
    count: int
    ids: list[str]
    primary_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityMeasure:
    id: str
    description: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Security:
    master_keys: MasterKeys
    measures: list[SecurityMeasure]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessingRecord:
    """One tenant's GDPR Art. 30(1) record as commlog can state it."""

    tenant_id: str
    generated_at: str
    controller: str
    purposes: list[Purpose]
    data_subjects: list[SubjectCategory]
    data_categories: list[DataCategory]
    recipients: list[RecipientCategory]
    processors: Processors
    transfers: str
    retention: Retention
    security: Security


PURPOSES: tuple[Purpose, ...] = (
    Purpose(
        id="delivery_evidence",
        description=(
            "Recording each message a sending service of the tenant sent (channel, recipient, "
            "content or template parameters, provider, status, times) as evidence that, when "
            "and through which provider it was sent and what became of it."
        ),
        legal_basis="Legitimate interests of the tenant, GDPR Art. 6(1)(f).",
    ),
    Purpose(
        id="delivery_disputes",
        description=(
            "Answering a recipient's or a customer's question whether a message reached "
            "them: the recipient and the provider's outcome."
        ),
        legal_basis="Legitimate interests of the tenant, GDPR Art. 6(1)(f).",
    ),
    Purpose(
        id="fraud_investigation",
        description=(
            "Investigating messages sent to a number or address that was not the account "
            "holder's (for example a login code requested for someone else)."
        ),
        legal_basis="Legitimate interests of the tenant, GDPR Art. 6(1)(f).",
    ),
    Purpose(
        id="opt_out_evidence",
        description=(
            "Showing that no message went to an address more than 10 business days after it "
            "opted out (CAN-SPAM, 15 U.S.C. 7704(a)(4); the Act sets no retention period)."
        ),
        legal_basis="Legitimate interests of the tenant, GDPR Art. 6(1)(f).",
    ),
    Purpose(
        id="compliance_access",
        description=(
            "Compliance officers place legal holds and read retention runs (and what the "
            "service records of them) to keep records a legal claim or obligation needs and "
            "to show that the retention policy was applied."
        ),
        legal_basis=(
            "Legal claims and legal obligations, GDPR Art. 17(3)(b) and (e); accountability, "
            "GDPR Art. 5(2)."
        ),
    ),
)
"""Why the tenant's records are kept (GDPR Art. 30(1)(b)). Under PIPL, which has no
legitimate-interest basis, the tenant states its own basis; the periods stay the shortest
necessary (PIPL Art. 19)."""

SUBJECTS: tuple[SubjectCategory, ...] = (
    SubjectCategory(
        id="message_recipients",
        description="People the tenant's messages were sent to (by SMS, e-mail or push).",
    ),
    SubjectCategory(
        id="sending_users",
        description=(
            "The tenant's users on whose behalf a message was sent (their user id on each "
            "record) and who may read their own records."
        ),
    ),
    SubjectCategory(
        id="compliance_officers",
        description=(
            "The tenant's staff acting as compliance officers (their user id on the legal "
            "holds they place, change or release)."
        ),
    ),
)

DATA_CATEGORIES: tuple[DataCategory, ...] = (
    DataCategory(
        id="recipient",
        description="Phone numbers, e-mail addresses and push tokens messages were sent to.",
        stored_as=(
            "sealed (AES-256-GCM, the tenant's recipient key of the record's month) with a "
            "keyed blind index for exact-match search; shown masked"
        ),
        erased_at_stage=Stage.RECIPIENT.value,
    ),
    DataCategory(
        id="message_content",
        description="The text of a free-text message.",
        stored_as=(
            "sealed (AES-256-GCM, the tenant's content key of the record's month); shown masked"
        ),
        erased_at_stage=Stage.CONTENT.value,
    ),
    DataCategory(
        id="template_parameters",
        description=(
            "Values of a templated message's parameters, by class: `secret` (codes, "
            "passwords, authenticating links) is never stored, only that a value was given; "
            "`personal` (names, numbers, addresses) is sealed and shown masked by its kind; "
            "`public` (amounts, dates, product names) is sealed and shown as given."
        ),
        stored_as="sealed with the content key; secrets not at all",
        erased_at_stage=Stage.CONTENT.value,
    ),
    DataCategory(
        id="provider_outcomes",
        description=(
            "The provider's name and delivery status (stored in clear), and its error and "
            "response texts (sealed with the content key, shown reduced and masked)."
        ),
        stored_as="status and provider name in clear; error and response sealed",
        erased_at_stage=(
            f"{Stage.CONTENT.value} (error, response); {Stage.RECORD.value} (status, provider)"
        ),
    ),
    DataCategory(
        id="send_metadata",
        description=(
            "Tenant, sending user id, channel, template id and version, status and times."
        ),
        stored_as="in clear (needed to list, filter and retain records)",
        erased_at_stage=Stage.RECORD.value,
    ),
)

RECIPIENTS: tuple[RecipientCategory, ...] = (
    RecipientCategory(
        role=Role.COMPLIANCE_OFFICER.value,
        sees=(
            "The tenant's legal holds (recipients masked) and retention runs as they "
            "concern the tenant; never another tenant's."
        ),
    ),
    RecipientCategory(
        role=Role.USER.value,
        sees="Their own send records, every personal field masked.",
    ),
    RecipientCategory(
        role=Role.INGEST.value,
        sees="Nothing: a sending service records sends and outcomes and reads none back.",
    ),
)

TRANSFERS = (
    "None by the service itself: commlog sends no personal data to third parties or third "
    "countries. Messages reach providers through the tenant's own sending services; those "
    "transfers are the tenant's to record."
)

CONTROLLER = (
    "The tenant is the controller of its send records; its name and contact details (and "
    "those of its representative and data protection officer, GDPR Art. 30(1)(a)) are the "
    "tenant's to add: commlog does not hold them."
)

TEMPLATE_WINDOWS = (
    "A template may keep its sends' content for fewer days than the content window "
    "(`content_retention_days`); that content is erased on the template's window, also "
    "under a legal hold unless the hold keeps short-lived content."
)

PROCESSORS = (
    "Providers named on the tenant's records still held (each a processor or an "
    "independent controller under the tenant's own contract with it, GDPR Art. 28); the "
    "list follows the records: a provider drops out when its last record is deleted."
)

_STAGE_WHAT_GOES = {
    Stage.CONTENT: "content, template parameters, provider error and response",
    Stage.RECIPIENT: "the recipient and its blind index",
    Stage.RECORD: "the whole record",
}


def _basis(stage: Stage) -> str:
    return next(rule.legal_basis for rule in DEFAULT_RULES if rule.stage is stage)


def _set_by(policy: RetentionPolicy, tenant_id: str, channel: Channel) -> str:
    if (tenant_id, channel) in policy.channels:
        return "channel"
    if tenant_id in policy.tenants:
        return "tenant"
    return "default"


def retention_for(
    policy: RetentionPolicy, tenant_id: str, *, hold_max_days: int, released_hold_days: int
) -> Retention:
    """The tenant's time limits for erasure (GDPR Art. 30(1)(f)) per channel, from the same
    policy the retention job applies, each stage with its legal basis."""
    channels = []
    for channel in Channel:
        windows = policy.windows_for(tenant_id, channel)
        channels.append(
            ChannelRetention(
                channel=channel.value,
                set_by=_set_by(policy, tenant_id, channel),
                windows=[
                    StageWindow(
                        stage=stage.value,
                        days=windows.window(stage).days,
                        what_goes=_STAGE_WHAT_GOES[stage],
                        legal_basis=_basis(stage),
                    )
                    for stage in STAGE_ORDER
                ],
            )
        )
    return Retention(
        policy_digest=policy.digest(),
        channels=channels,
        template_windows=TEMPLATE_WINDOWS,
        legal_holds=HoldRules(
            description=(
                "A legal hold suspends erasure of the records it covers (GDPR Art. 17(3)(b), "
                "(e)); every hold has an expiry or a review date at most `max_days` ahead, and "
                "a released or lapsed hold is purged, with its reason, `released_hold_days` "
                "after it ended."
            ),
            max_days=hold_max_days,
            released_hold_days=released_hold_days,
        ),
    )


def security_measures(
    *, master_key_ids: Sequence[str], primary_master_key_id: str, audit_trail: bool
) -> Security:
    """GDPR Art. 32 / PIPL Art. 51 measures as configured: key ids and count only."""
    measures = [
        SecurityMeasure(
            id="field_encryption",
            description=(
                "Recipients, content, template parameters, provider errors and responses are "
                "sealed with AES-256-GCM under per-tenant data keys, one per purpose and "
                "calendar month, stored only wrapped under the master keys; destroying a "
                "month's keys erases its fields everywhere, backups included."
            ),
        ),
        SecurityMeasure(
            id="blind_index",
            description=(
                "Recipients are searchable only by exact match through a keyed hash "
                "(HMAC-SHA-256, per-tenant key, truncated to 8 bytes)."
            ),
        ),
        SecurityMeasure(
            id="masking_by_default",
            description=(
                "Every response masks recipients, content and provider texts "
                "(policies/disclosure.py); secret template parameters are never stored."
            ),
        ),
        SecurityMeasure(
            id="access_control",
            description=(
                "Bearer tokens name the tenant and roles; every request is confined to its "
                "tenant, and each role sees only what RECIPIENTS lists."
            ),
        ),
        SecurityMeasure(
            id="retention",
            description=(
                "The retention job (run daily by the deployer's scheduler) erases and deletes "
                "in bounded batches and records each run with the digest of the policy it "
                "applied."
            ),
        ),
    ]
    if audit_trail:
        measures.append(
            SecurityMeasure(
                id="audit_trail",
                description=(
                    "Officers' actions (legal holds placed, changed, released, purged) are "
                    "appended to a per-tenant hash-chained audit trail in the same "
                    "transaction as the change."
                ),
            )
        )
    measures.append(
        SecurityMeasure(
            id="transport",
            description=(
                "TLS is the deployer's: commlog serves plain HTTP and expects a "
                "TLS-terminating proxy or load balancer in front of it."
            ),
        )
    )
    return Security(
        master_keys=MasterKeys(
            count=len(master_key_ids),
            ids=sorted(master_key_ids),
            primary_id=primary_master_key_id,
        ),
        measures=measures,
    )


def build_processing_record(
    *,
    tenant_id: str,
    generated_at: datetime,
    policy: RetentionPolicy,
    providers_seen: Sequence[str],
    providers_truncated: bool,
    master_key_ids: Sequence[str],
    primary_master_key_id: str,
    hold_max_days: int = DEFAULT_MAX_DAYS,
    released_hold_days: int = DEFAULT_RELEASED_HOLD_DAYS,
    audit_trail: bool = False,
) -> ProcessingRecord:
    """The tenant's GDPR Art. 30(1) record from the live configuration (module docstring).

    Holds no personal data: provider names, key ids, window lengths and fixed texts only.
    """
    return ProcessingRecord(
        tenant_id=tenant_id,
        generated_at=generated_at.isoformat().replace("+00:00", "Z"),
        controller=CONTROLLER,
        purposes=list(PURPOSES),
        data_subjects=list(SUBJECTS),
        data_categories=list(DATA_CATEGORIES),
        recipients=list(RECIPIENTS),
        processors=Processors(
            description=PROCESSORS,
            providers_seen=sorted(providers_seen),
            truncated=providers_truncated,
        ),
        transfers=TRANSFERS,
        retention=retention_for(
            policy,
            tenant_id,
            hold_max_days=hold_max_days,
            released_hold_days=released_hold_days,
        ),
        security=security_measures(
            master_key_ids=master_key_ids,
            primary_master_key_id=primary_master_key_id,
            audit_trail=audit_trail,
        ),
    )


def render_text(record: ProcessingRecord) -> str:
    """The record as plain text for a reader (``commlog processing-record --format text``)."""
    lines = [
        f"Record of processing activities (GDPR Art. 30(1)) — tenant {record.tenant_id}",
        f"generated {record.generated_at} from the live configuration",
        "",
        "Controller",
        f"  {record.controller}",
        "",
        "Purposes (Art. 30(1)(b))",
    ]
    lines += [f"  - {p.id}: {p.description} Basis: {p.legal_basis}" for p in record.purposes]
    lines += ["", "Data subjects (Art. 30(1)(c))"]
    lines += [f"  - {s.id}: {s.description}" for s in record.data_subjects]
    lines += ["", "Personal data (Art. 30(1)(c))"]
    lines += [
        f"  - {c.id}: {c.description} Stored: {c.stored_as}. Erased at: {c.erased_at_stage}."
        for c in record.data_categories
    ]
    lines += ["", "Recipients (Art. 30(1)(d))"]
    lines += [f"  - role {r.role}: {r.sees}" for r in record.recipients]
    providers = ", ".join(record.processors.providers_seen) or "none recorded"
    if record.processors.truncated:
        providers += ", … (more)"
    lines += ["", "Processors", f"  {record.processors.description}", f"  seen: {providers}"]
    lines += ["", "Transfers (Art. 30(1)(e))", f"  {record.transfers}"]
    lines += [
        "",
        f"Time limits for erasure (Art. 30(1)(f)) — policy {record.retention.policy_digest}",
    ]
    for channel in record.retention.channels:
        windows = ", ".join(f"{w.stage} {w.days} days" for w in channel.windows)
        lines.append(f"  - {channel.channel} (set by {channel.set_by}): {windows}")
    lines.append("  Legal bases:")
    for window in record.retention.channels[0].windows:
        lines.append(f"    {window.stage}: {window.legal_basis}")
    holds = record.retention.legal_holds
    lines += [
        f"  {record.retention.template_windows}",
        f"  {holds.description} (max_days {holds.max_days}, released_hold_days "
        f"{holds.released_hold_days})",
    ]
    keys = record.security.master_keys
    lines += [
        "",
        "Security measures (Art. 30(1)(g), Art. 32)",
        f"  master keys: {keys.count} ({', '.join(keys.ids)}), primary {keys.primary_id}",
    ]
    lines += [f"  - {m.id}: {m.description}" for m in record.security.measures]
    return "\n".join(lines) + "\n"


__all__ = [
    "DATA_CATEGORIES",
    "PURPOSES",
    "RECIPIENTS",
    "SUBJECTS",
    "ProcessingRecord",
    "build_processing_record",
    "render_text",
    "retention_for",
    "security_measures",
]
