"""The corpus through the real API, on SQLite and PostgreSQL: what a caller reads back.

Every message body is recorded twice, as free text (``content``) and by template
(``template_id`` + ``template_params``, after ``PUT /templates/{id}``); every provider
payload arrives as the ``error`` or ``response`` of a delivery outcome; every recipient
is the recipient of a send. ``GET /communication/logs`` gives back what leaves the
service, and the corpus harness judges it with the same rule as the policy test
(``tests/policies/test_corpus.py``): no credential, identifier or payload value leaks,
under 5% of entries over-masked, per path. Failures name entry ids and categories only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import pytest
from httpx import Response

from tests.corpus.harness import (
    OVER_MASKING_TARGET,
    Entry,
    Tally,
    describe_failures,
    evaluate,
    load_corpus,
)
from tests.factories import Caller

USER = "usr_corpus"
CONCURRENCY = 16
# A send needs a recipient and a content; the entry under test supplies the other.
RECIPIENT = {"sms": "+8613812348000", "email": "alice@example.com", "push": "abcd1234efgh5678ijkl"}
NEUTRAL_CONTENT = "Ihre Sendung ist unterwegs."


async def _in_batches(
    jobs: Iterable[Callable[[], Awaitable[Response]]],
) -> list[Response]:
    """Run the requests ``CONCURRENCY`` at a time, in order."""
    pending = list(jobs)
    responses: list[Response] = []
    for start in range(0, len(pending), CONCURRENCY):
        batch = pending[start : start + CONCURRENCY]
        responses += await asyncio.gather(*(job() for job in batch))
    return responses


def _accepted(response: Response, entry_id: str, step: str) -> dict[str, Any]:
    if response.status_code not in (200, 201):
        # The service's messages name fields, never values (privacy by default).
        message = response.json().get("message", "")
        pytest.fail(f"{step} {entry_id}: HTTP {response.status_code} {message}", pytrace=False)
    data: dict[str, Any] = response.json()["data"]
    return data


async def _register_templates(caller: Caller, bodies: list[Entry]) -> None:
    headers = caller.auth("svc_sender", "ingest")
    templates = {}
    for entry in bodies:
        assert entry.template is not None
        templates[entry.template.id] = (entry.channel, entry.template)
    jobs = [
        (
            template_id,
            lambda template_id=template_id, channel=channel, template=template: caller.client.put(
                f"/templates/{template_id}",
                json={
                    "channel": channel,
                    "body": template.body,
                    "parameters": template.parameters,
                },
                headers=headers,
            ),
        )
        for template_id, (channel, template) in templates.items()
    ]
    responses = await _in_batches(job for _, job in jobs)
    for (template_id, _), response in zip(jobs, responses, strict=True):
        _accepted(response, template_id, "PUT /templates")


def _send(caller: Caller, **body: Any) -> Callable[[], Awaitable[Response]]:
    headers = caller.auth("svc_sender", "ingest")
    return lambda: caller.client.post("/communication/logs", json=body, headers=headers)


async def _record_all(caller: Caller, corpus: list[Entry]) -> dict[str, tuple[str, str]]:
    """Record every entry; the log id of each record → (path, entry id)."""
    plans: list[tuple[str, Entry, Callable[[], Awaitable[Response]]]] = []
    for entry in corpus:
        if entry.kind == "body":
            assert entry.template is not None
            common = {
                "user_id": USER,
                "channel": entry.channel,
                "recipient": RECIPIENT[entry.channel],
            }
            plans.append(("free text", entry, _send(caller, **common, content=entry.text)))
            plans.append(
                (
                    "template",
                    entry,
                    _send(
                        caller,
                        **common,
                        template_id=entry.template.id,
                        template_params=entry.template.values,
                    ),
                )
            )
        elif entry.kind == "recipient":
            plans.append(
                (
                    "free text",
                    entry,
                    _send(
                        caller,
                        user_id=USER,
                        channel=entry.channel,
                        recipient=entry.text,
                        content=NEUTRAL_CONTENT,
                    ),
                )
            )
        else:
            body: dict[str, Any] = {
                "user_id": USER,
                "channel": entry.channel,
                "recipient": RECIPIENT[entry.channel],
                "content": NEUTRAL_CONTENT,
            }
            if entry.provider is not None:
                body["provider"] = entry.provider
            plans.append(("free text", entry, _send(caller, **body)))
    responses = await _in_batches(plan[2] for plan in plans)
    sent: dict[str, tuple[str, str]] = {}
    for (path, entry, _), response in zip(plans, responses, strict=True):
        data = _accepted(response, entry.id, f"POST /communication/logs ({path})")
        sent[data["id"]] = (path, entry.id)
    await _report_outcomes(caller, corpus, sent)
    return sent


async def _report_outcomes(
    caller: Caller, corpus: list[Entry], sent: dict[str, tuple[str, str]]
) -> None:
    log_of = {entry_id: log_id for log_id, (_, entry_id) in sent.items()}
    payloads = [entry for entry in corpus if entry.kind == "payload"]
    jobs = []
    for entry in payloads:
        assert entry.field in ("error", "response")
        outcome = {"status": entry.status, entry.field: entry.text}
        log_id = log_of[entry.id]
        jobs.append(lambda log_id=log_id, outcome=outcome: caller.set_status(log_id, **outcome))
    responses = await _in_batches(jobs)
    for entry, response in zip(payloads, responses, strict=True):
        _accepted(response, entry.id, "POST /communication/logs/{id}/status")


async def _read_back(caller: Caller, expected: int) -> dict[str, dict[str, Any]]:
    """Every record of the corpus user, as ``GET /communication/logs`` shows it."""
    records: dict[str, dict[str, Any]] = {}
    page = 1
    while True:
        response = await caller.list_logs(USER, page=page, page_size=100)
        assert response.status_code == 200, response.status_code
        listing = response.json()
        records.update({item["id"]: item for item in listing["items"]})
        if not listing["pagination"]["has_next"]:
            break
        page += 1
    assert len(records) == expected
    return records


def _shown(entry: Entry, record: dict[str, Any]) -> str | None:
    if entry.kind == "body":
        content: str | None = record["content"]
        return content
    if entry.kind == "recipient":
        recipient: str | None = record["recipient"]
        return recipient
    assert entry.field is not None
    shown: str | None = record[entry.field]
    return shown


async def test_the_corpus_read_back_through_the_api_meets_the_targets_on_both_paths(
    caller: Caller,
) -> None:
    started = time.monotonic()
    corpus = load_corpus()
    bodies = [entry for entry in corpus if entry.kind == "body"]
    by_id = {entry.id: entry for entry in corpus}

    await _register_templates(caller, bodies)
    sent = await _record_all(caller, corpus)
    records = await _read_back(caller, expected=len(sent))

    outputs: dict[str, dict[str, str | None]] = {"free text": {}, "template": {}}
    for log_id, (path, entry_id) in sent.items():
        outputs[path][entry_id] = _shown(by_id[entry_id], records[log_id])
    tallies: list[Tally] = [
        evaluate("free text (API)", corpus, outputs["free text"]),
        evaluate("template (API)", bodies, outputs["template"]),
    ]
    failing = [
        tally
        for tally in tallies
        if tally.asserted_leak_sites() or tally.over_masking_rate >= OVER_MASKING_TARGET
    ]
    if failing:
        pytest.fail("\n\n".join(describe_failures(tally) for tally in failing), pytrace=False)
    assert time.monotonic() - started < 60, "the corpus round trip should stay under a minute"
