"""Message templates whose parameters carry a privacy class: what is stored, what is shown.

Masking a whole message body by patterns has to guess which part of the text is a
verification code and which is an amount. A template removes the guess: the sender
registers the body once, with each ``${name}`` placeholder declared as

- ``secret``: a credential (a code, a password, a token, a link that authenticates). Its
  value is **never stored**; the record keeps only that a value was given, and the
  rendered text shows :data:`SECRET_MASK`. What is not stored cannot leak (GDPR Art. 5(1)(c)
  data minimisation, Art. 25(2) data protection by default; PIPL Art. 6).
- ``personal``: a person's name, address, account or policy number, e-mail address or
  phone number. Stored encrypted with the record's content, shown masked by a rule chosen
  by the value's kind (``personal:name``, ``personal:number``, ``personal:address``,
  ``personal:email``, ``personal:phone``; plain ``personal`` is shown as
  :data:`TEXT_MASK`; see :mod:`policies.personal_values`). Pseudonymisation and
  de-identification on the way out (GDPR Art. 32(1)(a), PIPL Art. 51, Art. 73(3)).
- ``public``: amounts, dates, times, product names, hotlines. Stored encrypted with the
  rest, shown as they are: the person needs them to recognise the message.

This is the model of GOV.UK Notify (a template plus personalisation kept apart, with
personalisation redactable per template) and of Aliyun SMS and Twilio Content (a template
code plus parameters; ``${name}`` is Aliyun's placeholder syntax).

Everything here is pure and total: validation returns problems (texts that name parameter
names, never values), rendering never raises.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from policies.channels import Channel
from policies.personal_values import TEXT_MASK, PersonalKind, mask_personal

PARAMETER_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]{0,63}$"
"""A parameter name, as a regular expression valid in Python and ECMA-262 alike."""
PARAMETER_NAME_RULE = "a letter or '_', then up to 63 letters, digits or '_'"

MAX_PARAMETERS = 32
"""The most parameters a template may declare (and a send may give)."""
MAX_PARAMETER_VALUE_CHARS = 1024
"""The longest value a send may give one parameter: a name, an address, a link."""
MAX_BODY_CHARS = 16_384
"""The longest template body: the default content limit of a free-text send."""

SECRET_MASK = "******"  # noqa: S105 (a mask, not a password)
"""What a ``secret`` parameter shows, whatever its value was (the value is not stored)."""

_NAME = re.compile(PARAMETER_NAME_PATTERN.removeprefix("^").removesuffix("$"))
_NAME_FULL = re.compile(PARAMETER_NAME_PATTERN.replace("$", r"\Z"))
_PLACEHOLDER = re.compile(r"\$\{(" + _NAME.pattern + r")\}")
_PLACEHOLDER_START = "${"


class Sensitivity(enum.StrEnum):
    """How much of a parameter's value may be kept and shown."""

    SECRET = "secret"  # noqa: S105 (a class name)
    """Never stored; shown as :data:`SECRET_MASK`."""
    PERSONAL = "personal"
    """Stored encrypted; shown masked by its :class:`PersonalKind`."""
    PUBLIC = "public"
    """Stored encrypted; shown as given."""


@dataclass(frozen=True, slots=True)
class ParameterClass:
    """A parameter's class as written in a template: ``secret``, ``public``, ``personal``
    or ``personal:<kind>``."""

    sensitivity: Sensitivity
    kind: PersonalKind | None = None

    @classmethod
    def parse(cls, text: str) -> ParameterClass | None:
        """The class ``text`` names, or ``None`` when it names none of :data:`CLASS_NAMES`."""
        return _CLASSES.get(text)

    def __str__(self) -> str:
        if self.kind is None or self.kind is PersonalKind.TEXT:
            return self.sensitivity.value
        return f"{self.sensitivity.value}:{self.kind.value}"


_CLASSES: dict[str, ParameterClass] = {
    "secret": ParameterClass(Sensitivity.SECRET),
    "public": ParameterClass(Sensitivity.PUBLIC),
    "personal": ParameterClass(Sensitivity.PERSONAL, PersonalKind.TEXT),
    **{
        f"personal:{kind.value}": ParameterClass(Sensitivity.PERSONAL, kind)
        for kind in PersonalKind
        if kind is not PersonalKind.TEXT
    },
}

CLASS_NAMES: tuple[str, ...] = tuple(_CLASSES)
"""Every class a template may declare, as written."""


