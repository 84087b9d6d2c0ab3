"""One structured log line per part of an event (a push, a pull-request activity, a dropped part),
so operators can search outcomes instead of reading prose; each also counts in the metrics.

The deployed function uses Lambda's JSON log format (the function's ``LoggingConfig`` sets
``LogFormat: JSON``). Under it the Python runtime formats every record as one JSON object and
copies each attribute passed in ``extra=`` to a top-level key, next to ``timestamp``, ``level``,
``message``, ``logger`` and ``requestId``; keys whose value is None are left out. So
:func:`log_outcome` passes its fields as ``extra`` and never formats JSON itself, which keeps the
handler free of a logging library: Powertools' Logger (3.37) took about 45 ms more to import than
``logging`` and ``json`` alone (``python -X importtime``, median of 7 runs), on every cold start,
for a formatter the runtime already provides.

Where the runtime does not format JSON (the Text log format, tests, a local run),
:func:`configure_logging` installs :class:`JsonLineFormatter`, which writes the same keys, so a
query written against CloudWatch works on any of them.

The outcome line's keys are stable (see the README's "Troubleshooting")::

    outcome       delivered | dropped | duplicate | filtered | late | raised
    source        codecommit (more sources as they land)
    kind          push | pull_request | comment | approval | … (the part's kind; "" when unknown)
    event_id      the trigger record's eventId, or the EventBridge event's id ("" when unreadable)
    repository    the repository's name ("" when unknown)
    pull_request  the pull request's id ("" for pushes)
    destinations  where it was posted (delivered) or failed (raised); [] otherwise
    refs          full reference names, e.g. ["refs/heads/main"]
    commits       the commit ids the trigger gave
    reason        why it was dropped or raised ("" when delivered)
    error_class   the exception's class name when raised ("" otherwise)
    attempts      HTTP requests made to Slack (0 when nothing was sent)
    unavailable   [{"ref": ..., "commit": ..., "reason": ...}] for commits that could not be read

No field ever holds the webhook URL: the delivery errors that end up in ``reason`` are redacted
where they are raised (``handler.deliver.webhook``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from handler.metrics import Metrics
from handler.model import Notification, Push
from handler.settings import apply_log_level

__all__ = [
    "OUTCOME_LOGGER",
    "JsonLineFormatter",
    "Outcome",
    "configure_logging",
    "log_outcome",
    "log_push_outcome",
]

Outcome = Literal["delivered", "dropped", "duplicate", "filtered", "late", "raised"]

#: The logger every outcome line is written to (``logger`` in the JSON record).
OUTCOME_LOGGER = "handler.outcome"
_LEVELS: dict[str, int] = {
    "delivered": logging.INFO,
    "duplicate": logging.INFO,
    "late": logging.INFO,
    "filtered": logging.INFO,  # ROUTES said so: nothing to act on
    "dropped": logging.WARNING,
    "raised": logging.ERROR,
}
#: LogRecord attributes that are not ``extra`` fields (the runtime's JSON formatter skips the same).
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "aws_request_id",
    "_frame_type",
}
log = logging.getLogger(OUTCOME_LOGGER)


class JsonLineFormatter(logging.Formatter):
    """Formats a record the way Lambda's JSON log format does: one object, ``extra`` at top level."""

    def format(self, record: logging.LogRecord) -> str:
        """Return one line of JSON for ``record``."""
        document: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        request_id = getattr(record, "aws_request_id", None)
        if request_id:
            document["requestId"] = request_id
        if record.exc_info and record.exc_info[0] is not None:
            document["errorType"] = record.exc_info[0].__name__
            document["stackTrace"] = self.formatException(record.exc_info).splitlines()
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in document and value is not None:
                document[key] = value
        return json.dumps(document, ensure_ascii=False, default=str)


def configure_logging(environ: Mapping[str, str]) -> None:
    """Set the level from ``LOG_LEVEL`` and make sure every line is JSON, once per container.

    Under ``AWS_LAMBDA_LOG_FORMAT=JSON`` the runtime's own handler already writes JSON with the
    ``extra`` fields, so only the level is set. Otherwise the root logger's handlers (the
    runtime's text handler on Lambda; a new stderr handler elsewhere) get
    :class:`JsonLineFormatter`.
    """
    root = logging.getLogger()
    apply_log_level(environ.get("LOG_LEVEL", "INFO"), root)
    if environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON":
        return
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(JsonLineFormatter())


def log_outcome(
    *,
    outcome: Outcome,
    source: str = "codecommit",
    kind: str = "",
    event_id: str = "",
    repository: str = "",
    pull_request: str = "",
    destinations: Sequence[str] = (),
    refs: Sequence[str] = (),
    commits: Sequence[str] = (),
    reason: str = "",
    error_class: str = "",
    attempts: int = 0,
    unavailable: Sequence[Mapping[str, str]] = (),
    metrics: Metrics | None = None,
) -> None:
    """Write the one line that says what became of a part of an event, and count it in ``metrics``.

    Delivered and duplicate parts are logged at INFO, drops at WARNING, raised errors at ERROR,
    so ``LOG_LEVEL=WARNING`` keeps exactly the lines someone may have to act on. Every line has
    every key, whatever the source.
    """
    fields: dict[str, Any] = {
        "outcome": outcome,
        "source": source,
        "kind": kind,
        "event_id": event_id,
        "repository": repository,
        "pull_request": pull_request,
        "destinations": list(destinations),
        "refs": list(refs),
        "commits": list(commits),
        "reason": reason,
        "error_class": error_class,
        "attempts": attempts,
        "unavailable": [dict(entry) for entry in unavailable],
    }
    summary = f"{outcome}: {repository or 'an event'}"
    if pull_request:
        summary += f" pull request {pull_request}"
    if refs:
        summary += " " + ", ".join(refs[:3]) + (f" and {len(refs) - 3} more" if len(refs) > 3 else "")
    if reason:
        summary += f" ({reason})"
    log.log(_LEVELS[outcome], "%s", summary, extra=fields)
    if metrics is not None:
        metrics.outcome(outcome, source, destinations, repository=repository)


def log_push_outcome(
    push: Push,
    outcome: Outcome,
    *,
    notification: Notification | None = None,
    attempts: int = 0,
    error: BaseException | None = None,
    reason: str = "",
    destinations: Sequence[str] = (),
    metrics: Metrics | None = None,
) -> None:
    """:func:`log_outcome` for a parsed push; ``notification`` adds the commits that were unavailable."""
    unavailable = []
    if notification is not None:
        for report in notification.reports:
            if report.commit_error:
                unavailable.append(
                    {
                        "ref": report.ref_change.full_name,
                        "commit": report.ref_change.commit_id or "",
                        "reason": report.commit_error,
                    }
                )
            for diff in report.parent_diffs:
                if diff.error:
                    unavailable.append(
                        {
                            "ref": report.ref_change.full_name,
                            "commit": report.ref_change.commit_id or "",
                            "reason": f"changes against {diff.parent_id or 'nothing'}: {diff.error}",
                        }
                    )
    log_outcome(
        outcome=outcome,
        kind="push",
        event_id=push.event_id,
        repository=push.repository.name,
        destinations=destinations,
        metrics=metrics,
        refs=[change.full_name for change in push.ref_changes],
        commits=[change.commit_id for change in push.ref_changes if change.commit_id],
        reason=reason or (str(error) if error is not None else ""),
        error_class=type(error).__name__ if error is not None else "",
        attempts=attempts or int(getattr(error, "attempts", 0) or 0),
        unavailable=unavailable,
    )
