"""``make bench``: cold start, AWS calls, processing cost and a burst, measured side by side.

Everything runs against loopback stand-ins (``tests/standins``): a CodeCommit server speaking the
service's JSON protocol from a real git repository, DynamoDB (moto's server mode) holding the
state table, and a Slack webhook. Timings are medians of interleaved runs, reported as ratios,
because this machine is shared and noisy.

Section e (bench/chat_ack.py) times the chat front door's cold acknowledgement against a minimal
slack-bolt app.

Usage: ``python -m bench [--rounds N] [--burst N] [--only abcde]``.
"""

from __future__ import annotations

import argparse
import itertools
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
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.session

from bench.chat_ack import chat_ack
from bench.deployed import LambdaLayout, lambda_layout
from bench.hosts import HostedStandIn, hosted
from bench.repos import (
    CHAIN_BRANCH,
    HISTORY_BRANCH,
    HISTORY_PUSHES,
    OCTOPUS_PARENTS,
    PUSHER,
    REPOSITORY,
    REPOSITORY_ARN,
    BenchRepo,
    build_bench_repo,
)
from handler.app import process_event
from handler.deadline import Deadline
from handler.deliver.senders import WebhookSender
from handler.demo import trigger_event
from handler.enrich.push import enrich
from handler.enrich.reader import CodeCommitReader, CommitOnlyReader, botocore_config, file_change_from_api
from handler.model import Commit, FileChange
from handler.render.push import payload_length, render
from handler.runtime import Runtime, aws_runtime
from handler.settings import SLACK_MESSAGE_LIMIT, Settings
from handler.sources.trigger import parse_event
from tests.standins import codecommit, dynamodb, slack

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"


_pushes = itertools.count()


