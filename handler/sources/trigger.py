"""Parse: SNS → CodeCommit trigger message → one :class:`~handler.model.Push` per trigger record.

The raw shapes are wrapped in small read-only views (one property per field, each checking its
type) so that a malformed field fails with a sentence naming it, not with a ``KeyError`` deep in
the renderer. Every string a view returns is made safe on the way out (:func:`_require`): lone
surrogates and control characters become U+FFFD, so no later stage (links, logging, JSON encoding)
can fail on one, and one hostile field cannot take its event's other pushes down with it. Checks
of a field's shape match the whole value (``fullmatch``), never a prefix: ``us-east-1\n`` is not a
region. Shapes are from real payloads; see ``tests/fixtures/events``.

Accepted inputs:

* the SNS-to-Lambda event: ``Records[].Sns.Message`` holds the trigger JSON as a string;
* a trigger message delivered to Lambda directly (``Records[].eventSource == "aws:codecommit"``),
  which is what a CodeCommit trigger that targets a Lambda function sends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from handler.errors import UnprocessableEvent
from handler.model import Push, RefAction, RefChange, RefKind, Repository, parse_pusher
from handler.render.mrkdwn import scrub
from handler.sources import Dropped, parse_each

log = logging.getLogger(__name__)

CODECOMMIT_SOURCE = "aws:codecommit"
TEST_TRIGGER_EVENT = "TriggerEventTest"
ZERO_COMMIT = re.compile(r"0+", re.ASCII)
_COMMIT_ID = re.compile(r"[0-9a-fA-F]{4,64}", re.ASCII)
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}", re.ASCII)
_PARTITION = re.compile(r"aws(-[a-z]+)*", re.ASCII)
_REPOSITORY_NAME = re.compile(r"[\w.-]{1,100}")  # the service model's pattern, [\w.-]+
_MAX_REF_LENGTH = 1024


def _require(mapping: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    """Return ``mapping[key]`` if it has the expected type, else explain what is wrong.

    A string comes back scrubbed (:func:`handler.mrkdwn.scrub`): no lone surrogates, no control
    characters but tab and newline.
    """
    if key not in mapping:
        raise UnprocessableEvent(f"{where} has no '{key}'")
    value = mapping[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UnprocessableEvent(f"{where}.{key} should be {kind.__name__}, got {type(value).__name__}")
    if isinstance(value, str):
        return scrub(value)
    return value


def _optional(mapping: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    """Like :func:`_require` but a missing or null field gives None."""
    if mapping.get(key) is None:
        return None
    return _require(mapping, key, kind, where)


class TriggerReference:
    """One entry of ``codecommit.references``: a ref name, a commit id and created/deleted flags."""

    def __init__(self, raw: Mapping[str, Any], where: str) -> None:
        self.raw_event = raw
        self._where = where

    @property
    def ref(self) -> str:
        """The full reference name, ``refs/heads/feature/x`` or ``refs/tags/v1.0``."""
        value: str = _require(self.raw_event, "ref", str, self._where)
        if not value.strip() or len(value) > _MAX_REF_LENGTH:
            raise UnprocessableEvent(f"{self._where}.ref is empty or longer than {_MAX_REF_LENGTH}")
        return value

    @property
    def commit(self) -> str | None:
        """The commit id the ref points at (its last tip when deleted); None when absent or zero."""
        value: str | None = _optional(self.raw_event, "commit", str, self._where)
        value = None if value is None else value.strip()
        if not value or ZERO_COMMIT.fullmatch(value):
            return None
        return value

    @property
    def created(self) -> bool:
        """True when the push created the ref (the field is absent, not false, on updates)."""
        return _optional(self.raw_event, "created", bool, self._where) is True

    @property
    def deleted(self) -> bool:
        """True when the push deleted the ref."""
        return _optional(self.raw_event, "deleted", bool, self._where) is True


class TriggerRecord:
    """One element of a trigger message's ``Records``."""

    def __init__(self, raw: Mapping[str, Any], where: str, message_id: str = "") -> None:
        self.raw_event = raw
        self.where = where
        self._message_id = message_id

    @property
    def delivery_key(self) -> str:
        """What identifies this push across redeliveries *and* across triggers: ``push:<digest>``.

        The digest is of what the push did, as CodeCommit wrote it: the repository, the event's time
        (to the millisecond), who pushed, the part number, and every reference with its commit and
        flags. An SNS redelivery has the same; so does the same push published by a second trigger
        (for a while after ``repositories`` switches between a list and ``"*"``, a repository carries
        both), which a message id alone would take for a new push and post twice.

        Without an ``eventTime`` (a hand-made event) it falls back to the SNS ``MessageId`` (or, for a
        trigger that invokes Lambda directly, the record's ``eventId``) plus the record's index; empty
        when neither exists: such a record is posted without a redelivery guard.
        """
        raw = self.raw_event
        event_time, source, body = raw.get("eventTime"), raw.get("eventSourceARN"), raw.get("codecommit")
        listed = body.get("references") if isinstance(body, dict) else None
        references: list[Any] | None = listed if isinstance(listed, list) else None
        if isinstance(event_time, str) and event_time and isinstance(source, str) and references is not None:
            what = [
                source,
                event_time,
                raw.get("userIdentityARN"),
                raw.get("eventPartNumber"),
                [
                    [entry.get(key) for key in ("ref", "commit")]
                    + [entry.get(flag) is True for flag in ("created", "deleted")]
                    if isinstance(entry, dict)
                    else None
                    for entry in references
                ],
            ]
            digest = hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()
            return f"push:{digest[:40]}"
        message = self._message_id or (f"trigger:{self.event_id}" if self.event_id else "")
        if not message:
            return ""
        index = self.where.rsplit("[", 1)[-1].rstrip("]")
        return f"{message[:128]}#{index}"

    @property
    def event_source(self) -> str:
        """``aws:codecommit`` for every record CodeCommit sends."""
        return str(_require(self.raw_event, "eventSource", str, self.where))

    @property
    def event_name(self) -> str:
        """``ReferenceChanges`` for pushes, ``TriggerEventTest`` for the console's Test trigger."""
        return str(_optional(self.raw_event, "eventName", str, self.where) or "")

    @property
    def event_source_arn(self) -> str:
        """``arn:<partition>:codecommit:<region>:<account>:<repository>``."""
        return str(_require(self.raw_event, "eventSourceARN", str, self.where))

    @property
    def user_identity_arn(self) -> str:
        """The IAM identity that pushed."""
        return str(_optional(self.raw_event, "userIdentityARN", str, self.where) or "")

    @property
    def event_id(self) -> str:
        """A unique id per trigger event."""
        return str(_optional(self.raw_event, "eventId", str, self.where) or "")

    @property
    def event_time(self) -> str:
        """When the push happened, e.g. ``2021-02-08T08:53:15.172+0000``."""
        return str(_optional(self.raw_event, "eventTime", str, self.where) or "")

    @property
    def trigger_name(self) -> str:
        """The trigger's configured name."""
        return str(_optional(self.raw_event, "eventTriggerName", str, self.where) or "")

    @property
    def custom_data(self) -> str | None:
        """The trigger's custom data string (null, empty or up to 1,000 characters)."""
        value: str | None = _optional(self.raw_event, "customData", str, self.where)
        return value or None

    @property
    def references(self) -> Iterator[TriggerReference]:
        """Every reference the record carries; a Test trigger may carry none."""
        codecommit = _require(self.raw_event, "codecommit", dict, self.where)
        refs = _require(codecommit, "references", list, f"{self.where}.codecommit")
        for index, ref in enumerate(refs):
            where = f"{self.where}.codecommit.references[{index}]"
            if not isinstance(ref, dict):
                raise UnprocessableEvent(f"{where} should be an object, got {type(ref).__name__}")
            yield TriggerReference(ref, where)


