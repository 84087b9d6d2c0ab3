"""The pull-request pipeline: EventBridge event → Activity → Notice → Slack payload → deliver.

::

    event ──parse──► Activity ──enrich──► Notice ──drafts, kinds──► render ──deliver──► Slack
          (sources.eventbridge)  (GetPullRequest,   (state store)    (pure)   (the push
                                  GetComment, …)                              pipeline's webhook)

``handler.app`` sends every CodeCommit EventBridge event here (directly or wrapped in SNS). Drafts and the
source commit last seen live in the state store:

* ``draft#<account>:<region>:<repository>#<id>``: the pull request was seen with a draft title
  and not announced. The first later event that shows it without the marker posts "ready for
  review" once (the mark is deleted after that post is delivered).
* ``pr#<account>:<region>:<repository>#<id>``: the source commit last seen, so "new commits
  pushed" can link a compare from the previous source commit to the new one.

Like a push, each event is claimed in the delivery ledger (``delivered#eventbridge#<account>#<event
id>``, or ``…#merge:<region>:<repository>:<id>`` for a merge, which CodeCommit may announce with
two events: ``Activity.delivery_id``) before it is read and marked delivered after it was posted,
so an event EventBridge delivers twice posts once; a failure releases the claim, so Lambda's
retry posts what is left. Draft marks and source commits are written only after the message that
depends on them was delivered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from handler.deadline import Deadline
from handler.deliver.senders import AppSender, WebhookSender, to_each
from handler.enrich.pull_request import enrich
from handler.errors import NotifierError
from handler.logs import Outcome, log_outcome
from handler.metrics import Metrics
from handler.pipelines.outgoing import Outgoing
from handler.pipelines.threads import Threads, direct_messages
from handler.pull_requests.model import Activity, ActivityKind, Notice
from handler.render.markup import markup_for
from handler.render.pull_request import is_draft_title
from handler.routing import route, subject_for_activity
from handler.runtime import offline_runtime
from handler.settings import RenderSettings
from handler.sources import Dropped
from handler.sources.eventbridge import parse_activities
from handler.state import StateStore
from handler.state.chat_comments import came_from_chat
from handler.state.ledger import DeliveryLedger, delivery
from handler.state.memory import MemoryStore

if TYPE_CHECKING:
    from handler.runtime import PullRequestRuntime, Runtime

log = logging.getLogger(__name__)

DRAFT_TTL_SECONDS = 90 * 24 * 3600
SOURCE_TTL_SECONDS = 60 * 24 * 3600
#: Final states: a draft merged or closed is reported as such, never as "ready for review".
FINAL_KINDS = frozenset({ActivityKind.MERGED, ActivityKind.CLOSED})
#: Events whose own message says nothing "ready for review" doesn't, where that is posted with it:
#: one event, one message (a destination told "ready" earlier still gets "new commits pushed").
READY_SAYS_IT_ALL = frozenset({ActivityKind.SOURCE_UPDATED})


def draft_key(activity: Activity) -> str:
    """``draft#<account>:<region>:<repository>#<id>``."""
    return f"draft#{activity.scope}"


def source_key(activity: Activity) -> str:
    """``pr#<account>:<region>:<repository>#<id>``."""
    return f"pr#{activity.scope}"


def plan(
    activity: Activity, runtime: PullRequestRuntime, limits: RenderSettings, state: StateStore | None = None
) -> list[Outgoing]:
    """Read, decide (drafts, kinds) and render what one activity posts; nothing is posted here.

    ``state`` is where drafts and source commits are kept: ``runtime.state`` unless given.
    """
    settings = runtime.settings
    notice = enrich(activity, runtime.reader_for(activity.repository), settings.commands)
    snapshot = notice.pull_request
    outgoing: list[Outgoing] = []
    state = _store(state if state is not None else runtime.state)
    now = int(runtime.clock())
    if activity.pull_request_id and snapshot is not None and snapshot.title:
        key = draft_key(activity)
        if is_draft_title(snapshot.title) and activity.kind not in FINAL_KINDS:
            state.put_new(key, {"title": snapshot.title[:200]}, expires_at=now + DRAFT_TTL_SECONDS)
            if notice.command is None:
                log.info(
                    "pull request %s is a draft: %s not announced",
                    activity.pull_request_id,
                    activity.kind.value,
                )
                for write in _source_writes(notice, state, now):  # nothing to deliver first
                    write()
                return []
        elif not is_draft_title(snapshot.title):
            item = state.get(key)
            if item is not None:
                if activity.kind in FINAL_KINDS or not settings.posts(ActivityKind.OPENED):
                    state.delete(item)
                else:
                    ready = replace(notice, ready_for_review=True, command=None, command_rest="")
                    outgoing.append(
                        Outgoing(activity, ready, settings, limits, (lambda: _forget(state, key),))
                    )
                    if activity.kind is ActivityKind.OPENED:
                        return outgoing
    notice = _with_previous_source(notice, state)
    if settings.posts(activity.kind, is_command=notice.command is not None):
        outgoing.append(Outgoing(activity, notice, settings, limits, _source_writes(notice, state, now)))
    else:
        log.info("not posting %s: PULL_REQUEST_EVENTS leaves it out", activity.kind.value)
    return outgoing


