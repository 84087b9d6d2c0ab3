"""Exceptions raised by the notifier, and what each one means for the event that caused it.

The handler sorts every failure into one of three outcomes (the README's "Reliability" says the same)::

    NotifierError
    ├── UnprocessableEvent      poison: malformed or foreign input; logged and dropped, never retried
    ├── CommitUnavailable       a commit that cannot be read; tolerated, the message says what is known
    │   └── DiffTruncated       the time ran out while reading a diff; carries what was read
    ├── ConfigurationError      the deployment is wrong (no webhook, bad URL, bad setting); raised
    ├── RepositoryReadError     CodeCommit failed after bounded retries; raised so Lambda retries
    │   └── ReadDeadlineReached the invocation's time ran out before a read could start
    ├── DeadlineReached         any other AWS call (state, secrets, parameters) had no time left
    └── DeliveryError           Slack did not take the message; raised so the event is kept
        ├── DeliveryRefused     a permanent refusal (404/410/403, invalid_payload): not retried here
        │   └── SlackApiRefused the Web API answered an error code (not_in_channel, invalid_auth, ...)
        │       └── MessageGone chat.update found no message to edit: post a new one instead
        └── DeliveryExhausted   transient failures (429, 5xx, timeouts) outlived the retry budget

Anything raised out of ``lambda_handler`` makes Lambda retry the event asynchronously and, when
those retries are spent, hands it to the on-failure destination (the dead-letter queue), from
which it can be redriven once the cause is fixed.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CommitUnavailable",
    "ConfigurationError",
    "DeadlineReached",
    "DeliveryError",
    "DeliveryExhausted",
    "DeliveryRefused",
    "DiffTruncated",
    "MessageGone",
    "NotifierError",
    "ReadDeadlineReached",
    "RepositoryReadError",
    "SlackApiRefused",
    "UnprocessableEvent",
]


class NotifierError(Exception):
    """Base class of every error this package raises on purpose."""


class UnprocessableEvent(NotifierError):
    """The event is not a CodeCommit trigger message we can use; it is dropped with this reason."""


class CommitUnavailable(NotifierError):
    """A commit id that the repository cannot resolve to a commit (unknown, gone, or a tag object)."""

    def __init__(self, commit_id: str, reason: str) -> None:
        super().__init__(f"commit {commit_id}: {reason}")
        self.commit_id = commit_id
        self.reason = reason


class DiffTruncated(CommitUnavailable):
    """The invocation's time ran out part way through a commit's changes against one parent.

    Attributes:
        changes: the changes read before the time ran out (possibly none), in the service's order.
    """

    def __init__(self, commit_id: str, reason: str, changes: tuple[Any, ...]) -> None:
        super().__init__(commit_id, reason)
        self.changes = changes


class ConfigurationError(NotifierError):
    """The function is configured wrongly; the message says which setting to fix."""


class RepositoryReadError(NotifierError):
    """Reading CodeCommit failed in a way retries inside this invocation did not fix."""


class ReadDeadlineReached(RepositoryReadError):
    """A CodeCommit call (or a retry of one) would not have finished before the invocation's deadline."""


class DeliveryError(NotifierError):
    """The Slack webhook did not accept the message."""

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts


class DeliveryRefused(DeliveryError):
    """Slack refused the message for a reason that retrying the same request cannot fix."""


class SlackApiRefused(DeliveryRefused):
    """Slack's Web API refused a call with an error code (``error``) that retrying cannot fix."""

    def __init__(self, message: str, *, error: str, status: int | None = None, attempts: int = 0) -> None:
        super().__init__(message, status=status, attempts=attempts)
        self.error = error


class MessageGone(SlackApiRefused):
    """``chat.update`` cannot edit the message (deleted, or not the app's): post it anew instead."""


class DeliveryExhausted(DeliveryError):
    """Transient delivery failures outlasted the attempts or the time this invocation has left."""


class DeadlineReached(NotifierError):
    """An AWS call (DynamoDB, Secrets Manager, SSM, CodeCommit's pull requests) was not attempted:
    with the time its attempt may take, it could have outlived the invocation. Raised so Lambda
    retries the event whole, rather than being killed part way through a write or a post."""
