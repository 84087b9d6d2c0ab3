"""App mode: a pull request's whole life in one Slack thread, and direct messages.

For a ``slack-app`` destination the first message about a pull request becomes its thread's
parent; every later event about it replies in that thread, and the parent is edited
(``chat.update``) to show where the pull request stands: open, approved, merged or closed
(:func:`handler.render.pull_request.render_card`). The state table remembers the parent under

    ``thread#<destination>#<account>:<region>:<repository>#<pull request id>`` → ``channel``, ``ts``

(kept 90 days after the last event). When the first event seen is "opened" (or "ready for
review"), that announcement is the parent. Any other first event (the notifier was installed
while the pull request was already open) posts the card as the parent, then the event as its
first reply.

What may fail, and what then happens:

* the reply fails: the event raises (Lambda retries); a parent posted just before is already
  remembered, so the retry replies under it rather than starting a second thread;
* the edit of the parent fails: logged, never raised (the reply was posted; raising would post
  it again). A parent that was deleted (``message_not_found``) is forgotten, so the next event
  starts a new thread;
* two events about a pull request the notifier has never seen, processed at the same moment:
  the first to write a short-lived placeholder under the thread's key (a conditional write)
  starts the thread; the other raises :class:`~handler.state.ledger.DeliveryInProgress`, so
  Lambda retries it a minute or more later and it replies in the thread. A placeholder left by
  an invocation that died lives as long as that invocation could have run, then counts as absent.

Direct messages (``direct_messages: true`` on the destination) go to the people a review command
is about and to the mapped people a comment names as ``@name``. They are a courtesy on top of
the channel message: a failure is logged and does not fail the event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from handler.errors import MessageGone, NotifierError
from handler.pull_requests.model import ActivityKind, BuildResult
from handler.render.actions import ButtonTarget, parse_value, with_buttons
from handler.render.pull_request import people_to_notify, pull_request_state, render_card
from handler.state.ledger import DeliveryInProgress

if TYPE_CHECKING:
    from handler.deadline import Deadline
    from handler.deliver.senders import AppSender
    from handler.pipelines.outgoing import Outgoing
    from handler.state import StateStore

log = logging.getLogger(__name__)
THREAD_TTL_SECONDS = 90 * 24 * 3600
#: A thread being started is held for the invocation starting it for as long as that invocation
#: can still post (its remaining time, at most this), plus a margin.
MAX_START_CLAIM_SECONDS = 900
START_CLAIM_MARGIN_SECONDS = 30
#: Events whose message is the natural head of a thread.
_ANNOUNCEMENTS = frozenset({ActivityKind.OPENED})


def thread_key(destination: str, item: Outgoing) -> str:
    """``thread#<destination>#<account>:<region>:<repository>#<id>``."""
    return f"thread#{destination}#{item.activity.scope}"