class TemplateRejected(ValueError):
    """A template or a send's parameters broke a rule. ``problems`` name parameter names
    (only those that are valid names), never a value; ``str()`` joins them."""

    def __init__(self, problems: tuple[str, ...]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateVersion:
    """One immutable version of a tenant's template. Records name the version they were
    rendered from, so a record reads the same after the template changed."""

    tenant_id: str
    template_id: str
    version: int
    channel: Channel
    body: str
    parameters: Mapping[str, str]
    """Parameter name → class as written (:data:`CLASS_NAMES`)."""
    content_retention_days: int | None
    """Days after a send at which its parameters are erased, if sooner than the tenant's
    content window; ``None``: the tenant's window."""
    created_at: datetime
    created_by: str

    def defines(
        self,
        *,
        channel: Channel,
        body: str,
        parameters: Mapping[str, str],
        content_retention_days: int | None,
    ) -> bool:
        """Whether this version already is the template described (a repeated ``PUT``)."""
        return (
            self.channel is channel
            and self.body == body
            and dict(self.parameters) == dict(parameters)
            and self.content_retention_days == content_retention_days
        )

    def content_erase_after(self, created_at: datetime) -> datetime | None:
        """When the content of a send made at ``created_at`` from this version is due for
        erasure by the template's own retention (``None``: only the tenant's window)."""
        if self.content_retention_days is None:
            return None
        return created_at + timedelta(days=self.content_retention_days)


def content_retention_problem(days: int, content_window: timedelta) -> str | None:
    """Why a template may not keep its content ``days`` days, or ``None``: at least one
    day, and never longer than the tenant's content window for the template's channel (a
    template may shorten the storage period, never extend it: GDPR Art. 5(1)(e), PIPL
    Art. 19)."""
    if days < 1:
        return "'content_retention_days' must be at least 1"
    if timedelta(days=days) > content_window:
        return (
            "'content_retention_days' must not exceed the tenant's content retention of "
            f"{content_window.days} days for this channel"
        )
    return None


def placeholders(body: str) -> tuple[str, ...]:
    """The parameter names ``body``'s ``${name}`` placeholders use, in first-use order."""
    return tuple(dict.fromkeys(match.group(1) for match in _PLACEHOLDER.finditer(body)))


def template_problems(body: str, classes: Mapping[str, str]) -> tuple[str, ...]:
    """Why ``body`` with the declared ``classes`` is not a valid template; empty when it is.

    Problems: an empty or too long body, a ``${`` that does not open a placeholder
    ``${name}``, too many parameters, a parameter name not of the form
    :data:`PARAMETER_NAME_RULE` (counted, not quoted), a class not in :data:`CLASS_NAMES`,
    a placeholder whose parameter is not declared, a declared parameter the body does not
    use. Names are listed sorted, so the same template gives the same text.
    """
    problems: list[str] = []
    if not body:
        problems.append("the body must not be empty")
    elif len(body) > MAX_BODY_CHARS:
        problems.append(f"the body must be at most {MAX_BODY_CHARS} characters")
    malformed = _malformed_placeholder(body)
    if malformed is not None:
        problems.append(
            f"the body has a '${{' at character {malformed} that does not open a "
            "placeholder ${name}"
        )
    if len(classes) > MAX_PARAMETERS:
        problems.append(f"a template may declare at most {MAX_PARAMETERS} parameters")
    bad_names = [name for name in classes if not is_parameter_name(name)]
    if bad_names:
        problems.append(
            f"{len(bad_names)} parameter name(s) are not of the form {PARAMETER_NAME_RULE}"
        )
    bad_classes = sorted(
        name for name, text in classes.items() if is_parameter_name(name) and text not in _CLASSES
    )
    if bad_classes:
        problems.append(
            f"parameters with an unknown class: {', '.join(bad_classes)} "
            f"(classes: {', '.join(CLASS_NAMES)})"
        )
    used = set(placeholders(body))
    undeclared = sorted(used - set(classes))
    if undeclared:
        problems.append(f"placeholders without a declared parameter: {', '.join(undeclared)}")
    unused = sorted(name for name in classes if is_parameter_name(name) and name not in used)
    if unused:
        problems.append(f"declared parameters the body does not use: {', '.join(unused)}")
    return tuple(problems)


def is_parameter_name(name: str) -> bool:
    """Whether ``name`` may name a parameter (:data:`PARAMETER_NAME_PATTERN`)."""
    return _NAME_FULL.match(name) is not None


def parse_classes(classes: Mapping[str, str]) -> dict[str, ParameterClass]:
    """``classes`` as :class:`ParameterClass` values; :class:`TemplateRejected` naming the
    parameters whose class is unknown."""
    parsed = {name: ParameterClass.parse(text) for name, text in classes.items()}
    unknown = sorted(name for name, found in parsed.items() if found is None)
    if unknown:
        named = [name for name in unknown if is_parameter_name(name)]
        raise TemplateRejected(
            (f"parameters with an unknown class: {', '.join(named) or len(unknown)}",)
        )
    return {name: found for name, found in parsed.items() if found is not None}


def _malformed_placeholder(body: str) -> int | None:
    """The position of the first ``${`` that does not open a placeholder, or ``None``."""
    position = body.find(_PLACEHOLDER_START)
    while position != -1:
        if _PLACEHOLDER.match(body, position) is None:
            return position
        position = body.find(_PLACEHOLDER_START, position + 2)
    return None


@dataclass(frozen=True, slots=True)
class StoredParameters:
    """What a send keeps of its parameters: non-secret values, and which secrets were given.

    Secret values are not here at all; :meth:`to_json` is what is sealed in the record.
    """

    values: Mapping[str, str] = field(default_factory=dict)
    """Values of ``public`` and ``personal`` parameters, by name."""
    secrets: frozenset[str] = frozenset()
    """Names of ``secret`` parameters that were given a value."""

    def to_json(self) -> str:
        """Canonical JSON (sorted keys): equal parameters give equal texts."""
        return json.dumps(
            {"values": dict(sorted(self.values.items())), "secrets": sorted(self.secrets)},
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> StoredParameters:
        """The parameters :meth:`to_json` wrote; ``ValueError`` for anything else."""
        data = json.loads(text)
        if not isinstance(data, dict) or set(data) != {"values", "secrets"}:
            raise ValueError("not stored template parameters")
        values, secrets = data["values"], data["secrets"]
        if not isinstance(values, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in values.items()
        ):
            raise ValueError("not stored template parameters")
        if not isinstance(secrets, list) or not all(isinstance(name, str) for name in secrets):
            raise ValueError("not stored template parameters")
        return cls(values=values, secrets=frozenset(secrets))


def parameter_problems(classes: Mapping[str, str], values: Mapping[str, str]) -> tuple[str, ...]:
    """Why ``values`` do not fit a template declaring ``classes``; empty when they do.

    Every declared parameter needs a value (missing → named), no other may be given (extra
    → named when it is a valid name, counted otherwise), and no value may exceed
    :data:`MAX_PARAMETER_VALUE_CHARS` (its parameter named, the value not).
    """
    problems: list[str] = []
    missing = sorted(name for name in classes if name not in values)
    if missing:
        problems.append(f"missing template parameters: {', '.join(missing)}")
    extra = [name for name in values if name not in classes]
    if extra:
        named = sorted(name for name in extra if is_parameter_name(name))
        unnamed = len(extra) - len(named)
        listed = ", ".join([*named, *([f"{unnamed} not validly named"] if unnamed else [])])
        problems.append(f"parameters the template does not declare: {listed}")
    too_long = sorted(
        name
        for name, value in values.items()
        if name in classes and len(value) > MAX_PARAMETER_VALUE_CHARS
    )
    if too_long:
        problems.append(
            f"parameter values longer than {MAX_PARAMETER_VALUE_CHARS} characters: "
            f"{', '.join(too_long)}"
        )
    return tuple(problems)


def stored_parameters(classes: Mapping[str, str], values: Mapping[str, str]) -> StoredParameters:
    """What of ``values`` a record may keep: every value but the secrets', and the names of
    the secrets given (GDPR Art. 5(1)(c); a credential that is not stored cannot leak).

    Raises :class:`TemplateRejected` (naming parameters only) when ``values`` do not fit
    ``classes`` (:func:`parameter_problems`) or a class is unknown.
    """
    problems = parameter_problems(classes, values)
    if problems:
        raise TemplateRejected(problems)
    parsed = parse_classes(classes)
    repeated = _secrets_repeated(parsed, values)
    if repeated:
        raise TemplateRejected(tuple(repeated))
    return StoredParameters(
        values={
            name: value
            for name, value in values.items()
            if parsed[name].sensitivity is not Sensitivity.SECRET
        },
        secrets=frozenset(
            name for name in values if parsed[name].sensitivity is Sensitivity.SECRET
        ),
    )


MIN_REPEATED_SECRET_CHARS = 4
"""A secret value this long or longer may not appear inside another parameter's value."""


def _secrets_repeated(parsed: Mapping[str, ParameterClass], values: Mapping[str, str]) -> list[str]:
    """Problems naming each stored parameter whose value holds a secret's value: it would
    store and show the secret (``ref`` = ``REF-482913`` next to ``code`` = ``482913``)."""
    secrets = {
        name: value
        for name, value in values.items()
        if parsed[name].sensitivity is Sensitivity.SECRET
        and len(value.strip()) >= MIN_REPEATED_SECRET_CHARS
    }
    problems = []
    for name, value in sorted(values.items()):
        if parsed[name].sensitivity is Sensitivity.SECRET:
            continue
        for secret_name, secret in sorted(secrets.items()):
            if secret.strip() in value:
                problems.append(
                    f"parameter '{name}' holds the value of secret parameter '{secret_name}'"
                )
    return problems


def rendered_length(body: str, values: Mapping[str, str]) -> int:
    """The length of :func:`render` of ``body`` with ``values``, without building it (a
    body of thousands of placeholders would be megabytes)."""
    length = len(body)
    for match in _PLACEHOLDER.finditer(body):
        value = values.get(match.group(1))
        if value is not None:
            length += len(value) - len(match.group())
    return length


def render(body: str, values: Mapping[str, str]) -> str:
    """``body`` with each placeholder replaced by its value as given (one pass: a value
    that looks like a placeholder stays as it is). A placeholder without a value is kept.

    This is the message as the sender sent it; it is never stored or shown by the service.
    """
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group()), body)


