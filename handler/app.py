"""The Lambda entry point, ``handler.app.lambda_handler``, and the pipeline every caller shares.

::

    event ──parse──► Push ──enrich──► Notification ──render──► payload ──deliver──► Slack
          (events)        (CodeCommit       (pure)                  (bounded
                           or local git)                             retries)

:func:`process_event` is that pipeline. The Lambda handler calls it with a :class:`Runtime` that
reads CodeCommit through boto3 and finds the webhook in Secrets Manager; ``python -m handler``
and ``make demo`` call it with a runtime that reads a local git repository instead. Nothing else
differs between them.

Outcomes (DESIGN.md): poison is logged and dropped; a push whose commit can't be read is still
posted with what is known; every other failure raises, so Lambda retries the event and the
dead-letter queue keeps it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from handler.deliver import Deadline, DeliveryReceipt, SlackWebhook
from handler.enrich import enrich
from handler.errors import DeliveryRefused
from handler.events import parse_event
from handler.model import Repository
from handler.pull_requests import lazy_aws_runtime
from handler.reader import CodeCommitReader, CommitReader, botocore_config
from handler.render import render
from handler.settings import Settings
from handler.sources import is_eventbridge_event
from handler.webhook_url import WebhookUrlSource

if TYPE_CHECKING:
    from handler.pull_requests.pipeline import PullRequestRuntime

log = logging.getLogger("handler")
AUTH_TYPE_STATUSES = frozenset({403, 404, 410})


@dataclass
class Runtime:
    """The I/O edges of the pipeline: where commits are read and where messages go."""

    settings: Settings
    reader_for: Callable[[Repository], CommitReader]
    webhook_url: WebhookUrlSource
    #: Pull-request events' reader and state, or a factory for them (None: read nothing from AWS).
    pull_requests: PullRequestRuntime | Callable[[], PullRequestRuntime] | None = None
    _webhooks: dict[str, SlackWebhook] = field(default_factory=dict)

    def webhook(self) -> SlackWebhook:
        """The webhook client for the current URL (one per URL, so connections are reused)."""
        url = self.webhook_url.get()
        if url not in self._webhooks:
            self._webhooks[url] = SlackWebhook(
                url,
                timeout_seconds=self.settings.slack_timeout_seconds,
                max_attempts=self.settings.delivery_max_attempts,
            )
        return self._webhooks[url]

    def deliver(self, payload: dict[str, Any], deadline: Deadline) -> DeliveryReceipt:
        """Send, and after an auth-type refusal re-read the secret once in case it was rotated."""
        try:
            return self.webhook().send(payload, deadline=deadline)
        except DeliveryRefused as refused:
            if refused.status not in AUTH_TYPE_STATUSES or not self.webhook_url.refresh():
                raise
            log.warning("webhook refused with HTTP %s; the secret changed, retrying once", refused.status)
            return self.webhook().send(payload, deadline=deadline)


def process_event(event: Any, runtime: Runtime, deadline: Deadline) -> dict[str, int]:
    """Run the pipeline over one event; return counts of what was posted.

    All pushes in the event are read and rendered before the first one is posted, so a failure
    while reading CodeCommit never leaves a half-delivered event behind.
    """
    if is_eventbridge_event(event):  # pull requests, comments, approvals: handler/pull_requests/
        from handler.pull_requests.pipeline import process_pull_request_event

        return process_pull_request_event(event, runtime, deadline)
    settings = runtime.settings
    payloads = []
    for push in parse_event(event):
        reader = runtime.reader_for(push.repository)
        notification = enrich(push, reader, max_refs=settings.render.max_refs)
        payloads.append((push, render(notification, settings.render)))
    for push, payload in payloads:
        receipt = runtime.deliver(payload, deadline)
        log.info(
            "delivered %s push to %s (%d reference(s)) in %d attempt(s)",
            "test" if push.is_test else "a",
            push.repository.name,
            len(push.ref_changes),
            receipt.attempts,
        )
    return {"delivered": len(payloads)}


_lambda_runtime: Runtime | None = None


def aws_runtime(settings: Settings) -> Runtime:
    """The runtime the deployed function uses: CodeCommit via boto3, webhook from the environment."""
    import boto3  # imported here so the local preview and the demo never need AWS credentials

    clients: dict[tuple[str, str | None], Any] = {}
    config = botocore_config(
        max_attempts=settings.codecommit_max_attempts, read_timeout=settings.codecommit_timeout_seconds
    )

    def client(service: str, region: str | None) -> Any:
        if (service, region) not in clients:
            clients[(service, region)] = boto3.client(service, region_name=region, config=config)
        return clients[(service, region)]

    return Runtime(
        settings=settings,
        reader_for=lambda repository: CodeCommitReader(
            client("codecommit", repository.region), repository.name
        ),
        webhook_url=WebhookUrlSource(
            url=settings.webhook_url,
            secret_arn=settings.webhook_secret_arn,
            secrets_client=lambda region: client("secretsmanager", region),
        ),
        pull_requests=lazy_aws_runtime(os.environ, client),
    )


def _set_log_level(name: str) -> None:
    level = logging.getLevelName(name.strip().upper())
    logging.getLogger().setLevel(level if isinstance(level, int) else logging.INFO)


def lambda_handler(event: Any, context: Any) -> dict[str, int]:
    """Entry point for the SNS-subscribed function (handler string ``handler.app.lambda_handler``)."""
    global _lambda_runtime  # noqa: PLW0603 (one runtime per warm container: cached clients and secret)
    if _lambda_runtime is None:
        _set_log_level(os.environ.get("LOG_LEVEL", "INFO"))
        _lambda_runtime = aws_runtime(Settings.from_environ(os.environ))
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return process_event(event, _lambda_runtime, Deadline(remaining))
