"""The review-reminder pipeline: schedule event → review queue → one digest per destination.

::

    event ──parse──► ReminderEvent ──read──► Queue ──decide──► per destination: the pull requests
      (sources.schedule)     (actions.review_queue: ListPullRequests,   not reminded there today
                              GetPullRequest, approvals; oldest first)   (claim: state, conditional put)
          ──render──► digest ──deliver──► Slack / Mattermost ──(failed: release the claims, raise)

The stack's EventBridge Scheduler schedule (``cdk/reminders.py``) sends the event; what is in it
and what the settings mean is in ``docs/reminders.md``. Outcomes:

Each outcome is the one line every event path writes (``handler.logs.log_outcome``, source
``schedule``, kind ``review_reminder``, the schedule's execution id), counted in the metrics:

* an event of another version: ``dropped``; reminders off (``REVIEW_REMINDERS`` unset: a schedule
  left from an earlier deploy) or nothing waits: ``filtered``; nothing posted, no retry;
* everything that waits was reminded at a destination today: ``duplicate`` there (quiet);
* a digest posted: ``delivered``, with the pull requests it named;
* a destination whose post fails: its claims are released and, after every destination was tried,
  the error is raised, so Lambda's retry (or the schedule's dead-letter queue) posts only what is
  missing.

At most one reminder per pull request per destination per day: before posting, each pull request
is claimed under ``remind#<day>#<account>:<region>:<repository>#<id>@<destination>`` (a put that
succeeds only if no live item has that key; ``<day>`` is the date in ``review_reminders.timezone``);
the item expires two days later. If the invocation dies between the claim and the post, that pull
request is not reminded that day (next day it is): a missed reminder, never a repeated one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from handler.actions.review_queue import QueueEntry, QueueSettings, ReviewQueueReader, read_queue
from handler.aws.clients import AwsClients
from handler.deadline import Deadline
from handler.deliver.senders import Senders, to_each
from handler.errors import NotifierError, UnprocessableEvent
from handler.logs import Outcome, log_outcome
from handler.metrics import Metrics
from handler.pull_requests.people import UserMap
from handler.render.markup import markup_for
from handler.render.reminders import render_digest
from handler.settings import ReviewReminders, Settings
from handler.sources.schedule import ReminderEvent
from handler.state import AttributeValue, StateItem, StateStore, bounded_key
from handler.state.memory import MemoryStore

log = logging.getLogger(__name__)

PREFIX = "remind#"
#: How the outcome lines and metrics name this path's events and their kind.
SOURCE = "schedule"
KIND = "review_reminder"
#: A mark outlives its day (in any time zone) and is then removed by DynamoDB's TTL.
MARK_SECONDS = 2 * 24 * 3600


class ReminderRuntime(Protocol):
    """What the pipeline uses of the notifier's runtime (``handler.runtime.Runtime`` has it all)."""

    @property
    def settings(self) -> Settings:
        """The validated settings: ``review_reminders``, ``watched_repositories``, destinations."""
        ...

    @property
    def state(self) -> StateStore | None:
        """Where the once-a-day marks live (None: this process's memory)."""
        ...

    @property
    def senders(self) -> Senders:
        """Each destination's sender."""
        ...

    @property
    def pull_requests(self) -> object:
        """The pull-request runtime (or its factory), whose settings hold ``USER_MAP``."""
        ...

    @property
    def metrics(self) -> Metrics:
        """This invocation's metrics: every outcome line is counted there too."""
        ...

    @property
    def aws(self) -> AwsClients | None:
        """The deployed function's AWS clients (None: local runs)."""
        ...


@dataclass(frozen=True)
class Claimed:
    """The pull requests claimed for one destination's digest today, and their marks."""

    entries: tuple[QueueEntry, ...]
    marks: tuple[StateItem, ...]


def mark_key(day: str, entry: QueueEntry, destination: str) -> str:
    """``remind#<day>#<account>:<region>:<repository>#<id>@<destination>``."""
    return bounded_key(f"{PREFIX}{day}#{entry.scope}@{destination}")


def reminder_day(now: float, timezone: str) -> str:
    """The date (``2026-12-07``) at ``now`` in ``timezone``: what "once a day" counts."""
    return datetime.fromtimestamp(now, ZoneInfo(timezone)).date().isoformat()


