"""Judge a masker against the annotated corpus: what leaks, what is lost.

Pure and importable (no I/O beyond reading the committed corpus file), so the policy
tests, the end-to-end test through the API and ``python -m tests.corpus.report`` all
apply the same rule:

- **Leak.** A hidden value leaks when some run of ``min(3, len)`` consecutive characters
  of it (separators ``space - . /`` removed, compared case-sensitively) is visible in the
  masked output (same separators removed) and that run does not also occur in the
  original text outside the hidden value: a ``2026`` shared with a date in the same
  message is not counted. The original includes its timestamps as a reducer rewrites them
  (ISO 8601 in UTC, from Unix seconds or milliseconds, RFC 2822 dates and Aliyun's
  China-time ``YYYY-MM-DD HH:MM:SS``): digits of ``2026-10-26T01:53:41Z`` made from
  ``1792979621`` explain themselves. "Visible" includes what a reader gets by decoding the output
  once: the strings of a JSON document (a reduced provider payload may be JSON inside
  JSON) and percent-decoding (a form-encoded callback).
- **Over-masking.** An entry is over-masked when one of its ``keep`` values is not in the
  output verbatim (or in the decoded form above).

Verdicts name entry ids and categories only, never a hidden value: test output is a log.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

CORPUS = Path(__file__).with_name("corpus.jsonl")
SEPARATORS = " -./"
ASSERTED_PREFIXES = ("credential.", "identifier.", "payload.")
"""Categories with a target of zero leaks; ``personal.*`` (names, street addresses in
free text) are reported, not asserted: no pattern rule can recognise a name."""
OVER_MASKING_TARGET = 0.05
_SEPARATOR_TABLE = str.maketrans("", "", SEPARATORS)
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]{0,63})\}")


@dataclass(frozen=True, slots=True)
class Annotation:
    value: str
    category: str


@dataclass(frozen=True, slots=True)
class CorpusTemplate:
    id: str
    body: str
    parameters: dict[str, str]
    values: dict[str, str]

    def rendered(self) -> str:
        """The body with every placeholder replaced by its value."""
        return _PLACEHOLDER.sub(lambda match: self.values[match.group(1)], self.body)


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    kind: str
    lang: str
    sector: str
    channel: str
    text: str
    hide: tuple[Annotation, ...]
    keep: tuple[Annotation, ...]
    provider: str | None = None
    status: str | None = None
    field: str | None = None
    template: CorpusTemplate | None = None


def load_corpus(path: Path = CORPUS) -> list[Entry]:
    """Every entry of the committed corpus, in file order."""
    with path.open(encoding="utf-8") as lines:
        return [_entry(json.loads(line)) for line in lines if line.strip()]


def _entry(raw: Mapping[str, Any]) -> Entry:
    template = raw.get("template")
    return Entry(
        id=raw["id"],
        kind=raw["kind"],
        lang=raw["lang"],
        sector=raw["sector"],
        channel=raw["channel"],
        text=raw["text"],
        hide=tuple(Annotation(a["value"], a["category"]) for a in raw["hide"]),
        keep=tuple(Annotation(a["value"], a["category"]) for a in raw["keep"]),
        provider=raw.get("provider"),
        status=raw.get("status"),
        field=raw.get("field"),
        template=None
        if template is None
        else CorpusTemplate(
            id=template["id"],
            body=template["body"],
            parameters=dict(template["parameters"]),
            values=dict(template["values"]),
        ),
    )


# --- the rule ----------------------------------------------------------------------------


def compact(text: str) -> str:
    """``text`` without the separators ``space - . /``."""
    return text.translate(_SEPARATOR_TABLE)


def visible(output: str) -> str:
    """What a reader can see in ``output``: itself, its percent-decoded form, and every
    string and number of it once decoded as JSON (recursively: JSON inside JSON)."""
    parts = [output]
    decoded = unquote(output)
    if decoded != output:
        parts.append(decoded)
    parts.extend(_json_strings(output, depth=0))
    return "\n".join(parts)


def _json_strings(text: str, *, depth: int) -> Iterator[str]:
    if depth > 3 or not text.lstrip().startswith(("{", "[", '"')):
        return
    try:
        document = json.loads(text)
    except ValueError:
        return
    stack: list[Any] = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            yield item
            yield from _json_strings(item, depth=depth + 1)
        elif item is not None:
            yield str(item)


def leaks(hidden: str, original: str, output: str | None) -> bool:
    """Whether ``hidden`` (a value in ``original``) can be read in ``output``."""
    if output is None:
        return False
    target = compact(hidden)
    width = min(3, len(target))
    if width == 0:
        return False
    shown = compact(visible(output))
    rest = original.replace(hidden, "\x00")
    outside = compact("\x00".join([rest, *timestamp_renderings(rest)]))
    return any(
        run in shown and run not in outside
        for run in (target[i : i + width] for i in range(len(target) - width + 1))
    )


_UNIX = re.compile(r"(?<![\d.])1\d{9}(?:\d{3})?(?![\d.])")
_LOCAL_TIME = re.compile(r"\b(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)\b")
_CHINA_TIME = timedelta(hours=8)


def timestamp_renderings(text: str) -> list[str]:
    """The ISO 8601 UTC forms of the timestamps in ``text`` (see the module's rule)."""
    moments: list[datetime] = []
    for match in _UNIX.finditer(text):
        number = int(match.group())
        seconds = number / 1000 if len(match.group()) == 13 else number
        moments.append(datetime.fromtimestamp(seconds, UTC))
    for match in _LOCAL_TIME.finditer(text):
        local = datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}").replace(tzinfo=UTC)
        moments += [local, local - _CHINA_TIME]
    for candidate in re.findall(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}", text):
        with contextlib.suppress(ValueError):
            moments.append(parsedate_to_datetime(candidate).astimezone(UTC))
    return [moment.isoformat().replace("+00:00", "Z") for moment in moments]