def _forget(state: StateStore, key: str) -> None:
    item = state.get(key)
    if item is not None:
        state.delete(item)


def _with_previous_source(notice: Notice, state: StateStore) -> Notice:
    if notice.activity.kind is not ActivityKind.SOURCE_UPDATED or not notice.activity.pull_request_id:
        return notice
    item = state.get(source_key(notice.activity))
    previous = item.attributes.get("source_commit") if item is not None else None
    return replace(notice, previous_source_commit=str(previous)) if previous else notice


def _source_writes(notice: Notice, state: StateStore, now: int) -> tuple[Callable[[], None], ...]:
    activity, snapshot = notice.activity, notice.pull_request
    if activity.kind not in (ActivityKind.OPENED, ActivityKind.SOURCE_UPDATED) or snapshot is None:
        return ()
    if not snapshot.source_commit or not activity.pull_request_id:
        return ()
    key, commit = source_key(activity), snapshot.source_commit

    def remember() -> None:
        attributes = {"source_commit": commit[:100]}
        current = state.get(key)
        if current is None:
            state.put_new(key, attributes, expires_at=now + SOURCE_TTL_SECONDS)
        else:
            state.replace(current, attributes, expires_at=now + SOURCE_TTL_SECONDS)

    return (remember,)


_offline: PullRequestRuntime | None = None
_process_memory: StateStore | None = None


def _store(state: StateStore | None) -> StateStore:
    """The given store, or one in this process's memory (kept for the container's life)."""
    global _process_memory  # noqa: PLW0603 (one per process, like the push pipeline's fallback)
    if state is not None:
        return state
    if _process_memory is None:
        _process_memory = MemoryStore()
    return _process_memory


def process_pull_request_event(event: Any, runtime: Runtime, deadline: Deadline) -> dict[str, int]:
    """Run the pull-request pipeline over one Lambda event; return counts of what was posted.

    ``runtime.pull_requests`` supplies the reader and state; without one (local previews) nothing
    is read from AWS. Each activity is routed (``ROUTES``) and posted to every destination it is
    routed to, each at most once: with several, each is marked on its own (``<key>@<name>``).
    """
    global _offline  # noqa: PLW0603 (one offline runtime per process, so drafts persist in a preview session)
    pull_requests = runtime.pull_requests
    if callable(pull_requests):  # built on first use, then kept for the container's life
        pull_requests = runtime.pull_requests = pull_requests()
    if pull_requests is None:
        _offline = _offline or offline_runtime()
        pull_requests = _offline
    state = pull_requests.state if pull_requests.state is not None else runtime.state
    ledger = DeliveryLedger(state) if state is not None else None
    outcomes: dict[str, int] = {"delivered": 0}

    def dropped(part: Dropped) -> None:
        reason = f"{part.where}: {part.reason}"
        log_outcome(outcome="dropped", event_id=part.event_id, reason=reason, metrics=runtime.metrics)

    for activity in parse_activities(event, dropped):
        failed_at: list[str] = []
        try:
            result = _deliver_activity(
                activity, pull_requests, runtime, deadline, state=state, ledger=ledger, failed_at=failed_at
            )
        except Exception as error:  # said once, with the same keys as every outcome, then raised
            _log_activity(activity, "raised", runtime, reason=str(error), error=error, destinations=failed_at)
            raise
        _log_activity(
            activity, result.outcome, runtime, reason=result.reason, destinations=result.destinations
        )
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + result.count
    return outcomes


@dataclass(frozen=True)
class ActivityResult:
    """What became of one activity: its outcome, why, where it went, and how many messages it posted."""

    outcome: Outcome
    reason: str = ""
    destinations: tuple[str, ...] = ()
    count: int = 1


def _deliver_activity(
    activity: Activity,
    pull_requests: PullRequestRuntime,
    runtime: Runtime,
    deadline: Deadline,
    *,
    state: StateStore | None,
    ledger: DeliveryLedger | None,
    failed_at: list[str],
) -> ActivityResult:
    """Claim, read, decide, route, render, post and mark one activity."""
    key = f"eventbridge#{activity.repository.account}#{activity.delivery_id}" if activity.delivery_id else ""
    with delivery(ledger, key, seconds_left=deadline.seconds_left()) as fresh:
        if not fresh:
            return ActivityResult("duplicate", f"event {activity.delivery_id} was delivered before")
        if activity.comment is not None and came_from_chat(_store(state), activity.comment.comment_id):
            return ActivityResult("filtered", "a comment made from its Slack thread: not echoed into it")
        items = plan(activity, pull_requests, runtime.settings.render, state)
        if not items:
            return ActivityResult("filtered", "nothing to post: a quiet draft, or left out by the settings")
        names = destinations_for(activity, items[0].notice, runtime)
        if not names:
            return ActivityResult("filtered", "no route takes it, or a filter drops it")
        threads = Threads(_store(state), int(pull_requests.clock()))
        post_everywhere(
            items,
            names,
            key=key,
            ledger=ledger,
            runtime=runtime,
            threads=threads,
            deadline=deadline,
            failed_at=failed_at,
        )
        for item in items:  # posted: nothing here may raise, or Lambda's retry would post again
            for write in item.after_delivery:
                try:
                    write()
                except NotifierError as error:
                    log.warning("posted, but could not record its state: %s: %s", type(error).__name__, error)
        if activity.event_time is not None:
            runtime.metrics.lag("codecommit", time.time() - activity.event_time.timestamp())
        return ActivityResult("delivered", destinations=names, count=len(items))


