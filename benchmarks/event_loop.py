"""Does the worst allowed page stall the server? ``/health/live`` latency while it is served.

Starts a real ``commlog run`` (production mode, SQLite in a scratch folder), records
100 sends of one user through the API at the largest allowed sizes (content at the
content limit, provider error and response at the provider-text limit, text chosen to
make masking work hard), then measures ``/health/live`` twice in the same run:

- ceiling: probes alone, one every 20 ms;
- loaded: the same probes while ``--parallel`` other clients (default 1) fetch that
  user's 100-record page (``page_size=100``) back to back.

Reports the probes' median and p99 in both phases, their ratio, and the page's median
time. The target (issue 7, item 8): p99 of ``/health/live`` under 100 ms while the worst
page is being served. Run with ``make bench-loop``; about a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from compliance.encryption.master import new_master_key_entry
from policies.text_limits import DEFAULT_CONTENT_CHARS, DEFAULT_PROVIDER_TEXT_CHARS
from service.auth import TokenCodec
from service.settings import Settings

PORT = 8766
SECRET = "bench-secret-" + "l" * 40
TENANT, USER = "tnt_loop", "usr_loop"
PROBE_INTERVAL = 0.02
RECORDS = 100


def hard_text(length: int, rng: random.Random) -> str:
    """Text that keeps the masking rules busy: digits, addresses, links and CJK mixed."""
    pieces = [
        "您的验证码是",
        " 482913 ",
        "user.name@example.com ",
        "https://example.com/r?t=",
        "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(24)),
        " 尾号9847 ",
        "Your order 2026-11-27 ships ",
        "+44 7700 900123 ",
    ]
    out: list[str] = []
    size = 0
    while size < length:
        piece = rng.choice(pieces)
        out.append(piece)
        size += len(piece)
    return "".join(out)[:length]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def probe(seconds: float) -> list[float]:
    """Sequential ``/health/live`` requests, one every 20 ms; latencies in ms."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=30) as client:
        while time.monotonic() < deadline:
            start = time.perf_counter()
            client.get("/health/live").raise_for_status()
            latencies.append((time.perf_counter() - start) * 1000)
            time.sleep(PROBE_INTERVAL)
    return latencies


def fetch_pages(token: str, stop: threading.Event, times: list[float]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=60) as client:
        while not stop.is_set():
            start = time.perf_counter()
            response = client.get("/communication/logs", params={"page_size": 100}, headers=headers)
            response.raise_for_status()
            times.append((time.perf_counter() - start) * 1000)


def populate(codec: TokenCodec, content_chars: int, provider_chars: int) -> None:
    rng = random.Random(7)
    ingest = {
        "Authorization": "Bearer "
        + codec.issue(tenant_id=TENANT, user_id="svc_sender", roles=["ingest"], ttl_seconds=7200)
    }
    with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=60) as client:
        for index in range(RECORDS):
            created = client.post(
                "/communication/logs",
                json={
                    "user_id": USER,
                    "channel": "email",
                    "recipient": f"person{index}@example.com",
                    "content": hard_text(content_chars, rng),
                    "provider": "ses",
                },
                headers={**ingest, "Idempotency-Key": f"loop-{index}"},
            )
            created.raise_for_status()
            log_id = created.json()["data"]["id"]
            client.post(
                f"/communication/logs/{log_id}/status",
                json={
                    "status": "failed",
                    "error": hard_text(provider_chars, rng),
                    "response": hard_text(provider_chars, rng),
                },
                headers=ingest,
            ).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content-chars", type=int, default=DEFAULT_CONTENT_CHARS)
    parser.add_argument("--provider-chars", type=int, default=DEFAULT_PROVIDER_TEXT_CHARS)
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase")
    parser.add_argument(
        "--parallel", type=int, default=1, help="clients fetching the page at the same time"
    )
    args = parser.parse_args()

    codec = TokenCodec(Settings(jwt_secret=SECRET))
    reader = codec.issue(tenant_id=TENANT, user_id=USER, roles=["user"], ttl_seconds=7200)
    with tempfile.TemporaryDirectory() as var_dir:
        env = {
            **os.environ,
            "COMMLOG_ENV": "production",
            "COMMLOG_DATABASE_URL": f"sqlite+aiosqlite:///{var_dir}/loop.db",
            "COMMLOG_JWT_SECRET": SECRET,
            "COMMLOG_MASTER_KEYS": new_master_key_entry("bench"),
            "COMMLOG_VAR_DIR": var_dir,
            "COMMLOG_MAX_CONTENT_CHARS": str(args.content_chars),
            "COMMLOG_MAX_PROVIDER_TEXT_CHARS": str(args.provider_chars),
        }
        commlog = str(Path(sys.executable).parent / "commlog")
        subprocess.run(  # noqa: S603 - our own console script
            [commlog, "database", "upgrade", "--no-prompt"],
            env=env,
            check=True,
            capture_output=True,
        )
        server = subprocess.Popen(  # noqa: S603 - our own console script
            [commlog, "run", "--port", str(PORT)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(150):
                try:
                    if httpx.get(f"http://127.0.0.1:{PORT}/health/live").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            populate(codec, args.content_chars, args.provider_chars)
            probe(2.0)  # warm-up
            ceiling = probe(args.seconds)
            stop = threading.Event()
            page_times: list[float] = []
            fetchers = [
                threading.Thread(target=fetch_pages, args=(reader, stop, page_times))
                for _ in range(args.parallel)
            ]
            for fetcher in fetchers:
                fetcher.start()
            time.sleep(1.0)
            loaded = probe(args.seconds)
            stop.set()
            for fetcher in fetchers:
                fetcher.join()
        finally:
            server.terminate()
            server.wait(timeout=30)

    page_chars = RECORDS * (args.content_chars + 2 * args.provider_chars)
    print(
        f"page: {RECORDS} records, content {args.content_chars} + error and response "
        f"{args.provider_chars} characters each ({page_chars:,} characters per page), "
        f"{args.parallel} client(s) fetching it"
    )
    print("| /health/live | probes | median ms | p99 ms |")
    print("|---|---|---|---|")
    for name, samples in (("alone (ceiling)", ceiling), ("while the page is served", loaded)):
        print(
            f"| {name} | {len(samples)} | {statistics.median(samples):.2f} "
            f"| {percentile(samples, 0.99):.2f} |"
        )
    print(
        f"p99 ratio loaded/ceiling: {percentile(loaded, 0.99) / percentile(ceiling, 0.99):.1f}x; "
        f"page served {len(page_times)} times, median {statistics.median(page_times):.0f} ms"
    )


if __name__ == "__main__":
    main()