def kept(value: str, output: str | None) -> bool:
    """Whether ``value`` is readable verbatim in ``output``."""
    return output is not None and value in visible(output)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one entry's output got wrong: categories only, never values."""

    entry_id: str
    leaked: tuple[str, ...]
    lost: tuple[str, ...]

    @property
    def over_masked(self) -> bool:
        return bool(self.lost)

    def asserted_leaks(self) -> tuple[str, ...]:
        return tuple(c for c in self.leaked if c.startswith(ASSERTED_PREFIXES))


def judge(entry: Entry, output: str | None) -> Verdict:
    """Apply the leak and the over-masking rule to one entry's masked output."""
    leaked = tuple(a.category for a in entry.hide if leaks(a.value, entry.text, output))
    lost = tuple(a.category for a in entry.keep if not kept(a.value, output))
    return Verdict(entry.id, leaked, lost)


@dataclass
class Tally:
    """The figures of one path over a set of entries."""

    path: str
    entries: int = 0
    hidden: Counter[str] = field(default_factory=Counter)
    leaked: Counter[str] = field(default_factory=Counter)
    keeps: Counter[str] = field(default_factory=Counter)
    lost: Counter[str] = field(default_factory=Counter)
    over_masked_ids: list[str] = field(default_factory=list)
    leak_sites: list[tuple[str, str]] = field(default_factory=list)
    """(entry id, category) of every leak."""

    @property
    def over_masking_rate(self) -> float:
        return len(self.over_masked_ids) / self.entries if self.entries else 0.0

    def asserted_leak_sites(self) -> list[tuple[str, str]]:
        return [site for site in self.leak_sites if site[1].startswith(ASSERTED_PREFIXES)]