def event_for(commit_id: str, ref: str = "refs/heads/main") -> dict[str, Any]:
    """A push of its own: a fresh MessageId and its own event time (the delivery key is a digest of
    the push itself, so the same push sent again would be a duplicate and post nothing)."""
    number = next(_pushes)
    return trigger_event(
        [{"commit": commit_id, "ref": ref}],
        pusher_arn=PUSHER,
        repository_arn=REPOSITORY_ARN,
        message_id=str(uuid.uuid4()),
        event_time=f"2026-11-20T{number // 3600 % 24:02d}:{number // 60 % 60:02d}:{number % 60:02d}.000+0000",
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
    repo: BenchRepo,
    cc: HostedStandIn,
    hook: slack.SlackStandIn,
    ddb: HostedStandIn,
    *,
    workdir: Path,
    rounds: int,
    stage_rounds: int,
) -> list[str]:
    """Fresh process → first Slack post: ours with its state table against the plainest notifier.

    Ours runs as deployed: from the Lambda asset, laid out as Lambda lays it out
    (:mod:`bench.deployed`), ``STATE_TABLE_NAME`` set, DynamoDB at the moto stand-in. CodeCommit
    and DynamoDB each answer from a process of their own (:mod:`bench.hosts`). Each run pushes
    the next commit of CHAIN_BRANCH in a message of its own, so every timed run claims the
    message, reads the branch's recorded head, asks for the merge base, lists the push's commit,
    moves the head, posts and marks the message delivered. The first push is delivered once,
    untimed, to record the head the rest count from.
    """
    environment = {**aws_environment(cc.url, hook.url), **ddb.environment()}
    layout = lambda_layout(workdir / "lambda")
    environments = {
        "ours": layout.environment(environment),
        "plain": layout.environment(environment, with_task=False),
    }
    chain_ref = f"refs/heads/{CHAIN_BRANCH}"
    plain_event = workdir / "plain-push.json"
    plain_event.write_text(json.dumps(event_for(repo.chain[0], chain_ref)))
    pushes = iter(enumerate(repo.chain))

    def next_push() -> tuple[int, Path]:
        index, commit_id = next(pushes)
        event_file = workdir / f"chain-{index}.json"
        event_file.write_text(json.dumps(event_for(commit_id, chain_ref)))
        return index, event_file

    def launch(which: str, command: list[str]) -> tuple[float, float, str]:
        """Run ``command``: when it started, when Slack had its post, and what it printed."""
        before = len(hook.delivered_at)
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, *LambdaLayout.FLAGS, *command],
            env=environments[which],
            check=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert len(hook.delivered_at) == before + 1, (
            f"{command[0]} did not post exactly once: {result.stderr}"
        )
        return started, hook.delivered_at[-1], result.stdout

    def ours(*command: str) -> tuple[float, float, str]:
        index, event_file = next_push()
        merge_bases, state_calls = cc.calls["GetMergeOptions"], ddb.calls.total()
        outcome = launch("ours", [*command, str(event_file)])
        assert ddb.calls.total() - state_calls == MINIMUM_STATE_CALLS, (
            "expected claim, head read, head move, head confirm, mark"
        )
        assert cc.calls["GetMergeOptions"] - merge_bases == (1 if index else 0), "the head was not recorded"
        return outcome

    def plain(*command: str) -> tuple[float, float, str]:
        return launch("plain", [*command, str(plain_event)])

    def until_posted(run: Callable[..., tuple[float, float, str]], script: str) -> Callable[[], float]:
        def timed() -> float:
            started, delivered, _ = run(str(BENCH_DIR / script))
            return delivered - started

        return timed

    ours(str(BENCH_DIR / "our_notifier.py"))  # records the head every timed push counts from
    posts = interleaved(
        {"ours": until_posted(ours, "our_notifier.py"), "plain": until_posted(plain, "plain_notifier.py")},
        rounds,
    )
    ours_median, ours_iqr = median_iqr(posts["ours"])
    plain_median, plain_iqr = median_iqr(posts["plain"])
    verdict = "meets" if ours_median / plain_median <= 1.0 else "MISSES"
    lines = [
        f"  fresh process → first Slack post, median of {rounds} interleaved runs each:",
        "    ours  (claim, recorded head, merge base, tip + its changes, head moved, render, retries,",
        f"           requests: 3 CodeCommit + 3 DynamoDB calls before the post) {ours_median * 1000:7.1f} ms"
        f"  (IQR {ours_iqr * 1000:.1f})",
        f"    plain (GetCommit only, no state, no retries, urllib)              {plain_median * 1000:7.1f} ms"
        f"  (IQR {plain_iqr * 1000:.1f})",
        f"    ratio ours / plain: {ours_median / plain_median:.2f}×  (target ≤ 1.00×: {verdict})",
    ]
    stages: dict[str, list[list[tuple[str, float]]]] = {"ours": [], "plain": []}
    stage_script = str(BENCH_DIR / "stages.py")
    for index in range(stage_rounds):
        for name in ("ours", "plain") if index % 2 == 0 else ("plain", "ours"):
            started, delivered, output = (ours if name == "ours" else plain)(stage_script, name)
            timings = json.loads(output.strip().splitlines()[-1])  # the last line: above it, the EMF metrics
            ran: list[tuple[str, float]] = [(stage, seconds) for stage, seconds in timings]
            ran[0] = ("interpreter start-up", ran[0][1] - started)
            ran.append(("(launch → post arrives)", delivered - started))
            stages[name].append(ran)
    for name, runs in stages.items():
        lines.append(
            f"  {name}, stage by stage: median of {stage_rounds} instrumented runs, in the order run"
        )
        lines.extend(_stage_lines(runs))
    return lines


def hosted_cold_start(repo: BenchRepo, hook: slack.SlackStandIn, **options: Any) -> list[str]:
    """:func:`cold_start` with CodeCommit and DynamoDB each in a process of their own."""
    with hosted("codecommit", {REPOSITORY: repo.path}) as cc, hosted("dynamodb") as ddb:
        return cold_start(repo, cc, hook, ddb, **options)


def _stage_lines(runs: list[list[tuple[str, float]]]) -> list[str]:
    """Median per stage over runs; a stage that runs more than once is numbered (``#2``)."""
    per_stage: dict[str, list[float]] = {}
    for ran in runs:
        seen: Counter[str] = Counter()
        accounted = 0.0
        for name, seconds in ran:
            seen[name] += 1
            label = name if seen[name] == 1 else f"{name} #{seen[name]}"
            if name == "whole run after start-up":
                per_stage.setdefault("(the rest: parsing, own code, logging)", []).append(seconds - accounted)
            elif not name.startswith(("(", "interpreter")) and "(beside" not in name:
                accounted += seconds
            per_stage.setdefault(label, []).append(seconds)
    return [
        f"    {label:<40} {statistics.median(samples) * 1000:7.1f} ms" for label, samples in per_stage.items()
    ]


# ── b. AWS calls per notification ──────────────────────────────────────────────────────────────

#: DynamoDB calls a push needs at least: claim the message (PutItem), read the branch's head
#: (GetItem), move it (PutItem), then, after the post, confirm the head (PutItem: a later push
#: tells a delivered head from one whose push failed) and mark the message delivered (PutItem).
MINIMUM_STATE_CALLS = 5