class Threads:
    """Posts a pull request's events into its thread in one app destination."""

    def __init__(self, state: StateStore, now: int) -> None:
        self._state = state
        self._now = now

    def post(self, sender: AppSender, item: Outgoing, payload: dict[str, Any], deadline: Deadline) -> None:
        """Reply in the pull request's thread (starting it if needed) and bring its parent up to date."""
        key = thread_key(sender.destination.name, item)
        record = self._state.get(key)
        card = with_review_buttons(
            sender, item, render_card(item.notice, item.settings, item.limits, build=self._build(item))
        )
        if record is not None and not record.attributes.get("ts"):
            raise DeliveryInProgress(key, record.expires_at)  # another invocation is starting it
        if record is None:
            self._start(sender, item, key, payload, card, deadline)
            return
        channel, ts = str(record.attributes.get("channel", "")), str(record.attributes.get("ts", ""))
        sender.post(payload, deadline, thread_ts=ts)
        try:
            sender.update(channel, ts, card, deadline)
        except MessageGone:
            log.warning("%s: the thread's first message is gone; the next event starts a new thread", key)
            self._quietly("forget the thread", lambda: self._state.delete(record))
        except NotifierError as error:
            log.warning("%s: could not update the thread's first message: %s", key, error)
        else:  # keep it another THREAD_TTL_SECONDS from this event
            expires = self._now + THREAD_TTL_SECONDS
            self._quietly(
                "keep the thread", lambda: self._state.replace(record, record.attributes, expires_at=expires)
            )

    def _build(self, item: Outgoing) -> BuildResult | None:
        """The latest run of the pull request's source tip, as the pipeline path recorded it
        (``buildstatus#<scope>``, ``handler/pipelines/pipeline_run.py``), for the parent's build line."""
        record = self._state.get(f"buildstatus#{item.activity.scope}")
        if record is None:
            return None
        attributes = record.attributes
        return BuildResult(
            passed=attributes.get("result") == "passed",
            commit_id=str(attributes.get("commit", "")),
            pipeline=str(attributes.get("pipeline", "")),
        )

    def _start(  # noqa: PLR0917 (one step of post, its state passed along)
        self,
        sender: AppSender,
        item: Outgoing,
        key: str,
        payload: dict[str, Any],
        card: dict[str, Any],
        deadline: Deadline,
    ) -> None:
        """Claim the thread's key, post its parent, remember it; every write is on the item this
        invocation created (compare-and-set), so a slower invocation can never overwrite or delete
        a thread another one remembered. The claim lasts as long as this invocation can."""
        hold = int(min(deadline.seconds_left(), MAX_START_CLAIM_SECONDS)) + START_CLAIM_MARGIN_SECONDS
        claim = self._state.put_new(key, {"starting": 1}, expires_at=self._now + hold)
        if claim is None:
            raise DeliveryInProgress(key, None)
        announcement = item.notice.ready_for_review or (
            item.activity.kind in _ANNOUNCEMENTS and item.notice.command is None
        )
        try:
            parent = sender.post(
                with_review_buttons(sender, item, payload) if announcement else card, deadline
            )
        except BaseException:
            self._quietly("release the thread's claim", lambda: self._state.delete(claim))
            raise  # nothing was posted: the retry starts the thread
        if parent.channel_id and parent.ts:
            attributes = {"channel": parent.channel_id, "ts": parent.ts}
            remembered = self._quietly(
                "remember the thread",
                lambda: self._state.replace(claim, attributes, expires_at=self._now + THREAD_TTL_SECONDS),
            )
            if remembered is None:
                log.warning("%s: posted, but the claim was taken over; this thread is not remembered", key)
        if not announcement:
            sender.post(payload, deadline, thread_ts=parent.ts)

    def _quietly(self, what: str, write: Callable[[], object]) -> object:
        """A state write after a post: a failure is logged, never raised (the retry would post again)."""
        try:
            return write()
        except NotifierError as error:
            log.warning("posted, but could not %s: %s", what, error)
            return None


def with_review_buttons(sender: AppSender, item: Outgoing, payload: dict[str, Any]) -> dict[str, Any]:
    """The thread's parent with Approve / Revoke / Merge / Comment when the destination is
    ``"interactive": true`` and the pull request is open (docs/chat.md); else ``payload`` itself."""
    snapshot = item.notice.pull_request
    if not sender.destination.interactive or snapshot is None or not item.activity.pull_request_id:
        return payload
    if pull_request_state(item.notice) in ("merged", "closed"):
        return payload
    target = ButtonTarget(
        sender.destination.name,
        item.activity.repository.name,
        item.activity.pull_request_id,
        snapshot.revision_id,
    )
    return with_buttons(payload, target) if parse_value(target.value()) == target else payload


def direct_messages(sender: AppSender, item: Outgoing, payload: dict[str, Any], deadline: Deadline) -> int:
    """DM the people the notice is about (``direct_messages: true``); return how many were sent."""
    if not sender.destination.direct_messages:
        return 0
    sent = 0
    for someone in people_to_notify(item.notice, item.settings.user_map):
        user_id = someone.chat.slack if someone.chat is not None else None
        if not user_id:
            continue
        try:
            sender.direct_message(user_id, payload, deadline)
            sent += 1
        except NotifierError as error:
            log.warning(
                "%s: could not send a direct message to %s: %s", sender.destination.name, user_id, error
            )
    return sent
