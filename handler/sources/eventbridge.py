"""Parse: CodeCommit's EventBridge events → one :class:`~handler.pull_requests.model.Activity` each.

CodeCommit publishes pull-request, comment and approval events to EventBridge, not to repository
triggers (see README, "Pull requests"). An event arrives in one of two shapes:

* the EventBridge event itself, when a rule targets the function (``source: aws.codecommit``,
  ``detail-type``, ``detail``);
* wrapped in SNS, when a rule targets a topic: ``Records[].Sns.Message`` is the event's JSON.

Each event is read through a small read-only view per detail type (one property per field, each
checking its type), so a malformed field fails with a sentence naming it. Events this notifier
does not report (reference changes, reactions, approval-rule templates) are dropped with a reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from handler.errors import UnprocessableEvent
from handler.model import Repository, parse_pusher
from handler.pull_requests.model import (
    Activity,
    ActivityKind,
    CommentRef,
    Identity,
    PullRequestSnapshot,
)
from handler.sources import (
    EVENTBRIDGE_SOURCE,
    Dropped,
    is_eventbridge_event,
    parse_each,
    sns_eventbridge_message,
    text_field,
)
from handler.sources.trigger import parse_repository_arn

log = logging.getLogger(__name__)

__all__ = [
    "EVENTBRIDGE_SOURCE",
    "HANDLED_DETAIL_TYPES",
    "CommentDetail",
    "EventBridgeEvent",
    "PullRequestStateDetail",
    "is_eventbridge_event",
    "iter_eventbridge_events",
    "parse_activities",
    "parse_activity",
]

PULL_REQUEST_STATE_CHANGE = "CodeCommit Pull Request State Change"
COMMENT_ON_PULL_REQUEST = "CodeCommit Comment on Pull Request"
COMMENT_ON_COMMIT = "CodeCommit Comment on Commit"
#: The detail types the stack's rule routes here.
HANDLED_DETAIL_TYPES = (PULL_REQUEST_STATE_CHANGE, COMMENT_ON_PULL_REQUEST, COMMENT_ON_COMMIT)
_MAX_ID = 200


class EventBridgeEvent:
    """The EventBridge envelope: ``source``, ``detail-type``, ``time``, ``region``, ``detail``."""

    def __init__(self, raw: Mapping[str, Any], where: str = "event") -> None:
        self.raw_event = raw
        self.where = where

    @property
    def source(self) -> str:
        """``aws.codecommit`` for every CodeCommit event."""
        return text_field(self.raw_event, "source", self.where, required=True)

    @property
    def detail_type(self) -> str:
        """``CodeCommit Pull Request State Change``, ``CodeCommit Comment on Pull Request``, …"""
        return text_field(self.raw_event, "detail-type", self.where, required=True)

    @property
    def event_id(self) -> str:
        """EventBridge's unique id for the event."""
        return text_field(self.raw_event, "id", self.where)[:_MAX_ID]

    @property
    def account(self) -> str:
        """The account the repository is in."""
        return text_field(self.raw_event, "account", self.where)[:_MAX_ID]

    @property
    def region(self) -> str:
        """The repository's region."""
        return text_field(self.raw_event, "region", self.where)[:_MAX_ID]

    @property
    def time(self) -> datetime | None:
        """When it happened (ISO 8601, ``2019-11-06T19:12:19Z``); the detail's dates are free text."""
        value = text_field(self.raw_event, "time", self.where)
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
        except ValueError:
            return None

    @property
    def resources(self) -> tuple[str, ...]:
        """The repository ARNs the event is about."""
        value = self.raw_event.get("resources")
        if not isinstance(value, list):
            return ()
        return tuple(item for item in value if isinstance(item, str))

    @property
    def detail(self) -> Mapping[str, Any]:
        """The detail object, read through :class:`PullRequestStateDetail` or :class:`CommentDetail`."""
        value = self.raw_event.get("detail")
        if not isinstance(value, dict):
            raise UnprocessableEvent(f"{self.where}.detail should be an object")
        return value