def _log_activity(
    activity: Activity,
    outcome: Outcome,
    runtime: Runtime,
    *,
    reason: str = "",
    error: BaseException | None = None,
    destinations: Sequence[str] = (),
) -> None:
    """The activity's one outcome line (the keys every source's lines have), counted in the metrics."""
    snapshot = activity.pull_request
    log_outcome(
        outcome=outcome,
        kind=activity.kind.value,
        event_id=activity.event_id,
        repository=activity.repository.name,
        pull_request=activity.pull_request_id or "",
        destinations=destinations,
        refs=[ref for ref in (snapshot.source_reference, snapshot.destination_reference) if ref]
        if snapshot is not None
        else [],
        reason=reason,
        error_class=type(error).__name__ if error is not None else "",
        attempts=int(getattr(error, "attempts", 0) or 0),
        metrics=runtime.metrics,
    )


def destinations_for(activity: Activity, notice: Notice, runtime: Runtime) -> tuple[str, ...]:
    """Where the activity goes; () when a filter drops it or no route takes it (logged)."""
    routing = runtime.settings.routes_in_force
    if routing is None:
        return ("default",)
    decision = route(
        subject_for_activity(activity, pull_request=notice.pull_request),
        routing,
        has_default=runtime.senders.has_default(),
    )
    if decision.dropped:
        log.info(
            "not posting %s of pull request %s: %s",
            activity.kind.value,
            activity.pull_request_id,
            decision.reason,
        )
    return decision.destinations


def post_everywhere(
    items: list[Outgoing],
    names: tuple[str, ...],
    *,
    key: str,
    ledger: DeliveryLedger | None,
    runtime: Runtime,
    threads: Threads,
    deadline: Deadline,
    failed_at: list[str] | None = None,
) -> None:
    """Post every item to every destination, each at most once; raise the first failure after all
    were tried (the delivered ones are marked, so Lambda's retry skips them); ``failed_at`` gets the
    destinations that failed.

    The marks: "ready for review" is a message about the pull request, not about one event, so it
    is marked per pull request and destination (``ready#<scope>@<name>``): whichever event brings
    it, and however often a failing destination makes events retry, each destination is told
    once. The event's own message is marked per destination when there are several
    (``<key>@<name>``); with one, the event's claim is its mark.
    """

    def post_all(name: str) -> int:
        ready_here = False
        for item in items:
            ready = item.notice.ready_for_review
            marked = (
                f"ready#{item.activity.scope}@{name}"
                if ready
                else (f"{key}@{name}" if len(names) > 1 and key else "")
            )
            with delivery(ledger, marked, seconds_left=deadline.seconds_left()) as fresh:
                if not fresh:
                    log.info("%s: already delivered to %s; not posting it again", marked, name)
                elif ready_here and item.activity.kind in READY_SAYS_IT_ALL:
                    log.info("%s: said by 'ready for review' in %s; marked, not posted", marked, name)
                else:
                    _post(item, runtime.senders.get(name), threads, deadline, runtime.metrics)
                    ready_here = ready_here or ready
        return 0

    to_each(names, post_all, failed=failed_at)


def _post(
    item: Outgoing, sender: WebhookSender | AppSender, threads: Threads, deadline: Deadline, metrics: Metrics
) -> None:
    activity = item.activity
    markup = markup_for(sender.flavor)
    payload = item.render(markup)
    name = sender.destination.name
    try:
        if isinstance(sender, AppSender) and activity.pull_request_id:
            threads.post(sender, item, payload, deadline)
            direct_messages(sender, item, payload, deadline)
            metrics.delivery(name, attempts=1, rate_limited=0)
        else:
            sent = sender.post(payload, deadline)
            metrics.delivery(name, attempts=sent.attempts, rate_limited=sent.rate_limited)
    except Exception as error:  # counted, then raised as it was
        metrics.delivery_failed(name, error)
        raise
    log.info(
        "delivered %s for pull request %s in %s to %s",
        activity.event_name,
        activity.pull_request_id or "-",
        activity.repository.name,
        sender.destination.name,
    )
