"""How long each part of a send record lives: the retention policy as data, and when it is due.

A record is taken apart in three stages, each due a fixed time after the record's
``created_at``:

- ``content``: the message content (or a templated send's parameters), the provider error
  and the provider response are erased (30 days by default; a template may ask for less,
  see ``policies.templates``);
- ``recipient``: the recipient and its blind index are erased (180 days by default);
- ``record``: what is left (tenant, channel, status, times) is deleted (400 days by default).

Each stage keeps data no longer than its purpose needs (GDPR Art. 5(1)(e), storage
limitation; PIPL Art. 19, the shortest time necessary), and the windows are the "envisaged
time limits for erasure" a controller records under GDPR Art. 30(1)(f):
:meth:`RetentionPolicy.describe` is that statement, :data:`DEFAULT_RULES` gives the legal
basis of each stage. Whether a record under a legal hold (GDPR Art. 17(3)(b), (e)) may be
erased is not decided here: these rules only say when a stage is due by age.

The windows are whole days and ordered, ``content <= recipient <= record``, so a stage is
never due before the stages listed before it in :data:`STAGE_ORDER`.

Operators may shorten or lengthen the windows per tenant and per channel in a TOML file
(``load_policy``); a bad file fails when it is loaded, with one line naming the file, the
tenant, the field and the rule broken, not later in the retention job::

    [default]            # optional; any of the three keys, missing ones keep the built-in default
    content_days = 30
    recipient_days = 180
    record_days = 400

    [tenants.tnt_bank]   # optional per tenant; missing keys inherit from [default]
    content_days = 14
    recipient_days = 90

    [tenants.tnt_bank.channels.email]   # optional per channel; missing keys inherit from the tenant
    content_days = 7

``reveal`` (a boolean, in ``[default]`` and ``[tenants.<id>]``, default ``false``) says
whether the tenant's compliance officers may export recipients and content unmasked, with
a stated reason (:meth:`RetentionPolicy.reveal_allowed`); a tenant without it inherits
``[default]``'s.

Only the tables and keys shown are allowed; channel names are those of
:class:`~policies.channels.Channel` (``sms``, ``email``, ``push``); every value is an
integer from 1 to 36500 (days); tenant ids are non-empty; after merging, every level
(default, each tenant, each tenant's channel) must keep ``content <= recipient <= record``.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import itertools
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from types import MappingProxyType

from policies.channels import Channel


class Stage(enum.StrEnum):
    """A step in taking a record apart; see :data:`DEFAULT_RULES` for why each exists."""

    CONTENT = "content"
    """Content, provider error and provider response erased."""
    RECIPIENT = "recipient"
    """Recipient and its blind index erased."""
    RECORD = "record"
    """The whole record deleted."""


STAGE_ORDER: tuple[Stage, ...] = (Stage.CONTENT, Stage.RECIPIENT, Stage.RECORD)
"""The stages in the order they fall due: each stage's window is at least the previous one's."""

MIN_WINDOW_DAYS = 1
MAX_WINDOW_DAYS = 36500
"""About a century: anything longer is a typo, not a retention period."""

DAILY_TIME_SETTING = "COMMLOG_RETENTION_AT"
"""The setting :func:`parse_daily_time` reads: the UTC time of day the retention job runs."""

_FIELDS: tuple[tuple[Stage, str], ...] = (
    (Stage.CONTENT, "content_days"),
    (Stage.RECIPIENT, "recipient_days"),
    (Stage.RECORD, "record_days"),
)
_FIELD_NAMES: tuple[str, ...] = tuple(name for _, name in _FIELDS)
_REVEAL_KEY = "reveal"
_TOP_LEVEL_KEYS: tuple[str, ...] = ("default", "tenants")
_DEFAULT_KEYS: tuple[str, ...] = (*_FIELD_NAMES, _REVEAL_KEY)
_TENANT_KEYS: tuple[str, ...] = (*_FIELD_NAMES, _REVEAL_KEY, "channels")
_CHANNEL_NAMES: tuple[str, ...] = tuple(channel.value for channel in Channel)
_MAX_SHOWN_VALUE = 40
"""Longer values are cut in error messages: the message names the problem, not the file."""


class PolicyError(ValueError):
    """A retention policy that must not be used.

    The message is one line naming the source, the tenant (or ``default``), the channel
    if any, the field and the rule broken, so a bad policy stops the service at start-up
    with a message an operator can act on.
    """


def _one_line(text: str) -> str:
    return text if text.isprintable() else repr(text)


def _shown(value: object) -> str:
    text = repr(value)
    if len(text) > _MAX_SHOWN_VALUE:
        text = text[: _MAX_SHOWN_VALUE - 1] + "\N{HORIZONTAL ELLIPSIS}"
    return text


def _order_violation(items: Sequence[tuple[str, int, str]]) -> str | None:
    """The first pair of neighbours out of order in ``(name, days, note)`` items, if any."""
    for (name, days, note), (next_name, next_days, next_note) in itertools.pairwise(items):
        if days > next_days:
            return f"{name} ({days}{note}) must not exceed {next_name} ({next_days}{next_note})"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionWindows:
    """How long after ``created_at`` each stage falls due, for one tenant and channel.

    Every window is a positive whole number of days, and ``content <= recipient <=
    record``: data is erased in :data:`STAGE_ORDER`, the least needed first (GDPR
    Art. 5(1)(e); PIPL Art. 19). Anything else raises :class:`PolicyError`.
    """

    content: timedelta
    recipient: timedelta
    record: timedelta

    def __post_init__(self) -> None:
        items: list[tuple[str, int, str]] = []
        for stage in STAGE_ORDER:
            window = self.window(stage)
            if not isinstance(window, timedelta):
                raise PolicyError(
                    f"retention windows: {stage} must be a timedelta, got {_shown(window)}"
                )
            if window <= timedelta(0) or window % timedelta(days=1):
                raise PolicyError(
                    f"retention windows: {stage} ({window}) must be a positive whole number of days"
                )
            items.append((stage.value, window.days, " days"))
        problem = _order_violation(items)
        if problem is not None:
            raise PolicyError(f"retention windows: {problem}")

    def window(self, stage: Stage) -> timedelta:
        """The time after ``created_at`` at which ``stage`` falls due (GDPR Art. 5(1)(e))."""
        match stage:
            case Stage.CONTENT:
                return self.content
            case Stage.RECIPIENT:
                return self.recipient
            case Stage.RECORD:
                return self.record
        raise ValueError(f"unknown retention stage {stage!r}")  # pragma: no cover

    def days(self) -> dict[str, int]:
        """The windows in days, keyed by TOML field name (for run records, GDPR Art. 30(1)(f))."""
        return {name: self.window(stage).days for stage, name in _FIELDS}


@dataclass(frozen=True, slots=True)
class StageRule:
    """A stage, its built-in window and why it exists, for docs and run records."""

    stage: Stage
    default_days: int
    legal_basis: str


DEFAULT_RULES: tuple[StageRule, ...] = (
    StageRule(
        Stage.CONTENT,
        30,
        "Content, provider error and provider response are erased first, 30 days after "
        "sending: ePrivacy Directive 2002/58/EC Art. 6(1) requires traffic data to be erased "
        "or made anonymous when no longer needed to transmit the communication (Art. 6 binds "
        "providers of public communications services; commlog applies it to every tenant as "
        "a best-practice default), and GDPR Art. 5(1)(e) and PIPL Art. 19 allow personal data "
        "to be kept only as long as its purpose needs; the 30 days are commlog's choice, "
        "long enough to investigate a failed delivery, not a period set by law.",
    ),
    StageRule(
        Stage.RECIPIENT,
        180,
        "The recipient and its blind index are erased 180 days after sending. Until then the "
        "recipient answers delivery disputes (was this message sent to this address or "
        "number, and what became of it), fraud investigation (a login code or other message "
        "sent to a number that was not the account holder's) and opt-out evidence (no message "
        "went to an address more than 10 business days after it opted out, CAN-SPAM, "
        "15 U.S.C. 7704(a)(4)): legitimate interests of the tenant (GDPR Art. 6(1)(f)), not "
        "billing (tenants do not bill recipients, so the billing period of ePrivacy "
        "Directive 2002/58/EC Art. 6(2) is not the basis); GDPR Art. 5(1)(e) and PIPL Art. 19 "
        "require its erasure once those purposes are spent (PIPL has no legitimate-interest "
        "basis: the tenant states its own); the 180 days are commlog's default for them, not "
        "a period set by law.",
    ),
    StageRule(
        Stage.RECORD,
        400,
        "The rest of the record (tenant, channel, status, times) is deleted 400 days after "
        "sending, Twilio's default message retention: until then it is evidence that and when "
        "a message was sent, for example in a CAN-SPAM opt-out dispute (15 U.S.C. 7704(a)(4); "
        "the Act sets no retention period) or for the establishment, exercise or defence of "
        "legal claims (GDPR Art. 17(3)(e)); GDPR Art. 5(1)(e) and PIPL Art. 19 require its "
        "deletion once that purpose is spent.",
    ),
)
"""The built-in window of each stage, in :data:`STAGE_ORDER`, with its legal basis."""


def _default_days(stage: Stage) -> int:
    return next(rule.default_days for rule in DEFAULT_RULES if rule.stage is stage)


DEFAULT_WINDOWS = RetentionWindows(
    content=timedelta(days=_default_days(Stage.CONTENT)),
    recipient=timedelta(days=_default_days(Stage.RECIPIENT)),
    record=timedelta(days=_default_days(Stage.RECORD)),
)
"""The windows of :data:`DEFAULT_RULES`: 30, 180 and 400 days."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionPolicy:
    """The windows of every tenant and channel: a default, tenant and channel overrides.

    Overrides are stored already merged (a tenant's over the default, a channel's over its
    tenant's), so :meth:`windows_for` is a lookup. The mappings are copied and read-only.
    ``reveal_default`` and ``reveal`` (per tenant; only those that differ from the default
    are kept) say whether officers may export recipients and content unmasked
    (:meth:`reveal_allowed`).
    """

    default: RetentionWindows
    tenants: Mapping[str, RetentionWindows]
    channels: Mapping[tuple[str, Channel], RetentionWindows]
    reveal_default: bool = False
    reveal: Mapping[str, bool] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        for tenant_id in self.tenants:
            _check_tenant_id(tenant_id)
        for tenant_id, allowed in self.reveal.items():
            _check_tenant_id(tenant_id)
            if not isinstance(allowed, bool):
                raise PolicyError(
                    f"retention policy: tenant {tenant_id!r}: reveal must be true or false, "
                    f"got {_shown(allowed)}"
                )
        if not isinstance(self.reveal_default, bool):
            raise PolicyError(
                f"retention policy: default: reveal must be true or false, "
                f"got {_shown(self.reveal_default)}"
            )
        channels: dict[tuple[str, Channel], RetentionWindows] = {}
        for key, windows in self.channels.items():
            tenant_id, channel_name = key
            _check_tenant_id(tenant_id)
            try:
                channel = Channel(channel_name)
            except ValueError:
                raise PolicyError(
                    f"retention policy: tenant {tenant_id!r}: unknown channel "
                    f"{_shown(channel_name)} (expected one of {', '.join(_CHANNEL_NAMES)})"
                ) from None
            channels[(tenant_id, channel)] = windows
        object.__setattr__(self, "tenants", MappingProxyType(dict(self.tenants)))
        object.__setattr__(self, "channels", MappingProxyType(channels))
        # Only tenants that differ from the default are kept: two policies that allow the
        # same reveals are equal and have one digest.
        differing = {t: v for t, v in self.reveal.items() if v != self.reveal_default}
        object.__setattr__(self, "reveal", MappingProxyType(differing))

    def reveal_allowed(self, tenant_id: str) -> bool:
        """Whether ``tenant_id``'s compliance officers may export recipients and content
        unmasked (with a recorded reason): the tenant's ``reveal``, else ``[default]``'s,
        else no. Masking stays the default (GDPR Art. 25(2)); a reveal is the controller's
        decision per tenant, stated in configuration."""
        return self.reveal.get(tenant_id, self.reveal_default)

    def windows_for(self, tenant_id: str, channel: Channel) -> RetentionWindows:
        """The windows for ``tenant_id``'s messages on ``channel``: the channel override,
        else the tenant override, else the default (GDPR Art. 5(1)(e), Art. 30(1)(f))."""
        found = self.channels.get((tenant_id, channel))
        if found is not None:
            return found
        return self.tenants.get(tenant_id, self.default)

    def longest(self, tenant_id: str, stage: Stage) -> timedelta:
        """The longest ``stage`` window over all of ``tenant_id``'s channels.

        A month of the tenant's records is past this window for every channel, so data
        shared by the whole month (its key epoch) may go only then (GDPR Art. 5(1)(e))."""
        return max(self.windows_for(tenant_id, channel).window(stage) for channel in Channel)

    def describe(self) -> dict[str, object]:
        """The policy as JSON-able data, windows in days: the time limits for erasure that
        records of processing state (GDPR Art. 30(1)(f)), for run records."""
        channels: dict[str, dict[str, dict[str, int]]] = {}
        for (tenant_id, channel), windows in sorted(self.channels.items()):
            channels.setdefault(tenant_id, {})[channel.value] = windows.days()
        return {
            "default": self.default.days(),
            "tenants": {
                tenant_id: windows.days() for tenant_id, windows in sorted(self.tenants.items())
            },
            "channels": channels,
            "reveal": {
                "default": self.reveal_default,
                "tenants": dict(sorted(self.reveal.items())),
            },
        }

    def digest(self) -> str:
        """``sha256:`` and the hex SHA-256 of the canonical JSON of :meth:`describe`.

        Stable across runs and processes, different when any window differs, so a run
        record can show which policy it applied (GDPR Art. 5(2), accountability)."""
        canonical = json.dumps(
            self.describe(), sort_keys=True, separators=(",", ":"), ensure_ascii=True
        )
        return "sha256:" + hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _check_tenant_id(tenant_id: object) -> None:
    if not isinstance(tenant_id, str) or not tenant_id:
        raise PolicyError(
            f"retention policy: tenant id {_shown(tenant_id)} must be a non-empty string"
        )