class PullRequestStateDetail:
    """``detail`` of a ``CodeCommit Pull Request State Change`` event."""

    def __init__(self, raw: Mapping[str, Any], where: str) -> None:
        self.raw_event = raw
        self.where = where

    def _get(self, key: str, *, required: bool = False) -> str:
        return text_field(self.raw_event, key, self.where, required=required)

    @property
    def event(self) -> str:
        """``pullRequestCreated``, ``pullRequestSourceBranchUpdated``, ``pullRequestStatusChanged``, …"""
        return self._get("event", required=True)

    @property
    def pull_request_id(self) -> str:
        """The pull request's id, a decimal string."""
        return _pull_request_id(self.raw_event, self.where)

    @property
    def title(self) -> str:
        """The title at the time of the event."""
        return self._get("title")

    @property
    def description(self) -> str:
        """The description (absent when empty)."""
        return self._get("description")

    @property
    def author(self) -> str:
        """ARN of who opened the pull request."""
        return self._get("author")[: _MAX_ID * 5]

    @property
    def caller_user_arn(self) -> str:
        """ARN of who caused this event."""
        return self._get("callerUserArn")[: _MAX_ID * 5]

    @property
    def source_reference(self) -> str:
        """The source branch's full name."""
        return self._get("sourceReference")[:1024]

    @property
    def destination_reference(self) -> str:
        """The destination branch's full name."""
        return self._get("destinationReference")[:1024]

    @property
    def source_commit(self) -> str:
        """The source branch's tip commit."""
        return self._get("sourceCommit")[:_MAX_ID]

    @property
    def destination_commit(self) -> str:
        """The destination branch's tip commit."""
        return self._get("destinationCommit")[:_MAX_ID]

    @property
    def pull_request_status(self) -> str:
        """``Open`` or ``Closed``."""
        return self._get("pullRequestStatus")[:_MAX_ID]

    @property
    def is_merged(self) -> bool:
        """``isMerged`` is the string ``"True"`` or ``"False"`` (a boolean is accepted too)."""
        value = self.raw_event.get("isMerged")
        if isinstance(value, bool):
            return value
        return isinstance(value, str) and value.strip().lower() == "true"

    @property
    def revision_id(self) -> str:
        """The revision, which the approval APIs ask for."""
        return self._get("revisionId")[:_MAX_ID]

    @property
    def merge_option(self) -> str | None:
        """On merges: ``FAST_FORWARD_MERGE``, ``SQUASH_MERGE`` or ``THREE_WAY_MERGE``."""
        return self._get("mergeOption")[:_MAX_ID] or None

    @property
    def approval_status(self) -> str:
        """On approval-state changes: ``APPROVE`` or ``REVOKE``."""
        return self._get("approvalStatus")[:_MAX_ID]

    @property
    def override_status(self) -> str:
        """On rule overrides: ``OVERRIDE`` or ``REVOKE``."""
        return self._get("overrideStatus")[:_MAX_ID]

    @property
    def approval_rule_name(self) -> str | None:
        """On approval-rule events: the rule's name."""
        return self._get("approvalRuleName")[:_MAX_ID] or None

    @property
    def repository_names(self) -> tuple[str, ...]:
        """The repositories the pull request is in (one, for CodeCommit today)."""
        value = self.raw_event.get("repositoryNames")
        if not isinstance(value, list):
            return ()
        return tuple(item for item in value if isinstance(item, str))


class CommentDetail:
    """``detail`` of a ``CodeCommit Comment on Pull Request`` or ``… on Commit`` event."""

    def __init__(self, raw: Mapping[str, Any], where: str) -> None:
        self.raw_event = raw
        self.where = where

    def _get(self, key: str, *, required: bool = False) -> str:
        return text_field(self.raw_event, key, self.where, required=required)[: _MAX_ID * 5]

    @property
    def event(self) -> str:
        """``commentOnPullRequestCreated``/``Updated`` or ``commentOnCommitCreated``/``Updated``."""
        return self._get("event", required=True)

    @property
    def comment_id(self) -> str:
        """The comment's id (the event never carries its text: GetComment reads it)."""
        value = self._get("commentId", required=True).strip()
        if not value:
            raise UnprocessableEvent(f"{self.where}.commentId is empty")
        return value

    @property
    def in_reply_to(self) -> str | None:
        """The comment this one replies to."""
        return self._get("inReplyTo").strip() or None

    @property
    def pull_request_id(self) -> str:
        """The pull request's id (comments on pull requests only)."""
        return _pull_request_id(self.raw_event, self.where)

    @property
    def repository_name(self) -> str:
        """The repository's name."""
        return self._get("repositoryName")

    @property
    def caller_user_arn(self) -> str:
        """ARN of who commented."""
        return self._get("callerUserArn")

    @property
    def before_commit_id(self) -> str | None:
        """The commit compared from."""
        return self._get("beforeCommitId") or None

    @property
    def after_commit_id(self) -> str | None:
        """The commit compared to (the commented commit, for commit comments)."""
        return self._get("afterCommitId") or None

    @property
    def display_name(self) -> str | None:
        """The commenter's display name, from session tags, when present."""
        return self._get("displayName") or None

    @property
    def email_address(self) -> str | None:
        """The commenter's e-mail, from session tags, when present."""
        return self._get("emailAddress") or None


