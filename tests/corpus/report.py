"""Print the corpus figures as Markdown: ``python -m tests.corpus.report``.

Two paths: free text (``mask_content`` / ``mask_recipient`` through ``disclose``, provider
payloads reduced as at ingest first) over every entry, and the template path
(``stored_parameters`` + ``render_disclosed``) over the message bodies. For each hidden
category: values leaked of values annotated; for each kept category: values lost.
"""

from __future__ import annotations

import sys
from collections import Counter

from tests.corpus.harness import (
    ASSERTED_PREFIXES,
    Entry,
    Tally,
    free_text_output,
    load_corpus,
    providers_rule_present,
    run_path,
    template_output,
)


def tallies(entries: list[Entry]) -> tuple[Tally, Tally | None]:
    free = run_path("free text", entries, free_text_output)
    bodies = [entry for entry in entries if entry.kind == "body"]
    try:
        template = run_path("template", bodies, template_output)
    except ImportError:
        template = None
    return free, template


def _cell(count: int, total: int) -> str:
    return f"{count}/{total}" if total else "—"


def markdown(entries: list[Entry], free: Tally, template: Tally | None) -> str:
    kinds = Counter(entry.kind for entry in entries)
    languages = Counter(entry.lang for entry in entries if entry.kind == "body")
    lines = [
        f"Corpus: {len(entries)} entries — {kinds['body']} message bodies "
        f"({', '.join(f'{lang} {n}' for lang, n in sorted(languages.items()))}), "
        f"{kinds['payload']} provider payloads, {kinds['recipient']} recipients. "
        f"Provider reduction at ingest: {'yes' if providers_rule_present() else 'not present'}.",
        "",
        "| path | entries | leaks (credential, identifier, payload) | leaks (personal) "
        "| over-masked entries |",
        "|---|---:|---:|---:|---:|",
    ]
    for tally in (free, template):
        if tally is None:
            lines.append("| template | — | not available | — | — |")
            continue
        asserted = len(tally.asserted_leak_sites())
        personal = len(tally.leak_sites) - asserted
        lines.append(
            f"| {tally.path} | {tally.entries} | {asserted} | {personal} | "
            f"{len(tally.over_masked_ids)} ({tally.over_masking_rate:.1%}) |"
        )
    lines += [
        "",
        "Hidden values leaked (leaked/annotated; the template path covers message bodies only):",
        "",
        "| category | free text | template |",
        "|---|---:|---:|",
    ]
    for category in sorted(free.hidden, key=_category_order):
        template_cell = (
            _cell(template.leaked[category], template.hidden[category]) if template else "—"
        )
        lines.append(
            f"| `{category}` | {_cell(free.leaked[category], free.hidden[category])} "
            f"| {template_cell} |"
        )
    lines += [
        "",
        "Values a person needs, lost (lost/annotated):",
        "",
        "| category | free text | template |",
        "|---|---:|---:|",
    ]
    for category in sorted(free.keeps):
        template_cell = (
            _cell(template.lost[category], template.keeps[category]) if template else "—"
        )
        lines.append(
            f"| `{category}` | {_cell(free.lost[category], free.keeps[category])} "
            f"| {template_cell} |"
        )
    return "\n".join(lines) + "\n"


def _category_order(category: str) -> tuple[int, str]:
    for rank, prefix in enumerate(ASSERTED_PREFIXES):
        if category.startswith(prefix):
            return rank, category
    return len(ASSERTED_PREFIXES), category


def main() -> None:
    entries = load_corpus()
    free, template = tallies(entries)
    sys.stdout.write(markdown(entries, free, template))


if __name__ == "__main__":
    main()