DEFAULT_POLICY = RetentionPolicy(default=DEFAULT_WINDOWS, tenants={}, channels={})
"""The built-in windows for everyone: what runs when no policy file is configured."""


# --- Loading ---------------------------------------------------------------------------------

_Merged = dict[str, tuple[int, str]]
"""Field name -> (days, where the value was set), for merging and for error messages."""


@dataclass(frozen=True, slots=True)
class _Place:
    source: str
    tenant: str | None = None
    channel: str | None = None
    top_level: bool = False

    @property
    def label(self) -> str:
        if self.top_level:
            return "top level"
        if self.tenant is None:
            return "default"
        if self.channel is None:
            return f"tenant {self.tenant!r}"
        return f"tenant {self.tenant!r} channel {self.channel!r}"

    def error(self, problem: str) -> PolicyError:
        return PolicyError(f"retention policy {_one_line(self.source)}: {self.label}: {problem}")


def _table(value: object, place: _Place, what: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise place.error(f"{what} must be a table, got {_shown(value)}")
    return value


def _reject_unknown_keys(
    table: Mapping[str, object], allowed: Sequence[str], place: _Place
) -> None:
    for key in table:
        if key not in allowed:
            raise place.error(f"unknown key {key!r} (expected one of {', '.join(allowed)})")


def _days(value: object, field: str, place: _Place) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise place.error(
            f"{field} must be an integer number of days, got {type(value).__name__} {_shown(value)}"
        )
    if not MIN_WINDOW_DAYS <= value <= MAX_WINDOW_DAYS:
        raise place.error(
            f"{field} ({value}) must be between {MIN_WINDOW_DAYS} and {MAX_WINDOW_DAYS} days"
        )
    return value


def _reveal(table: Mapping[str, object], inherited: bool, place: _Place) -> bool:
    if _REVEAL_KEY not in table:
        return inherited
    value = table[_REVEAL_KEY]
    if not isinstance(value, bool):
        raise place.error(
            f"{_REVEAL_KEY} must be true or false, got {type(value).__name__} {_shown(value)}"
        )
    return value


def _merge(parent: _Merged, table: Mapping[str, object], place: _Place) -> _Merged:
    merged = dict(parent)
    for field in _FIELD_NAMES:
        if field in table:
            merged[field] = (_days(table[field], field, place), place.label)
    items: list[tuple[str, int, str]] = []
    for field in _FIELD_NAMES:
        days, origin = merged[field]
        items.append((field, days, "" if origin == place.label else f", inherited from {origin}"))
    problem = _order_violation(items)
    if problem is not None:
        raise place.error(problem)
    return merged


def _windows(merged: _Merged) -> RetentionWindows:
    return RetentionWindows(
        content=timedelta(days=merged["content_days"][0]),
        recipient=timedelta(days=merged["recipient_days"][0]),
        record=timedelta(days=merged["record_days"][0]),
    )


def parse_policy(text: str, *, source: str) -> RetentionPolicy:
    """Read a retention policy from TOML ``text`` (the format is in the module docstring).

    Missing keys inherit: ``[default]`` from :data:`DEFAULT_WINDOWS`, a tenant from
    ``[default]``, a channel from its tenant. Every mistake raises :class:`PolicyError`
    naming ``source``, so a bad policy fails at start-up rather than in the retention job;
    the windows kept are the time limits for erasure of GDPR Art. 30(1)(f), ordered so data
    goes as soon as its purpose is spent (GDPR Art. 5(1)(e); PIPL Art. 19).
    """
    top = _Place(source, top_level=True)
    default_place = _Place(source)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = " ".join(str(error).split())
        raise top.error(f"not valid TOML: {message}") from None
    for key in document:
        if key not in _TOP_LEVEL_KEYS:
            raise top.error(
                f"unknown table or key {key!r} (expected one of {', '.join(_TOP_LEVEL_KEYS)})"
            )

    built_in: _Merged = {
        field: (DEFAULT_WINDOWS.window(stage).days, "the built-in default")
        for stage, field in _FIELDS
    }
    default_table = _table(document.get("default", {}), default_place, "[default]")
    _reject_unknown_keys(default_table, _DEFAULT_KEYS, default_place)
    default = _merge(built_in, default_table, default_place)
    reveal_default = _reveal(default_table, False, default_place)

    tenants: dict[str, RetentionWindows] = {}
    reveal: dict[str, bool] = {}
    channels: dict[tuple[str, Channel], RetentionWindows] = {}
    tenants_table = _table(document.get("tenants", {}), top, "[tenants]")
    for tenant_id, tenant_value in tenants_table.items():
        tenant_place = _Place(source, tenant_id)
        if not tenant_id:
            raise tenant_place.error("tenant id must be a non-empty string")
        tenant_table = _table(tenant_value, tenant_place, "a tenant's entry")
        _reject_unknown_keys(tenant_table, _TENANT_KEYS, tenant_place)
        tenant = _merge(default, tenant_table, tenant_place)
        tenants[tenant_id] = _windows(tenant)
        reveal[tenant_id] = _reveal(tenant_table, reveal_default, tenant_place)

        channels_table = _table(tenant_table.get("channels", {}), tenant_place, "channels")
        for channel_name, channel_value in channels_table.items():
            if channel_name not in _CHANNEL_NAMES:
                raise tenant_place.error(
                    f"unknown channel {channel_name!r} (expected one of "
                    f"{', '.join(_CHANNEL_NAMES)})"
                )
            channel_place = _Place(source, tenant_id, channel_name)
            channel_table = _table(channel_value, channel_place, "a channel's entry")
            _reject_unknown_keys(channel_table, _FIELD_NAMES, channel_place)
            channels[(tenant_id, Channel(channel_name))] = _windows(
                _merge(tenant, channel_table, channel_place)
            )

    return RetentionPolicy(
        default=_windows(default),
        tenants=tenants,
        channels=channels,
        reveal_default=reveal_default,
        reveal=reveal,
    )


def load_policy(path: str | None) -> RetentionPolicy:
    """The retention policy in the TOML file at ``path``, or :data:`DEFAULT_POLICY` if None.

    The one function here that reads a file. An unreadable or invalid file raises
    :class:`PolicyError` naming ``path``: a service must not start with retention rules it
    cannot state (GDPR Art. 5(1)(e), Art. 30(1)(f)).
    """
    if path is None:
        return DEFAULT_POLICY
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise PolicyError(f"retention policy {_one_line(path)}: cannot read: {reason}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PolicyError(
            f"retention policy {_one_line(path)}: not UTF-8 (byte {error.start})"
        ) from None
    return parse_policy(text, source=path)


# --- When stages are due ---------------------------------------------------------------------


def _require_aware(name: str, moment: datetime) -> timedelta:
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")
    return offset


def _elapsed(start: datetime, end: datetime, start_name: str, end_name: str) -> timedelta:
    """``end - start`` as instants (in UTC), without overflowing near the ends of time."""
    start_offset = _require_aware(start_name, start)
    end_offset = _require_aware(end_name, end)
    # Subtracting two datetimes that share a tzinfo compares wall clocks, which is wrong
    # across a DST change; subtract the wall clocks and their offsets explicitly instead.
    wall = end.replace(tzinfo=None) - start.replace(tzinfo=None)
    return wall - (end_offset - start_offset)


def due_stages(windows: RetentionWindows, created_at: datetime, now: datetime) -> frozenset[Stage]:
    """The stages due at ``now`` for a record created at ``created_at``.

    A stage is due once its window has passed: ``now >= created_at + window``, the edge
    itself included. Both times must be timezone-aware (ValueError otherwise) and are
    compared as instants (UTC). Keeping data no longer than the window is GDPR
    Art. 5(1)(e) and PIPL Art. 19; the windows themselves are in :data:`DEFAULT_RULES`.
    """
    elapsed = _elapsed(created_at, now, "created_at", "now")
    return frozenset(stage for stage in STAGE_ORDER if elapsed >= windows.window(stage))


def cutoff(windows: RetentionWindows, stage: Stage, now: datetime) -> datetime:
    """The latest ``created_at`` due for ``stage`` at ``now``: ``now - window``, in UTC.

    Records with ``created_at <= cutoff`` are due, the same rule as :func:`due_stages`, in
    the form a query needs (GDPR Art. 5(1)(e)). ``now`` must be timezone-aware.
    """
    _require_aware("now", now)
    return now.astimezone(UTC) - windows.window(stage)


_EPOCH = re.compile(r"([0-9]{4})-([0-9]{2})")


def month_bounds(epoch: str) -> tuple[datetime, datetime]:
    """The UTC calendar month ``epoch`` (``"YYYY-MM"``) as ``[start, end)``.

    A record's key epoch is the month of its ``created_at``; destroying a month's key
    erases that month's data everywhere, backups included (GDPR Art. 5(1)(e), Art. 17).
    """
    match = _EPOCH.fullmatch(epoch)
    if match is None:
        raise ValueError(f"epoch {epoch!r} is not a month written as YYYY-MM")
    year, month = int(match[1]), int(match[2])
    try:
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    except ValueError:
        raise ValueError(f"epoch {epoch!r} is not a month between 0001-01 and 9999-11") from None
    return start, end


def month_wholly_past(epoch: str, window: timedelta, now: datetime) -> bool:
    """Whether every instant of month ``epoch`` is past ``window`` at ``now``.

    True when ``month_end + window <= now`` (``month_end`` exclusive): a record of the
    last microsecond of the month falls due at ``month_end - 1µs + window``, earlier, so
    no record of the month is still within its window and the month's data may go as a
    whole (GDPR Art. 5(1)(e)). ``now`` must be timezone-aware.
    """
    _, end = month_bounds(epoch)
    return _elapsed(end, now, "month end", "now") >= window


def next_daily_run(now: datetime, at: time) -> datetime:
    """The first instant strictly after ``now`` whose UTC wall-clock time is ``at``.

    When the scheduler runs the retention job, so that data is erased daily once its
    window has passed (GDPR Art. 5(1)(e)). ``now`` must be timezone-aware; ``at`` is a UTC
    time of day (naive, or with a zero offset). The result is in UTC.
    """
    _require_aware("now", now)
    offset = at.utcoffset()
    if offset is not None and offset != timedelta(0):
        raise ValueError(f"at must be a UTC time of day, got offset {offset}")
    current = now.astimezone(UTC)
    run = datetime.combine(current.date(), at.replace(tzinfo=None), tzinfo=UTC)
    if run <= current:
        run += timedelta(days=1)
    return run


_DAILY_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")


def parse_daily_time(text: str) -> time:
    """The UTC time of day in ``text``, written ``H:MM`` or ``HH:MM`` (``"03:00"``, ``"3:05"``).

    The setting :data:`DAILY_TIME_SETTING` uses it for when the retention job runs (GDPR
    Art. 5(1)(e)). Anything else raises ValueError naming the setting.
    """
    match = _DAILY_TIME.fullmatch(text.strip())
    if match is not None:
        hour, minute = int(match[1]), int(match[2])
        if hour <= 23 and minute <= 59:
            return time(hour, minute)
    raise ValueError(
        f"{DAILY_TIME_SETTING} must be a UTC time of day written HH:MM (00:00 to 23:59), "
        f"got {_shown(text)}"
    )
