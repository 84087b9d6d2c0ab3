"""``make bench``: cold start, AWS calls, processing cost and a burst, measured side by side.

Everything runs against loopback stand-ins (``tests/standins``): a CodeCommit server speaking the
service's JSON protocol from a real git repository, and a Slack webhook. Timings are medians of
interleaved runs, reported as ratios, because this machine is shared and noisy.

Usage: ``python -m bench [--rounds N] [--burst N] [--only abcd]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from bench.repos import OCTOPUS_PARENTS, PUSHER, REPOSITORY, REPOSITORY_ARN, BenchRepo, build_bench_repo
from handler.app import Runtime, aws_runtime, process_event
from handler.deadline import Deadline
from handler.demo import trigger_event
from handler.enrich.push import enrich
from handler.enrich.reader import CodeCommitReader, CommitOnlyReader, botocore_config, file_change_from_api
from handler.model import Commit, FileChange
from handler.render.push import payload_length, render
from handler.settings import SLACK_MESSAGE_LIMIT, Settings
from handler.sources.trigger import parse_event
from tests.standins import codecommit, slack

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"


def event_for(commit_id: str, ref: str = "refs/heads/main") -> dict[str, Any]:
    return trigger_event(
        [{"commit": commit_id, "ref": ref}], pusher_arn=PUSHER, repository_arn=REPOSITORY_ARN
    )


def median_iqr(samples: list[float]) -> tuple[float, float]:
    quartiles = statistics.quantiles(samples, n=4)
    return statistics.median(samples), quartiles[2] - quartiles[0]


def aws_environment(codecommit_url: str, slack_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AWS_ENDPOINT_URL_CODECOMMIT": codecommit_url,
        "SLACK_WEBHOOK_URL": slack_url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def interleaved(runs: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run each measurement ``rounds`` times, alternating which goes first, after one warm-up each."""
    for run in runs.values():
        run()
    samples: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for index in range(rounds):
        for name in names if index % 2 == 0 else reversed(names):
            samples[name].append(runs[name]())
    return samples


# ── a. cold start ──────────────────────────────────────────────────────────────────────────────


def cold_start(
    repo: BenchRepo, cc: codecommit.CodeCommitStandIn, hook: slack.SlackStandIn, workdir: Path, rounds: int
) -> list[str]:
    event_file = workdir / "normal-push.json"
    event_file.write_text(json.dumps(event_for(repo.normal)))
    environment = aws_environment(cc.url, hook.url)

    def until_posted(script: str) -> Callable[[], float]:
        def run() -> float:
            before = len(hook.delivered_at)
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, str(BENCH_DIR / script), str(event_file)],
                env=environment,
                check=True,
                cwd=ROOT,
            )
            assert len(hook.delivered_at) == before + 1, f"{script} did not post exactly once"
            return hook.delivered_at[-1] - started

        return run

    def importing(code: str) -> Callable[[], float]:
        def run() -> float:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=environment, check=True, cwd=ROOT)
            return time.perf_counter() - started

        return run

    posts = interleaved(
        {"ours": until_posted("our_notifier.py"), "plain": until_posted("plain_notifier.py")}, rounds
    )
    imports = interleaved(
        {"boto3": importing("import boto3"), "boto3+handler": importing("import boto3, handler.app")}, rounds
    )
    ours, ours_iqr = median_iqr(posts["ours"])
    plain, plain_iqr = median_iqr(posts["plain"])
    bare, _ = median_iqr(imports["boto3"])
    both, _ = median_iqr(imports["boto3+handler"])
    verdict = "meets" if ours / plain <= 1.0 else "MISSES"
    return [
        f"  fresh process → first Slack post, median of {rounds} interleaved runs each:",
        f"    ours  (GetCommit + GetDifferences, render, retries, requests) {ours * 1000:7.1f} ms  (IQR {ours_iqr * 1000:.1f})",
        f"    plain (GetCommit only, no retries, urllib)                    {plain * 1000:7.1f} ms  (IQR {plain_iqr * 1000:.1f})",
        f"    ratio ours / plain: {ours / plain:.2f}×  (target ≤ 1.00×: {verdict})",
        f"  importing handler.app on top of boto3: +{(both - bare) * 1000:.1f} ms "
        f"({both * 1000:.1f} vs {bare * 1000:.1f} ms for the whole process, {both / bare:.2f}×)",
    ]


# ── b. AWS calls per notification ──────────────────────────────────────────────────────────────