def process_reminder_event(
    event: Any,
    runtime: ReminderRuntime,
    deadline: Deadline,
    *,
    clock: Callable[[], float] = time.time,
    codecommit: Callable[[str], Any] | None = None,
) -> dict[str, int]:
    """Send today's review reminders; return counts (``reminded`` pull requests, ``digests`` posted).

    Args:
        event: the schedule's event (:mod:`handler.sources.schedule`).
        runtime: the notifier's runtime.
        deadline: the invocation's time left; reads and posts are bounded by it.
        clock: epoch seconds: ages, the day, and the marks' expiry.
        codecommit: a CodeCommit client for a region (default: one from a botocore session).

    Raises:
        NotifierError: a read or a post failed (after every destination was tried).
    """
    settings = runtime.settings
    reminders = settings.review_reminders
    try:
        parsed = ReminderEvent(event)
        account, region, partition = parsed.account, parsed.region, parsed.partition
    except UnprocessableEvent as error:
        _said(runtime, "dropped", reason=str(error))
        return {"dropped": 1}
    run = parsed.execution_id
    if reminders is None:
        _said(
            runtime,
            "filtered",
            run,
            reason="REVIEW_REMINDERS is not set (a schedule left from an earlier deploy?)",
        )
        return {"reminded": 0}
    region = region or _function_region()
    queue_settings = QueueSettings(
        repositories=settings.watched_repositories,
        region=region,
        account=account,
        partition=partition,
        user_map=_user_map(runtime),
        min_age_hours=reminders.min_age_hours,
    )
    now = clock()
    try:
        client = (codecommit or _codecommit_clients(runtime))(region)
        queue = read_queue(
            ReviewQueueReader(client, deadline),
            queue_settings,
            now=datetime.fromtimestamp(now, UTC),
            min_age=timedelta(hours=reminders.min_age_hours),
        )
    except Exception as error:  # said once, with the same keys as every outcome, then raised
        _said(runtime, "raised", run, reason=str(error), error_class=type(error).__name__)
        raise
    if not queue.entries:
        _said(runtime, "filtered", run, reason="nothing waits for review")
        return {"reminded": 0, "digests": 0}
    state = runtime.state if runtime.state is not None else _process_memory()
    counts = {"reminded": 0, "digests": 0}

    def deliver(name: str) -> int:
        claimed = Claimed((), ())
        try:
            claimed = _claim(state, queue.entries, name, reminders, now)
            if not claimed.entries:
                _said(runtime, "duplicate", run, [name], reason="everything waiting was reminded there today")
                return 0
            sender = runtime.senders.get(name)
            payload = render_digest(
                claimed.entries, datetime.fromtimestamp(now, UTC), settings.render, markup_for(sender.flavor)
            )
            sent = sender.post(payload, deadline)
        except BaseException as error:
            _release(state, claimed.marks)
            if isinstance(error, Exception):
                _said(runtime, "raised", run, [name], reason=str(error), error_class=type(error).__name__)
            raise
        listed = ", ".join(
            f"{entry.repository.name}#{entry.pull_request_id}" for entry in claimed.entries[:20]
        )
        _said(
            runtime,
            "delivered",
            run,
            [name],
            reason=f"{len(claimed.entries)} waiting: {listed}",
            attempts=sent.attempts,
        )
        counts["reminded"] += len(claimed.entries)
        counts["digests"] += 1
        return 1

    to_each(reminders.to, deliver)
    return counts


def _said(
    runtime: ReminderRuntime,
    outcome: Outcome,
    run: str = "",
    destinations: Sequence[str] = (),
    *,
    reason: str,
    error_class: str = "",
    attempts: int = 0,
) -> None:
    """The outcome line (and metric) every event path writes, for the digest (to one destination)."""
    log_outcome(
        outcome=outcome,
        source=SOURCE,
        kind=KIND,
        event_id=run,
        destinations=destinations,
        reason=reason,
        error_class=error_class,
        attempts=attempts,
        metrics=runtime.metrics,
    )


def _claim(
    state: StateStore,
    entries: tuple[QueueEntry, ...],
    destination: str,
    reminders: ReviewReminders,
    now: float,
) -> Claimed:
    """Claim every entry not reminded at ``destination`` today (a conditional put each)."""
    day = reminder_day(now, reminders.timezone)
    kept: list[QueueEntry] = []
    marks: list[StateItem] = []
    expires_at = int(now) + MARK_SECONDS
    try:
        for entry in entries:
            attributes: dict[str, AttributeValue] = {"reminded_at": int(now), "title": entry.title[:100]}
            mark = state.put_new(mark_key(day, entry, destination), attributes, expires_at=expires_at)
            if mark is not None:
                kept.append(entry)
                marks.append(mark)
    except BaseException:
        _release(state, tuple(marks))
        raise
    return Claimed(tuple(kept), tuple(marks))


def _release(state: StateStore, marks: tuple[StateItem, ...]) -> None:
    """Remove the marks of a digest that was not posted, so the retry posts it; a failure to
    remove one is logged (that pull request then waits for tomorrow's reminder)."""
    for mark in marks:
        try:
            state.delete(mark)
        except NotifierError as error:
            log.warning("review reminders: could not release %s: %s", mark.key, error)


def _user_map(runtime: ReminderRuntime) -> UserMap:
    """``USER_MAP`` from the pull-request runtime's settings (empty without one)."""
    pull_requests = runtime.pull_requests
    if callable(pull_requests):
        pull_requests = pull_requests()
    user_map = getattr(getattr(pull_requests, "settings", None), "user_map", None)
    return user_map if isinstance(user_map, UserMap) else UserMap()


def _function_region() -> str:
    import os

    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


_memory: StateStore | None = None
_clients: Any = None


def _process_memory() -> StateStore:
    """Without a state table: marks in this process's memory (a warm container only)."""
    global _memory  # noqa: PLW0603 (one per process, like the other pipelines' fallback)
    if _memory is None:
        _memory = MemoryStore()
    return _memory


def _codecommit_clients(runtime: ReminderRuntime) -> Callable[[str], Any]:
    """CodeCommit clients from the runtime's session, or, without one, from a session of our own
    kept for the container's life."""
    global _clients  # noqa: PLW0603 (one session per container)
    shared = runtime.aws
    if shared is not None:
        return lambda region: shared.get("codecommit", region)
    if _clients is None:
        from handler.aws.clients import AwsClients
        from handler.enrich.reader import botocore_config
        from handler.state.dynamodb import state_client_config

        settings = runtime.settings
        config = botocore_config(
            max_attempts=settings.codecommit_max_attempts, read_timeout=settings.codecommit_timeout_seconds
        )
        _clients = AwsClients(config, state_client_config())
    clients = _clients
    return lambda region: clients.get("codecommit", region)