def iter_trigger_records(event: Any) -> Iterator[TriggerRecord | Dropped]:
    """Yield every trigger record in a Lambda event, or a :class:`Dropped` for each unusable part.

    One bad SNS record does not stop the others: each is judged on its own.
    """
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
        yield Dropped("event", "not an SNS or CodeCommit event: no 'Records' list")
        return
    if not event["Records"]:
        yield Dropped("event", "the event's 'Records' list is empty")
        return
    for index, record in enumerate(event["Records"]):
        where = f"Records[{index}]"
        if not isinstance(record, dict):
            yield Dropped(where, f"should be an object, got {type(record).__name__}")
        elif isinstance(record.get("Sns"), dict):
            yield from _records_in_sns_message(record["Sns"], f"{where}.Sns")
        elif record.get("eventSource") == CODECOMMIT_SOURCE:
            yield TriggerRecord(record, where)
        else:
            source = record.get("EventSource") or record.get("eventSource") or "unknown"
            yield Dropped(where, f"not from SNS or CodeCommit (source {str(source)[:80]!r})")


def _records_in_sns_message(sns: Mapping[str, Any], where: str) -> Iterator[TriggerRecord | Dropped]:
    message = sns.get("Message")
    if not isinstance(message, str):
        yield Dropped(where, "has no 'Message' string")
        return
    try:
        decoded = json.loads(message)
    except json.JSONDecodeError as error:
        what = error.msg.removesuffix(" at")  # "Unterminated string starting at", "at" said once below
        yield Dropped(where, f"'Message' is not JSON ({what}, at character {error.pos})")
        return
    except RecursionError:
        yield Dropped(where, "'Message' is JSON nested too deeply to be a trigger message")
        return
    except ValueError as error:  # e.g. an integer longer than Python's 4,300-digit conversion limit
        yield Dropped(where, f"'Message' can't be read as a trigger message ({str(error)[:80]})")
        return
    if not isinstance(decoded, dict) or not isinstance(decoded.get("Records"), list):
        yield Dropped(where, "'Message' is not a CodeCommit trigger message: no 'Records' list")
        return
    if not decoded["Records"]:
        yield Dropped(where, "'Message' has an empty 'Records' list")
        return
    message_id = sns.get("MessageId")
    message_id = f"sns:{message_id.strip()}" if isinstance(message_id, str) and message_id.strip() else ""
    for index, record in enumerate(decoded["Records"]):
        record_where = f"{where}.Message.Records[{index}]"
        if not isinstance(record, dict):
            yield Dropped(record_where, f"should be an object, got {type(record).__name__}")
        elif record.get("eventSource") != CODECOMMIT_SOURCE:
            source = str(record.get("eventSource", "missing"))[:80]
            yield Dropped(record_where, f"eventSource is {source!r}, not {CODECOMMIT_SOURCE!r}")
        else:
            yield TriggerRecord(record, record_where, message_id)