def render_disclosed(body: str, classes: Mapping[str, str], stored: StoredParameters) -> str:
    """``body`` rendered as it may be shown: secrets :data:`SECRET_MASK`, personal values
    masked by kind (:func:`mask_personal`), public values as stored.

    Total: a placeholder whose class is unknown or whose value is not stored (data written
    by another version of the rules) shows :data:`SECRET_MASK` if it is a secret and
    :data:`TEXT_MASK` otherwise, never raises (GDPR Art. 25(2): when in doubt, show nothing).
    """
    return _render_stored(body, classes, stored, reveal_personal=False)


def render_revealed(body: str, classes: Mapping[str, str], stored: StoredParameters) -> str:
    """``body`` rendered for an officer's reveal: public and personal values as stored,
    secrets :data:`SECRET_MASK` (their values were never stored: nothing to reveal).

    Total like :func:`render_disclosed`, with the same marks for placeholders whose class
    is unknown or whose value is not stored.
    """
    return _render_stored(body, classes, stored, reveal_personal=True)


def _render_stored(
    body: str, classes: Mapping[str, str], stored: StoredParameters, *, reveal_personal: bool
) -> str:
    parsed = {name: ParameterClass.parse(text) for name, text in classes.items()}

    def shown(match: re.Match[str]) -> str:
        name = match.group(1)
        klass = parsed.get(name)
        if klass is None:
            return SECRET_MASK if name in stored.secrets else TEXT_MASK
        if klass.sensitivity is Sensitivity.SECRET:
            return SECRET_MASK
        value = stored.values.get(name)
        if value is None:
            return TEXT_MASK
        if klass.sensitivity is Sensitivity.PUBLIC or reveal_personal:
            return value
        return mask_personal(klass.kind or PersonalKind.TEXT, value)

    return _PLACEHOLDER.sub(shown, body)


__all__ = [
    "CLASS_NAMES",
    "MAX_BODY_CHARS",
    "MAX_PARAMETERS",
    "MAX_PARAMETER_VALUE_CHARS",
    "SECRET_MASK",
    "TEXT_MASK",
    "ParameterClass",
    "PersonalKind",
    "Sensitivity",
    "StoredParameters",
    "TemplateRejected",
    "TemplateVersion",
    "content_retention_problem",
    "mask_personal",
    "parameter_problems",
    "parse_classes",
    "placeholders",
    "render",
    "render_disclosed",
    "render_revealed",
    "stored_parameters",
    "template_problems",
]