def _git(repo: BenchRepo, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo.path), *args], check=True, capture_output=True, text=True
    ).stdout


def diff_pages(repo: BenchRepo, new: str, old: str | None) -> int:
    """GetDifferences pages (100 files each, at least one) for ``old`` → ``new`` (None: a root)."""
    spec = [old, new] if old else ["--root", new]
    changed = _git(repo, "diff-tree", "-r", "--no-renames", "--no-commit-id", "--name-only", *spec).split()
    return max(1, math.ceil(len(changed) / 100))


def minimum_calls(repo: BenchRepo, commit_id: str, since: str | None = None) -> int:
    """1 GetCommit + the GetDifferences pages of what is shown: the tip against its first parent
    (what a merge brought in), or, for an update whose previous head ``since`` is known, what the
    whole push changed (one diff, ``since`` → tip)."""
    parents: list[str | None] = [*_git(repo, "rev-parse", f"{commit_id}^@").split()] or [None]
    return 1 + diff_pages(repo, commit_id, since or parents[0])


def aws_calls(
    repo: BenchRepo, cc: codecommit.CodeCommitStandIn, hook: slack.SlackStandIn, ddb: dynamodb.DynamoDBStandIn
) -> list[str]:
    """Every CodeCommit and DynamoDB call per push, as deployed (state table set), against the minimum.

    Minimum model, per push of one branch:

    * CodeCommit: 1 GetCommit for the tip + 1 GetDifferences page per 100 changed files of the
      tip against its first parent (a merge's other parents are not compared); and for an update
      whose previous head is recorded, what the whole push changed instead (previous head → tip,
      the same count of calls as the tip's diff for as many files), 1 GetMergeOptions (where the
      new commits end) + 1 read per further commit listed or counted, up to MAX_COMMITS_READ in
      all. CodeCommit has no log API and a linear history names each parent only in its child,
      so each further commit is a call of its own (BatchGetCommits only helps where a merge names
      several at once).
    * DynamoDB: MINIMUM_STATE_CALLS.
    """
    settings = Settings(webhook_url=hook.url, state_table_name=ddb.environment()["STATE_TABLE_NAME"])
    runtime = aws_runtime(settings, {**os.environ, **ddb.environment()})
    read_bound = settings.max_commits_read

    def push(commit_id: str, ref: str) -> tuple[Counter[str], Counter[str]]:
        cc.calls.clear()
        ddb.calls.clear()
        outcome = process_event(event_for(commit_id, ref), runtime, Deadline(None))
        assert outcome == {"delivered": 1}, outcome
        return Counter(cc.calls), Counter(ddb.calls)

    def row(label: str, made: tuple[Counter[str], Counter[str]], minimum_cc: int) -> str:
        code, state = made
        total, minimum = code.total() + state.total(), minimum_cc + MINIMUM_STATE_CALLS
        kinds = " + ".join(f"{count} {operation}" for operation, count in sorted(code.items()))
        verdict = "meets" if total <= minimum else "MISSES"
        return (
            f"  {label:<34} CodeCommit {code.total():4d} (min {minimum_cc:4d})  DynamoDB {state.total()} "
            f"(min {MINIMUM_STATE_CALLS})  {total / minimum:.2f}× the minimum ({verdict}): {kinds}"
        )

    lines = [
        "  minimum: CodeCommit 1 GetCommit (tip) + 1 GetDifferences page per 100 files shown (the tip",
        "           against its first parent; for a recorded head, the whole push: previous head → tip);",
        "           for a recorded head also 1 GetMergeOptions + 1 read per further commit, at most",
        f"           MAX_COMMITS_READ ({read_bound}) reads in all; DynamoDB {MINIMUM_STATE_CALLS}: claim PutItem,"
        " head GetItem, head PutItem, then after the post head confirm PutItem, mark PutItem",
        "  first push seen on a branch (no recorded head: the tip alone):",
    ]
    for label, commit_id in (
        ("normal push", repo.normal),
        ("merge", repo.merge),
        ("2,000-file commit", repo.big),
        (f"octopus ({OCTOPUS_PARENTS} parents)", repo.octopus),
    ):
        ref = f"refs/heads/tip-{commit_id[:8]}"
        lines.append(row(label, push(commit_id, ref), minimum_calls(repo, commit_id)))
    lines.append("  branch update whose previous head is recorded, listing every commit the push added:")
    history_ref = f"refs/heads/{HISTORY_BRANCH}"
    push(repo.history[0], history_ref)  # records the head the first update counts from
    for count, tip, since in zip(HISTORY_PUSHES, repo.history[1:], repo.history, strict=False):
        made = push(tip, history_ref)
        reads = made[0]["GetCommit"] + sum(
            len(body["commitIds"])
            for operation, body in cc.requests[-made[0].total() :]
            if operation == "BatchGetCommits"
        )
        minimum = minimum_calls(repo, tip, since) + 1 + min(count, read_bound) - 1
        lines.append(row(f"{count} commit{'s' if count > 1 else ''} pushed", made, minimum))
        if count > read_bound:
            lines.append(
                f"    bounded: {reads} of the {count} commits read (MAX_COMMITS_READ = {read_bound}); "
                f"the total is reported as a lower bound (at least {read_bound})"
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
    runtime = aws_runtime(settings)  # no state table: delivery marks in memory, the tip alone
    reader = CodeCommitReader(
        botocore.session.get_session().create_client(
            "codecommit", region_name="us-east-1", config=botocore_config(max_attempts=1)
        ),
        REPOSITORY,
    )
    commit = reader.get_commit(repo.octopus)
    # A merge shows what it brought in, against its first parent: that is all the notifier reads
    # (the other parents' diffs are not asked for), so our processing converts those answers only.
    raw_differences = [  # the API's answers, as botocore hands them to our reader
        difference
        for parent in commit.parent_ids[:1]
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
        {(commit.commit_id, p): reader.get_differences(commit.commit_id, p) for p in commit.parent_ids[:1]},
    )

    cpu_shares: list[float] = []

    def end_to_end() -> float:
        fresh = event_for(repo.octopus)  # a push of its own, else the ledger posts it once
        started, cpu_started = time.perf_counter(), time.thread_time()
        outcome = process_event(fresh, runtime, Deadline(None))
        elapsed = time.perf_counter() - started
        assert outcome.get("delivered") == 1, outcome  # a duplicate would time nothing
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
    process_event(event_for(repo.octopus), runtime, Deadline(None))
    _, e2e_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    changes = sum(len(recorded.diffs[key]) for key in recorded.diffs)
    share = own / e2e
    cpu_share = statistics.median(cpu_shares)
    return [
        f"  worst case: {len(commit.parent_ids)}-parent octopus, {changes:,} file changes against its first parent, "
        f"a {len(commit.message.encode()) // 1024} KB message",
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
            sender = runtime.senders.get("default")
            assert isinstance(sender, WebhookSender)
            sender.client()
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
    parser.add_argument("--rounds", type=int, default=31, help="interleaved runs per timing")
    parser.add_argument("--burst", type=int, default=30, help="concurrent invocations in the burst")
    parser.add_argument("--only", default="abcde", help="sections to run, e.g. 'ad' (default: all)")
    parser.add_argument(
        "--stage-rounds", type=int, default=5, help="instrumented runs for (a)'s stage-by-stage breakdown"
    )
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
        print(
            "building the bench repository (normal push, merge, 2,000 files, octopus, histories) …",
            flush=True,
        )
        # (a) pushes one chain commit per run: a seed, a warm-up, the timed and the instrumented runs
        repo = build_bench_repo(
            workdir / REPOSITORY, chain_length=arguments.rounds + 2 * arguments.stage_rounds + 2
        )
        with (
            codecommit.running({REPOSITORY: repo.path}) as cc,
            slack.running() as hook,
            dynamodb.running() as ddb,
        ):
            os.environ["AWS_ENDPOINT_URL_CODECOMMIT"] = cc.url
            os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = ddb.url
            sections = [
                (
                    "a. Cold start",
                    lambda: hosted_cold_start(
                        repo, hook, workdir=workdir, rounds=arguments.rounds, stage_rounds=arguments.stage_rounds
                    ),
                ),
                ("b. AWS calls per push", lambda: aws_calls(repo, cc, hook, ddb)),
                (
                    "c. Processing cost (worst case)",
                    lambda: processing(repo, cc, hook, max(5, arguments.rounds // 3)),
                ),
                ("d. Burst", lambda: burst(repo, cc, arguments.burst)),
                ("e. Chat: cold acknowledgement of a button click", lambda: chat_ack(arguments.rounds)),
            ]
            for title, section in sections:
                if title[0] not in arguments.only:
                    continue
                print(f"\n{title}", flush=True)
                for line in section():
                    print(line, flush=True)


if __name__ == "__main__":
    main()
