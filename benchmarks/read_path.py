"""The seed endpoint's read path before and after issue 8, measured in the same run.

Starts two real ``commlog run`` servers on SQLite, side by side:

- **before**: the code of ``--baseline`` (default ``cee05c7``, the last commit before
  issue 8), exported with ``git archive`` and run with this environment's interpreter;
- **after**: the code of this checkout.

Both record the same 100 realistic message bodies of the masking corpus
(``tests/corpus``, seven languages) as free text for one user, each with a provider
answer in its real format (an outcome with a ``response``). The new server also records
the same 100 messages as templated sends for a second user. Then
``GET /communication/logs?page_size=N`` is requested round-robin (before, after free
text, after templated) so that the machine's noise falls on all three alike, and the
medians, p95s and ratios are printed. ``make bench-read``; about two minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from compliance.encryption.master import new_master_key_entry
from service.auth import TokenCodec
from service.settings import Settings
from tests.corpus.harness import Entry, load_corpus

SECRET = "bench-secret-" + "r" * 40
TENANT = "tnt_read"
FREE, TEMPLATED = "usr_free", "usr_templated"
RECIPIENT = {"sms": "+8613812348000", "email": "li.wei@example.com", "push": "abcd1234efgh5678ijkl"}
RECORDS = 100
ROOT = Path(__file__).resolve().parent.parent


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def export(revision: str, into: Path) -> Path:
    """The tree of ``revision``, written under ``into``."""
    archive = subprocess.run(  # noqa: S603 - git with fixed arguments
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision],  # noqa: S607
        check=True,
        capture_output=True,
    ).stdout
    tree = into / f"tree-{revision}"
    tree.mkdir()
    archive_path = into / "tree.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(tree, filter="data")
    return tree


@contextmanager
def server(tree: Path, var_dir: Path, port: int) -> Iterator[str]:
    """``commlog run`` of the code in ``tree`` on its own SQLite file."""
    var_dir.mkdir()
    env = {
        **os.environ,
        "COMMLOG_ENV": "production",
        "COMMLOG_DATABASE_URL": f"sqlite+aiosqlite:///{var_dir}/read.db",
        "COMMLOG_JWT_SECRET": SECRET,
        "COMMLOG_MASTER_KEYS": new_master_key_entry("bench"),
        "COMMLOG_VAR_DIR": str(var_dir),
    }
    launcher = (
        f"import sys; sys.path.insert(0, {str(tree)!r}); "
        "from service.cli import main; sys.exit(main())"
    )
    command = [sys.executable, "-c", launcher]
    subprocess.run(  # noqa: S603 - our own CLI
        [*command, "database", "upgrade", "--no-prompt"],
        env=env,
        cwd=tree,
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        [*command, "run", "--port", str(port)],
        env=env,
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/health/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def pick(corpus: list[Entry]) -> tuple[list[Entry], list[Entry]]:
    """100 message bodies spread over the languages, and the provider payloads."""
    bodies = [entry for entry in corpus if entry.kind == "body"]
    step = max(1, len(bodies) // RECORDS)
    chosen = bodies[::step][:RECORDS]
    payloads = [entry for entry in corpus if entry.kind == "payload" and entry.field == "response"]
    return chosen, payloads


def populate(
    base: str, ingest: str, bodies: list[Entry], payloads: list[Entry], *, templated: bool
) -> None:
    headers = {"Authorization": f"Bearer {ingest}"}
    with httpx.Client(base_url=base, timeout=60, headers=headers) as client:
        if templated:
            for entry in bodies:
                assert entry.template is not None
                client.put(
                    f"/templates/{entry.template.id}",
                    json={
                        "channel": entry.channel,
                        "body": entry.template.body,
                        "parameters": entry.template.parameters,
                    },
                ).raise_for_status()
        for index, entry in enumerate(bodies):
            assert entry.template is not None
            body: dict[str, object] = {
                "user_id": TEMPLATED if templated else FREE,
                "channel": entry.channel,
                "recipient": RECIPIENT[entry.channel],
            }
            if templated:
                body |= {"template_id": entry.template.id, "template_params": entry.template.values}
            else:
                body |= {"content": entry.text}
            payload = payloads[index % len(payloads)]
            if payload.provider is not None:
                body["provider"] = payload.provider
            created = client.post("/communication/logs", json=body)
            created.raise_for_status()
            log_id = created.json()["data"]["id"]
            client.post(
                f"/communication/logs/{log_id}/status",
                json={"status": "delivered", "response": payload.text},
            ).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="cee05c7", help="the revision to compare with")
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()

    codec = TokenCodec(Settings(jwt_secret=SECRET))

    def token(user: str, role: str) -> str:
        return codec.issue(tenant_id=TENANT, user_id=user, roles=[role], ttl_seconds=7200)

    ingest = token("svc_sender", "ingest")
    bodies, payloads = pick(load_corpus())
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        before_tree = export(args.baseline, work)
        with (
            server(before_tree, work / "before", 8771) as before,
            server(ROOT, work / "after", 8772) as after,
        ):
            populate(before, ingest, bodies, payloads, templated=False)
            populate(after, ingest, bodies, payloads, templated=False)
            populate(after, ingest, bodies, payloads, templated=True)
            targets = {
                f"before ({args.baseline}), free text": (before, FREE),
                "after, free text": (after, FREE),
                "after, templated": (after, TEMPLATED),
            }
            clients = {
                name: httpx.Client(base_url=base, timeout=60) for name, (base, _) in targets.items()
            }
            headers = {
                name: {"Authorization": f"Bearer {token(user, 'user')}"}
                for name, (_, user) in targets.items()
            }
            times: dict[str, list[float]] = {name: [] for name in targets}
            params = {"page_size": args.page_size}
            for round_ in range(args.rounds + 10):
                for name, client in clients.items():
                    start = time.perf_counter()
                    response = client.get(
                        "/communication/logs", params=params, headers=headers[name]
                    )
                    elapsed = (time.perf_counter() - start) * 1000
                    response.raise_for_status()
                    assert len(response.json()["items"]) == min(args.page_size, RECORDS)
                    if round_ >= 10:  # the first rounds warm caches up
                        times[name].append(elapsed)
            for client in clients.values():
                client.close()

    baseline = statistics.median(next(iter(times.values())))
    print(f"GET /communication/logs?page_size={args.page_size}, {args.rounds} rounds, SQLite")
    print("| server and records | median ms | p95 ms | median / before |")
    print("|---|---|---|---|")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(
            f"| {name} | {median:.2f} | {percentile(samples, 0.95):.2f} | {median / baseline:.2f} |"
        )


if __name__ == "__main__":
    main()