def parse_push(record: TriggerRecord) -> Push:
    """Turn one trigger record into a :class:`Push`.

    A malformed reference is logged and left out; the record's other references are kept.

    Raises:
        UnprocessableEvent: the record cannot be used (bad ARN, no usable references, a malformed
            field the whole record depends on).
    """
    repository = parse_repository_arn(record.event_source_arn)
    ref_changes = []
    for reference in record.references:
        try:
            ref_changes.append(parse_ref_change(reference))
        except UnprocessableEvent as error:
            log.warning("dropped a reference of %s: %s", record.where, error)
    is_test = record.event_name == TEST_TRIGGER_EVENT
    if not ref_changes:
        kind = "a console Test trigger" if is_test else "a trigger record"
        raise UnprocessableEvent(f"{kind} with no usable references for {repository.name}: nothing to say")
    return Push(
        repository=repository,
        pusher=parse_pusher(record.user_identity_arn),
        ref_changes=tuple(ref_changes),
        event_time=parse_event_time(record.event_time),
        event_id=record.event_id,
        trigger_name=record.trigger_name,
        is_test=is_test,
        custom_data=record.custom_data,
        delivery_key=record.delivery_key,
    )


def parse_repository_arn(arn: str) -> Repository:
    """Split ``arn:aws:codecommit:us-east-1:123456789012:my-repo`` into a :class:`Repository`."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "codecommit":
        raise UnprocessableEvent(f"eventSourceARN {arn[:200]!r} is not a CodeCommit repository ARN")
    _, partition, _, region, account, name = parts
    if not _PARTITION.fullmatch(partition) or not _REGION.fullmatch(region):
        raise UnprocessableEvent(f"eventSourceARN {arn[:200]!r} has an invalid partition or region")
    if not _REPOSITORY_NAME.fullmatch(name) or name in (".", ".."):
        raise UnprocessableEvent(f"eventSourceARN {arn[:200]!r} has an invalid repository name")
    return Repository(name=name, region=region, account=account, partition=partition)


def parse_ref_change(reference: TriggerReference) -> RefChange:
    """Classify one reference: branch or tag (full names with slashes kept), and what happened."""
    full_name = reference.ref
    kind, short_name = RefKind.OTHER, full_name
    for prefix, prefix_kind in (("refs/heads/", RefKind.BRANCH), ("refs/tags/", RefKind.TAG)):
        if full_name.startswith(prefix) and len(full_name) > len(prefix):
            kind, short_name = prefix_kind, full_name[len(prefix) :]
    if reference.deleted:
        action = RefAction.DELETED
    elif reference.created:
        action = RefAction.CREATED
    else:
        action = RefAction.UPDATED
    commit_id = reference.commit
    if commit_id is not None and not _COMMIT_ID.fullmatch(commit_id):
        commit_id = commit_id[:80]  # kept for display only; enrich will not look it up
    return RefChange(full_name, kind, short_name, action, commit_id)


def is_lookup_safe_commit_id(commit_id: str) -> bool:
    """True for ids that look like a (possibly abbreviated) hex SHA-1 or SHA-256."""
    return bool(_COMMIT_ID.fullmatch(commit_id))


#: What CodeCommit sends (``2021-02-08T08:53:15.172+0000``): seconds, an optional fraction, an offset.
_EVENT_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2})")


def parse_event_time(value: str) -> datetime | None:
    """Parse ``2021-02-08T08:53:15.172+0000`` (with or without fraction); None if unreadable.

    ``fromisoformat`` behind a shape check, not ``strptime``: the first ``strptime`` of a process
    imports ``_strptime`` and builds its locale tables, a few milliseconds of every cold start.
    """
    if not isinstance(value, str) or not _EVENT_TIME.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def parse_event(event: Any) -> Iterator[Push]:
    """Yield a :class:`Push` per usable trigger record; log one line for every dropped part."""
    return parse_each(iter_trigger_records(event), parse_push, _log_dropped)


def _log_dropped(dropped: Dropped) -> None:
    log.warning("dropped %s: %s", dropped.where, dropped.reason)