def _pull_request_id(raw: Mapping[str, Any], where: str) -> str:
    value = raw.get("pullRequestId")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip().isdecimal() or len(value.strip()) > 20:
        raise UnprocessableEvent(f"{where}.pullRequestId should be a decimal id, got {str(value)[:40]!r}")
    return value.strip()


_STATE_KINDS = {
    "pullRequestCreated": ActivityKind.OPENED,
    "pullRequestSourceBranchUpdated": ActivityKind.SOURCE_UPDATED,
    "pullRequestApprovalRuleCreated": ActivityKind.RULE_CHANGED,
    "pullRequestApprovalRuleUpdated": ActivityKind.RULE_CHANGED,
    "pullRequestApprovalRuleDeleted": ActivityKind.RULE_CHANGED,
}
_COMMENT_KINDS = {
    "commentOnPullRequestCreated": ActivityKind.COMMENT,
    "commentOnPullRequestUpdated": ActivityKind.COMMENT_EDITED,
    "commentOnCommitCreated": ActivityKind.COMMIT_COMMENT,
    "commentOnCommitUpdated": ActivityKind.COMMENT_EDITED,
}


def iter_eventbridge_events(event: Any) -> Iterator[EventBridgeEvent | Dropped]:
    """Yield each EventBridge event in a Lambda event (direct, or one per SNS record)."""
    if isinstance(event, dict) and event.get("source") == EVENTBRIDGE_SOURCE:
        yield EventBridgeEvent(event)
        return
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        yield Dropped("event", "not an EventBridge or SNS event")
        return
    for index, record in enumerate(records):
        decoded = sns_eventbridge_message(record)
        if decoded is None:
            yield Dropped(f"Records[{index}]", "not an SNS message holding a CodeCommit EventBridge event")
        else:
            yield EventBridgeEvent(decoded, f"Records[{index}].Sns.Message")


def parse_activity(envelope: EventBridgeEvent) -> Activity:
    """Turn one EventBridge event into an :class:`Activity`.

    Raises:
        UnprocessableEvent: the event is not one this notifier reports, or a field it needs is
            malformed; the reason says which.
    """
    if envelope.source != EVENTBRIDGE_SOURCE:
        raise UnprocessableEvent(f"source is {envelope.source[:80]!r}, not {EVENTBRIDGE_SOURCE!r}")
    detail_type = envelope.detail_type
    where = f"{envelope.where}.detail"
    if detail_type == PULL_REQUEST_STATE_CHANGE:
        return _state_activity(envelope, PullRequestStateDetail(envelope.detail, where))
    if detail_type in (COMMENT_ON_PULL_REQUEST, COMMENT_ON_COMMIT):
        return _comment_activity(envelope, CommentDetail(envelope.detail, where), detail_type)
    raise UnprocessableEvent(f"detail-type {detail_type[:80]!r} is not a pull-request or comment event")


def _repository(envelope: EventBridgeEvent, name: str) -> Repository:
    """The repository: name from the detail, partition/region/account from its ARN or the envelope."""
    for arn in envelope.resources:
        try:
            repository = parse_repository_arn(arn)
        except UnprocessableEvent:
            continue
        if not name or repository.name == name:
            return repository
    if not name:
        raise UnprocessableEvent(f"{envelope.where} names no repository")
    return parse_repository_arn(f"arn:aws:codecommit:{envelope.region}:{envelope.account}:{name}")


def identity(arn: str, *, email: str | None = None, display_name: str | None = None) -> Identity:
    """An :class:`Identity` from an IAM ARN (plus the session tags CodeCommit may pass on)."""
    pusher = parse_pusher(arn)
    return Identity(
        arn=arn,
        name=pusher.display_name,
        role_name=pusher.role_name,
        email=email,
        display_name=display_name,
    )


