"""The push path: a repository trigger's SNS message, one push per trigger record::

    event ──parse──► Push ──claim──► enrich ──record heads──► route ──render──► deliver ──mark delivered
      (sources.trigger)  (state)  (enrich.push,  (state: compare-  (routing) (render  (deliver
                                   .history)      and-set)                    .push)   .senders)

Each push (trigger record) of an event is delivered on its own: claimed, enriched, recorded,
rendered, posted and marked. One push that fails does not stop its neighbours; the event raises
after all were tried, and Lambda's retry finds the delivered ones marked and posts only the rest.

Outcomes: poison is logged and dropped; a push whose commit can't be read is still posted with
what is known; a redelivered push posts nothing; every other failure raises (after undoing what
the failed push recorded), so Lambda retries the event and the dead-letter queue keeps it.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from handler.deadline import Deadline
from handler.deliver.senders import to_each
from handler.enrich.history import HistoryLimits
from handler.enrich.prefetch import ReadAhead, TipPrefetch, history_tip, tips_to_prefetch
from handler.enrich.push import HistoryOptions, enrich
from handler.enrich.reader import CommitReader
from handler.errors import NotifierError
from handler.logs import Outcome, log_outcome, log_push_outcome
from handler.model import Notification, Push, PushRouting, RefAction, RefChange, Repository
from handler.render.markup import markup_for
from handler.render.push import render
from handler.sources import Dropped, parse_each
from handler.sources.trigger import iter_trigger_records, parse_push
from handler.state import StateError
from handler.state.heads import CountPlan, HeadRecord, RefHeads
from handler.state.ledger import DeliveryInProgress, delivery

if TYPE_CHECKING:
    from handler.runtime import Runtime

log = logging.getLogger("handler")
#: Compare-and-set rounds on a branch's recorded head before giving up (Lambda retries later).
HEAD_SWAP_ROUNDS = 3


def process_push_event(event: Any, runtime: Runtime, deadline: Deadline) -> dict[str, int]:
    """Run the push pipeline over one event; return how many pushes had each outcome.

    Outcomes: ``delivered``; ``duplicate`` (this push was delivered before: a redelivery);
    ``late`` (every branch it moved had already been reported by a later push).

    Raises:
        Exception: the first failure among the event's pushes, after every push was tried.
    """
    outcomes: Counter[str] = Counter(delivered=0)
    failures: list[Exception] = []
    for push in _parse_pushes(event, runtime):
        failed_at: list[str] = []
        try:
            result = deliver_push(push, runtime, deadline, failed_at=failed_at)
        except Exception as error:  # one push's failure must not sink its neighbours
            log_push_outcome(push, "raised", error=error, destinations=failed_at, metrics=runtime.metrics)
            failures.append(error)
            continue
        log_push_outcome(
            push,
            result.outcome,
            notification=result.notification,
            attempts=result.attempts,
            reason=result.reason,
            destinations=result.destinations,
            metrics=runtime.metrics,
        )
        outcomes[result.outcome] += 1
    if failures:
        if len(failures) > 1:
            log.error("%d pushes of this event failed; raising the first so Lambda retries", len(failures))
        raise failures[0]
    return dict(outcomes)


@dataclass(frozen=True)
class PushResult:
    """What became of one push: its outcome, the notification (if one was built) and Slack attempts."""

    outcome: Outcome
    notification: Notification | None = None
    attempts: int = 0
    reason: str = ""
    destinations: tuple[str, ...] = ()


def deliver_push(
    push: Push, runtime: Runtime, deadline: Deadline, *, failed_at: list[str] | None = None
) -> PushResult:
    """Claim, enrich, record, route, render, post and mark one push; undo what it recorded if it fails.

    ``failed_at`` gets the destinations whose post failed, before the failure is raised.

    With heads tracked, the recorded heads (then the merge bases with them) and the branch tips are
    read beside the claim, and the tips' changes once it is won, each chain on a thread of its own
    (:mod:`handler.enrich.prefetch`); meanwhile this thread imports what the post will need.
    """
    heads = runtime.heads
    detailed = push.ref_changes[: runtime.settings.render.max_refs]
    with (
        TipPrefetch(
            runtime.reader(push.repository, deadline), tips_to_prefetch(detailed) if heads else []
        ) as reader,
        ReadAhead(partial(_read_heads_ahead, heads, push, detailed, reader) if heads else None) as ahead,
        delivery(runtime.ledger, push.delivery_key, seconds_left=deadline.seconds_left()) as fresh,
    ):
        if not fresh:
            return PushResult("duplicate", reason=f"{push.delivery_key} was delivered before")
        reader.read_changes()
        runtime.senders.ready_webhook_client()  # while the read-ahead finishes: off the post's path
        with _recorded_heads(push, runtime, reader, ahead.get) as notification:
            if not notification.push.ref_changes:
                return PushResult(
                    "late", notification, reason="a later push to the same branch was reported first"
                )
            routed = route_notification(notification, runtime)
            if not routed.by_destination:
                reasons = "; ".join(
                    f"{ref.short_name}: {decision.reason}" for ref, decision in routed.dropped
                )
                return PushResult("filtered", notification, reason=reasons)
            attempts = post_to_each(notification, routed, runtime, deadline, failed_at)
            return PushResult(
                "delivered", notification, attempts, _sent_to(routed), tuple(routed.by_destination)
            )


def route_notification(notification: Notification, runtime: Runtime) -> PushRouting:
    """Where each reference goes (``ROUTES``; without routes, all to ``default``)."""
    routing = runtime.settings.routes_in_force
    if routing is None:
        return PushRouting.everything_to_default(notification.push.ref_changes)
    from handler.routing import route_push

    return route_push(notification.push, routing, has_default=runtime.senders.has_default())


def post_to_each(
    notification: Notification,
    routed: PushRouting,
    runtime: Runtime,
    deadline: Deadline,
    failed_at: list[str] | None = None,
) -> int:
    """Post each destination its part, each at most once: with several destinations, every one is
    marked in the ledger on its own (``<push key>@<name>``), so after one fails, Lambda's retry
    posts only to the ones that did not get it. Every destination is tried; the first failure is
    raised after."""
    several = len(routed.by_destination) > 1

    def post(name: str) -> int:
        key = f"{notification.push.delivery_key}@{name}" if several and notification.push.delivery_key else ""
        with delivery(runtime.ledger, key, seconds_left=deadline.seconds_left()) as fresh:
            if not fresh:
                log.info(
                    "%s: already delivered to %s; not posting it again", notification.push.delivery_key, name
                )
                return 0
            sender = runtime.senders.get(name)
            part = (
                _only(notification, routed.by_destination[name])
                if several or routed.dropped
                else notification
            )
            payload = render(part, runtime.settings.render, markup_for(sender.flavor))
            try:
                sent = sender.post(payload, deadline)
            except Exception as error:  # counted, then raised as it was
                runtime.metrics.delivery_failed(name, error)
                raise
            runtime.metrics.delivery(name, attempts=sent.attempts, rate_limited=sent.rate_limited)
            if notification.push.event_time is not None:
                runtime.metrics.lag("codecommit", time.time() - notification.push.event_time.timestamp())
            return sent.attempts

    return to_each(routed.by_destination, post, failed=failed_at)


def _only(notification: Notification, ref_changes: tuple[RefChange, ...]) -> Notification:
    """The part of a notification about ``ref_changes``: what one destination is sent."""
    names = {ref_change.full_name for ref_change in ref_changes}
    push = notification.push
    return replace(
        notification,
        push=replace(push, ref_changes=tuple(ref for ref in push.ref_changes if ref.full_name in names)),
        reports=tuple(report for report in notification.reports if report.ref_change.full_name in names),
        omitted=tuple(ref for ref in notification.omitted if ref.full_name in names),
    )


def _sent_to(routed: PushRouting) -> str:
    destinations = ", ".join(routed.by_destination)
    return "" if destinations == "default" and not routed.dropped else f"sent to {destinations}"


def _parse_pushes(event: Any, runtime: Runtime) -> list[Push]:
    """Every usable push in the event; one ``dropped`` outcome line for each part that is not."""

    def dropped(part: Dropped) -> None:
        reason = f"{part.where}: {part.reason}"
        log_outcome(outcome="dropped", event_id=part.event_id, reason=reason, metrics=runtime.metrics)

    return list(parse_each(iter_trigger_records(event), parse_push, dropped))


@contextmanager
def _recorded_heads(
    push: Push, runtime: Runtime, reader: CommitReader, first_heads: Callable[[], _HeadRecords | None]
) -> Iterator[Notification]:
    """Enrich the push and move the recorded heads of its references; undo the move on failure.

    Heads are moved (compare-and-set) *before* delivery, so a concurrent push to the same branch
    counts from this push's head and never lists a commit twice; if delivery then fails, the
    heads are put back, so the retry counts from where this push did.
    """
    settings = runtime.settings
    heads = runtime.heads
    if heads is None:
        yield enrich(push, reader, max_refs=settings.render.max_refs)
        return
    first_records = first_heads()
    assert first_records is not None  # read whenever heads are tracked (deliver_push)
    notification, swapped = _enrich_and_swap(push, runtime, heads, reader, first_records)
    try:
        yield notification
    except BaseException:
        for after, before in reversed(swapped.moved):
            _quietly("restore a branch head", partial(heads.restore, after, before))
        raise
    # Delivered: nothing below may raise, or Lambda's retry would post the push again.
    for after in swapped.recorded:
        _quietly("confirm a branch head", partial(heads.confirm, after))
    for settled in swapped.collected:
        _quietly("clear a debt this push paid", partial(heads.settle, settled))
    for ref_change in notification.push.ref_changes[: settings.render.max_refs]:  # late ones left out
        if ref_change.action is RefAction.DELETED:
            _quietly("forget a deleted head", partial(heads.clear, push.repository, ref_change.full_name))


def _enrich_and_swap(
    push: Push, runtime: Runtime, heads: RefHeads, reader: CommitReader, first_records: _HeadRecords
) -> tuple[Notification, _Swapped]:
    """Enrich from the recorded heads and move them (compare-and-set); if another push moved one
    meanwhile, read them again and retry the round.

    ``first_records`` are the heads read ahead of the claim. One written by an earlier attempt of
    this push is read again first: that attempt may have put it back since, and :func:`_swap_heads`
    trusts such a record without a compare-and-set, so it must be read under the claim.
    """
    settings = runtime.settings
    limits = HistoryLimits(listed=settings.render.max_commits, read=settings.max_commits_read)
    detailed = push.ref_changes[: settings.render.max_refs]
    records = first_records
    for round_number in range(HEAD_SWAP_ROUNDS):
        if round_number or any(r is not None and r.set_by == push.delivery_key for r in records.values()):
            records = _read_heads(heads, push.repository, detailed)
        plans = _count_plans(records, push.delivery_key)
        previous = {name: plan.count_from for name, plan in plans.items() if plan.count_from}
        notification = enrich(
            push, reader, max_refs=settings.render.max_refs, history=HistoryOptions(previous, limits)
        )
        swapped = _swap_heads(heads, notification, records, push.delivery_key, plans)
        if swapped is not None:
            break
    else:
        raise StateError(
            f"the recorded heads of {push.repository.name} kept changing under concurrent pushes; "
            "raising so Lambda retries the event"
        )
    return notification, swapped


#: A push's references' recorded heads, by full ref name (None: no head recorded yet).
_HeadRecords = dict[str, HeadRecord | None]


def _count_plans(records: _HeadRecords, delivery_key: str) -> dict[str, CountPlan]:
    """How each reference with a recorded head is counted (:meth:`HeadRecord.count_plan`).

    Raises:
        DeliveryInProgress: a head can't be counted past yet (two unconfirmed pushes before it).
    """
    now = time.time()
    plans = {}
    for name, record in records.items():
        if record is not None:
            plans[name] = record.count_plan(delivery_key, now=now)
    return plans


def _read_heads_ahead(
    heads: RefHeads, push: Push, ref_changes: tuple[RefChange, ...], reader: TipPrefetch
) -> _HeadRecords:
    """The recorded heads, read beside the claim; then, for each branch created or updated, the
    merge base of its tip with the head it will count from, asked ahead too
    (:meth:`TipPrefetch.merge_base_ahead`).

    Not for a head an earlier attempt of this push wrote: :func:`_enrich_and_swap` reads that one
    again under the claim. If another push moves the head in between, the first round uses the
    answer for the head it read, as it would have asked for it anyway; the compare-and-set then
    fails, and the next round asks for the new pair itself.
    """
    records = _read_heads(heads, push.repository, ref_changes)
    try:
        plans = _count_plans(
            {
                name: record
                for name, record in records.items()
                if record and record.set_by != push.delivery_key
            },
            push.delivery_key,
        )
    except DeliveryInProgress:  # said again, and raised, under the claim
        plans = {}
    for ref in ref_changes:
        plan, tip = plans.get(ref.full_name), history_tip(ref)
        if plan is not None and plan.count_from and tip is not None:  # not a tag, deletion, first sight
            reader.merge_base_ahead(tip, plan.count_from)
    return records


def _read_heads(heads: RefHeads, repository: Repository, ref_changes: tuple[RefChange, ...]) -> _HeadRecords:
    """The recorded head of each reference."""
    return {ref.full_name: heads.read(repository, ref.full_name) for ref in ref_changes}


@dataclass(frozen=True)
class _Swapped:
    """What :func:`_swap_heads` wrote: ``moved`` (new record, the one it replaced) can be put back
    if delivery fails; ``recorded`` (every head this push now owns) is confirmed once it posted;
    ``collected`` (records whose debt this push pays: it lists the range another push counted past)
    have their debt cleared once it posted."""

    moved: list[tuple[HeadRecord, HeadRecord | None]] = field(default_factory=list)
    recorded: list[HeadRecord] = field(default_factory=list)
    collected: list[HeadRecord] = field(default_factory=list)


def _swap_heads(
    heads: RefHeads,
    notification: Notification,
    records: dict[str, HeadRecord | None],
    delivery_key: str,
    plans: dict[str, CountPlan],
) -> _Swapped | None:
    """Move every created or updated reference's head; None (all undone) if one moved under us.

    A reference whose plan collects a debt keeps its (newer) head: this push only lists the range."""
    swapped = _Swapped()
    for report in notification.reports:
        ref_change = report.ref_change
        if ref_change.action is RefAction.DELETED or ref_change.commit_id is None:
            continue
        record, plan = records.get(ref_change.full_name), plans.get(ref_change.full_name)
        if record is not None and plan is not None and plan.collects is not None:
            swapped.collected.append(record)
            continue
        if record is not None and record.commit_id == ref_change.commit_id and record.set_by == delivery_key:
            swapped.recorded.append(record)  # recorded by an earlier attempt of this push that died
            continue
        after = heads.swap(
            notification.push.repository,
            ref_change.full_name,
            current=record,
            commit_id=ref_change.commit_id,
            previous_id=plan.count_from if plan is not None else None,
            set_by=delivery_key,
            owed=plan.carries if plan is not None else None,
        )
        if after is None:
            for done, before in reversed(swapped.moved):
                heads.restore(done, before)
            return None
        swapped.moved.append((after, record))
        swapped.recorded.append(after)
    return swapped


def _quietly(what: str, action: Callable[[], object]) -> None:
    """Best-effort cleanup while another error is on its way out: log a failure, never mask it."""
    try:
        action()
    except (NotifierError, OSError) as error:
        log.warning("could not %s: %s: %s", what, type(error).__name__, error)