def minimum_calls(repo: BenchRepo, commit_id: str) -> int:
    """1 GetCommit + one GetDifferences page per 100 changed files per parent (at least one page)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo.path), *args], check=True, capture_output=True, text=True
        ).stdout

    parents: list[str | None] = [*git("rev-parse", f"{commit_id}^@").split()] or [None]
    calls = 1
    for parent in parents:
        spec = [parent, commit_id] if parent else ["--root", commit_id]
        changed = (
            len(git("diff-tree", "-r", "--no-renames", "--no-commit-id", "--name-only", *spec).split("\n"))
            - 1
        )
        calls += max(1, math.ceil(changed / 100))
    return calls


def aws_calls(repo: BenchRepo, cc: codecommit.CodeCommitStandIn, hook: slack.SlackStandIn) -> list[str]:
    runtime = aws_runtime(Settings(webhook_url=hook.url))
    lines = []
    for label, commit_id in (
        ("normal push", repo.normal),
        ("merge", repo.merge),
        ("2,000-file commit", repo.big),
        (f"octopus ({OCTOPUS_PARENTS} parents)", repo.octopus),
    ):
        cc.calls.clear()
        process_event(event_for(commit_id), runtime, Deadline(None))
        made, minimum = sum(cc.calls.values()), minimum_calls(repo, commit_id)
        verdict = "meets" if made == minimum else "MISSES"
        lines.append(
            f"  {label:<24} {made:4d} calls ({cc.calls['GetCommit']} GetCommit + "
            f"{cc.calls['GetDifferences']} GetDifferences); minimum {minimum:4d}: {made / minimum:.2f}× ({verdict})"
        )
    return lines


# ── c. processing cost ─────────────────────────────────────────────────────────────────────────


class RecordedReader(CommitOnlyReader):
    """Answers from what a real reader returned, so only our own processing is timed."""

    def __init__(
        self, commits: dict[str, Commit], diffs: dict[tuple[str, str | None], tuple[FileChange, ...]]
    ):
        self.commits, self.diffs = commits, diffs

    def get_commit(self, commit_id: str) -> Commit:
        return self.commits[commit_id]

    def get_differences(self, commit_id: str, parent_id: str | None) -> tuple[FileChange, ...]:
        return self.diffs[(commit_id, parent_id)]


def processing(
    repo: BenchRepo, cc: codecommit.CodeCommitStandIn, hook: slack.SlackStandIn, rounds: int
) -> list[str]:
    event = event_for(repo.octopus)
    settings = Settings(webhook_url=hook.url)
    runtime = aws_runtime(settings)
    reader = CodeCommitReader(
        boto3.client("codecommit", region_name="us-east-1", config=botocore_config(max_attempts=1)),
        REPOSITORY,
    )
    commit = reader.get_commit(repo.octopus)
    raw_differences = [  # the API's answers, as botocore hands them to our reader
        difference
        for parent in commit.parent_ids
        for difference in _all_pages(
            cc,
            {
                "repositoryName": REPOSITORY,
                "afterCommitSpecifier": commit.commit_id,
                "beforeCommitSpecifier": parent,
            },
        )
    ]
    recorded = RecordedReader(
        {commit.commit_id: commit},
        {(commit.commit_id, p): reader.get_differences(commit.commit_id, p) for p in commit.parent_ids},
    )

    cpu_shares: list[float] = []

    def end_to_end() -> float:
        started, cpu_started = time.perf_counter(), time.thread_time()
        process_event(event, runtime, Deadline(None))
        elapsed = time.perf_counter() - started
        cpu_shares.append((time.thread_time() - cpu_started) / elapsed)
        return elapsed

    def own_work() -> float:
        started = time.perf_counter()
        for difference in raw_differences:
            file_change_from_api(difference)
        for push in parse_event(event):
            render(enrich(push, recorded, max_refs=settings.render.max_refs), settings.render)
        return time.perf_counter() - started

    cc.calls.clear()
    samples = interleaved({"e2e": end_to_end, "own": own_work}, rounds)
    e2e, _ = median_iqr(samples["e2e"])
    own, own_iqr = median_iqr(samples["own"])
    tracemalloc.start()
    payload = {}
    for push in parse_event(event):
        payload = render(enrich(push, recorded, max_refs=settings.render.max_refs), settings.render)
    _, own_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    process_event(event, runtime, Deadline(None))
    _, e2e_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    changes = sum(len(recorded.diffs[key]) for key in recorded.diffs)
    share = own / e2e
    cpu_share = statistics.median(cpu_shares)
    return [
        f"  worst case: {len(commit.parent_ids)}-parent octopus, {changes:,} file changes across parents, "
        f"{len(commit.message.encode()) // 1024} KB message",
        f"    end to end on the stand-ins: {e2e * 1000:7.1f} ms   our processing (parse, convert, enrich, render): "
        f"{own * 1000:6.1f} ms (IQR {own_iqr * 1000:.1f})",
        f"    share of end-to-end time: {share * 100:.1f}%  (target < 5%: {'meets' if share < 0.05 else 'MISSES'})",
        f"    all CPU of the notifier's thread, botocore's signing and parsing of {sum(cc.calls.values()) // (rounds + 2)} "
        f"requests included: {cpu_share * 100:.1f}% of end-to-end time",
        f"    peak Python memory: {own_peak / 2**20:.1f} MiB processing, {e2e_peak / 2**20:.1f} MiB end to end; "
        f"payload {payload_length(payload):,} of {SLACK_MESSAGE_LIMIT:,} characters",
    ]


def _all_pages(cc: codecommit.CodeCommitStandIn, body: dict[str, Any]) -> list[dict[str, Any]]:
    differences: list[dict[str, Any]] = []
    while True:
        _, page = cc.answer("GetDifferences", body)
        differences.extend(page["differences"])
        if "NextToken" not in page:
            return differences
        body = {**body, "NextToken": page["NextToken"]}


# ── d. burst ───────────────────────────────────────────────────────────────────────────────────


def burst(repo: BenchRepo, cc: codecommit.CodeCommitStandIn, invocations: int) -> list[str]:
    outcomes: list[str] = []
    lock = threading.Lock()
    with slack.running(per_second=1.0) as hook:
        settings = Settings(webhook_url=hook.url)
        events = [event_for(repo.normal, f"refs/heads/feature/burst-{index}") for index in range(invocations)]
        ready = threading.Barrier(invocations + 1)

        def invoke(event: dict[str, Any]) -> None:
            runtime: Runtime = aws_runtime(settings)  # one Lambda container each, initialised
            for push in parse_event(event):  # before the clock starts: in Lambda, containers start
                runtime.reader_for(push.repository)  # in parallel on separate hosts
            runtime.webhook()
            ready.wait()
            deadline_at = time.monotonic() + 90
            try:
                process_event(event, runtime, Deadline(lambda: int((deadline_at - time.monotonic()) * 1000)))
                outcome = "delivered"
            except Exception as error:
                outcome = f"raised {type(error).__name__}"
            with lock:
                outcomes.append(outcome)

        threads = [threading.Thread(target=invoke, args=(event,)) for event in events]
        for thread in threads:
            thread.start()
        ready.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        total = (hook.delivered_at[-1] - started) if hook.delivered_at else float("nan")
        delivered = len(hook.delivered)
        titles = {payload["attachments"][0]["fallback"] for payload in hook.delivered}
        raised = sum(1 for outcome in outcomes if outcome.startswith("raised"))
        lost = invocations - len(titles) - raised
        limit = invocations * 1.0
        duplicates = delivered - len(titles)
    verdict = "meets" if lost == 0 and total <= 1.2 * limit else "MISSES"
    return [
        f"  {invocations} invocations at once (containers initialised first, as Lambda starts them in parallel);",
        "  webhook allows 1 message/s, else 429 with Retry-After (whole seconds, rounded up)",
        f"    delivered {delivered}, lost {lost}, raised (kept for Lambda's retry) {raised}, duplicates {duplicates}, "
        f"429 answers retried {hook.rate_limited}",
        f"    total {total:.1f} s against the physical limit of {limit:.0f} s: {total / limit:.2f}× "
        f"(target 0 lost, ≤ 1.20×: {verdict})",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved runs per timing")
    parser.add_argument("--burst", type=int, default=30, help="concurrent invocations in the burst")
    parser.add_argument("--only", default="abcd", help="sections to run, e.g. 'ad' (default: all)")
    arguments = parser.parse_args()
    for name, value in aws_environment("", "").items():
        if name.startswith("AWS_") and name != "AWS_ENDPOINT_URL_CODECOMMIT":
            os.environ[name] = value
    logging.getLogger("handler").setLevel(logging.ERROR)  # the burst's 429s are counted, not logged
    print(f"codecommit-slack-notifier benchmarks — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-") as directory:
        workdir = Path(directory)
        print("building the bench repository (normal push, merge, 2,000 files, octopus) …", flush=True)
        repo = build_bench_repo(workdir / REPOSITORY)
        with codecommit.running({REPOSITORY: repo.path}) as cc, slack.running() as hook:
            os.environ["AWS_ENDPOINT_URL_CODECOMMIT"] = cc.url
            sections = [
                ("a. Cold start", lambda: cold_start(repo, cc, hook, workdir, arguments.rounds)),
                ("b. AWS calls per notification", lambda: aws_calls(repo, cc, hook)),
                (
                    "c. Processing cost (worst case)",
                    lambda: processing(repo, cc, hook, max(5, arguments.rounds // 3)),
                ),
                ("d. Burst", lambda: burst(repo, cc, arguments.burst)),
            ]
            for title, section in sections:
                if title[0] not in arguments.only:
                    continue
                print(f"\n{title}", flush=True)
                for line in section():
                    print(line, flush=True)


if __name__ == "__main__":
    main()