def _state_kind(detail: PullRequestStateDetail) -> ActivityKind:
    name = detail.event
    if name in _STATE_KINDS:
        return _STATE_KINDS[name]
    if name == "pullRequestStatusChanged":
        if detail.pull_request_status == "Open":
            return ActivityKind.REOPENED
        # Closed by a merge: CodeCommit may send this beside pullRequestMergeStatusUpdated. Both
        # are the merge, claimed under one delivery id (Activity.delivery_id), so one message posts.
        return ActivityKind.MERGED if detail.is_merged else ActivityKind.CLOSED
    if name == "pullRequestMergeStatusUpdated":
        if detail.is_merged:
            return ActivityKind.MERGED
        raise UnprocessableEvent("a merge-status update that is not a merge: nothing to say")
    if name == "pullRequestApprovalStateChanged":
        return {"APPROVE": ActivityKind.APPROVED, "REVOKE": ActivityKind.APPROVAL_REVOKED}[
            _one_of(detail.approval_status, ("APPROVE", "REVOKE"), f"{detail.where}.approvalStatus")
        ]
    if name == "pullRequestApprovalRuleOverridden":
        return {"OVERRIDE": ActivityKind.OVERRIDDEN, "REVOKE": ActivityKind.OVERRIDE_REVOKED}[
            _one_of(detail.override_status, ("OVERRIDE", "REVOKE"), f"{detail.where}.overrideStatus")
        ]
    raise UnprocessableEvent(f"pull-request event {name[:80]!r} is not one this notifier reports")


def _one_of(value: str, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise UnprocessableEvent(f"{where} should be one of {', '.join(allowed)}, got {value[:40]!r}")
    return value


def _state_activity(envelope: EventBridgeEvent, detail: PullRequestStateDetail) -> Activity:
    kind = _state_kind(detail)
    names = detail.repository_names
    snapshot = PullRequestSnapshot(
        pull_request_id=detail.pull_request_id,
        title=detail.title,
        description=detail.description,
        author_arn=detail.author,
        source_reference=detail.source_reference,
        destination_reference=detail.destination_reference,
        source_commit=detail.source_commit,
        destination_commit=detail.destination_commit,
        status=detail.pull_request_status,
        is_merged=detail.is_merged,
        revision_id=detail.revision_id,
        merge_option=detail.merge_option,
    )
    repository = _repository(envelope, names[0] if names else "")
    return Activity(
        kind=kind,
        event_name=detail.event,
        repository=repository,
        actor=identity(detail.caller_user_arn),
        event_id=envelope.event_id,
        event_time=envelope.time,
        pull_request=snapshot,
        pull_request_id=snapshot.pull_request_id,
        approval_rule_name=detail.approval_rule_name,
    )


def _comment_activity(envelope: EventBridgeEvent, detail: CommentDetail, detail_type: str) -> Activity:
    name = detail.event
    kind = _COMMENT_KINDS.get(name)
    if kind is None:
        raise UnprocessableEvent(f"comment event {name[:80]!r} is not one this notifier reports")
    on_pull_request = detail_type == COMMENT_ON_PULL_REQUEST
    comment = CommentRef(
        comment_id=detail.comment_id,
        in_reply_to=detail.in_reply_to,
        before_commit_id=detail.before_commit_id,
        after_commit_id=detail.after_commit_id,
    )
    return Activity(
        kind=kind,
        event_name=name,
        repository=_repository(envelope, detail.repository_name),
        actor=identity(detail.caller_user_arn, email=detail.email_address, display_name=detail.display_name),
        event_id=envelope.event_id,
        event_time=envelope.time,
        pull_request_id=detail.pull_request_id if on_pull_request else None,
        comment=comment,
    )


def parse_activities(event: Any, on_drop: Callable[[Dropped], None] | None = None) -> Iterator[Activity]:
    """Yield an :class:`Activity` per usable EventBridge event; hand each dropped part to ``on_drop``
    (the pipeline's outcome line; a log line when not given)."""
    return parse_each(iter_eventbridge_events(event), parse_activity, on_drop or _log_dropped)


def _log_dropped(dropped: Dropped) -> None:
    log.warning("dropped %s: %s", dropped.where, dropped.reason)