def evaluate(path: str, entries: Iterable[Entry], outputs: Mapping[str, str | None]) -> Tally:
    """Judge every entry of ``entries`` against its output in ``outputs`` (by entry id)."""
    tally = Tally(path)
    for entry in entries:
        verdict = judge(entry, outputs[entry.id])
        tally.entries += 1
        tally.hidden.update(a.category for a in entry.hide)
        tally.keeps.update(a.category for a in entry.keep)
        tally.leaked.update(verdict.leaked)
        tally.lost.update(verdict.lost)
        tally.leak_sites.extend((entry.id, category) for category in verdict.leaked)
        if verdict.over_masked:
            tally.over_masked_ids.append(entry.id)
    return tally


def describe_failures(tally: Tally, *, limit: int = 40) -> str:
    """A failure message naming entry ids and categories, never hidden values."""
    lines = [f"{tally.path}: {tally.entries} entries"]
    sites = tally.asserted_leak_sites()
    if sites:
        by_category = Counter(category for _, category in sites)
        lines.append(
            f"{len(sites)} leaks: " + ", ".join(f"{c} {n}" for c, n in sorted(by_category.items()))
        )
        lines.extend(f"  leak {entry_id}: {category}" for entry_id, category in sites[:limit])
    if tally.over_masking_rate >= OVER_MASKING_TARGET:
        lines.append(
            f"over-masked {len(tally.over_masked_ids)}/{tally.entries} "
            f"({tally.over_masking_rate:.1%}): "
            + ", ".join(f"{c} {n}" for c, n in sorted(tally.lost.items()))
        )
        lines.extend(f"  over-masked {entry_id}" for entry_id in tally.over_masked_ids[:limit])
    return "\n".join(lines)


# --- the two paths, through the policy layer --------------------------------------------

Masker = Callable[[Entry], str | None]

_AT = datetime(2026, 10, 8, 9, 0, tzinfo=UTC)


def free_text_output(entry: Entry) -> str | None:
    """What leaves the service for ``entry`` recorded as free text: the record passes
    :func:`policies.disclosure.disclose`; a provider payload is first reduced as at
    ingest (:func:`policies.providers.reduce_provider_text`, where that module exists)."""
    from policies.channels import Channel, DeliveryStatus
    from policies.disclosure import disclose
    from policies.records import SendRecord

    content = recipient = error = response = None
    if entry.kind == "body":
        content = entry.text
    elif entry.kind == "recipient":
        recipient = entry.text
    else:
        stored = reduce_at_ingest(entry.text, entry.provider)
        if entry.field == "error":
            error = stored
        else:
            response = stored
    record = SendRecord(
        id="log_corpus",
        tenant_id="tnt_corpus",
        user_id="usr_corpus",
        channel=Channel(entry.channel),
        provider=entry.provider,
        template_id=None,
        recipient=recipient,
        content=content,
        status=DeliveryStatus(entry.status or "sent"),
        error=error,
        response=response,
        created_at=_AT,
        sent_at=_AT,
        updated_at=_AT,
    )
    shown = disclose(record)
    if entry.kind == "body":
        return shown.content
    if entry.kind == "recipient":
        return shown.recipient
    return shown.error if entry.field == "error" else shown.response


def reduce_at_ingest(text: str, provider: str | None) -> str:
    """What ingest stores of a provider payload: reduced where the rule exists."""
    try:
        from policies.providers import reduce_provider_text
    except ImportError:
        return text
    return reduce_provider_text(text, provider)


def providers_rule_present() -> bool:
    try:
        import policies.providers  # noqa: F401
    except ImportError:
        return False
    return True


def template_output(entry: Entry) -> str | None:
    """What leaves the service for a body recorded by template: the stored parameters
    (secrets dropped) rendered for disclosure (:mod:`policies.templates`)."""
    from policies.templates import render_disclosed, stored_parameters

    if entry.template is None:
        raise ValueError("not a body entry")
    template = entry.template
    stored = stored_parameters(template.parameters, template.values)
    return render_disclosed(template.body, template.parameters, stored)


def run_path(path: str, entries: Iterable[Entry], masker: Masker) -> Tally:
    """Mask every entry with ``masker`` and judge the outputs."""
    chosen = list(entries)
    return evaluate(path, chosen, {entry.id: masker(entry) for entry in chosen})
