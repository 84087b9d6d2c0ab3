"""Deliver: one sender per destination, whatever carries its messages.

=====================  ==========================================  ===========================
destination type       sender                                      can thread, edit, DM
=====================  ==========================================  ===========================
``slack-webhook``      :class:`WebhookSender` (Slack's answers)    no
``mattermost-webhook`` :class:`WebhookSender` (Mattermost's)       no
``slack-app``          :class:`AppSender` (``chat.postMessage``)   yes
``default``            :class:`WebhookSender`, flavour from        no
                       ``DESTINATION_FLAVOR`` or the URL
=====================  ==========================================  ===========================

Both re-read the secret once after a refusal that a rotated secret explains (a webhook's 403,
404 or 410; an app's ``invalid_auth``, ``token_revoked`` and the like), so rotating a URL or a
token needs no redeploy. :class:`Senders` makes each sender on first use and keeps it for the
container's life, so connections are reused and the secret is read once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from handler.deadline import Deadline
from handler.deliver.destinations import DEFAULT, DEFAULT_DESTINATION, Destination, DestinationType, Flavor
from handler.deliver.webhook import SlackWebhook, import_requests
from handler.errors import ConfigurationError, DeliveryRefused

if TYPE_CHECKING:
    from collections.abc import Mapping

    from handler.deliver.slack_app import SlackApp
    from handler.deliver.webhook_url import DestinationSecrets

log = logging.getLogger(__name__)


class DeliverySettings(Protocol):
    """What the senders need of the settings (``handler.settings.Settings`` has it all): declared
    here, so this room needs nothing from the settings module, which imports it."""

    @property
    def destinations(self) -> Mapping[str, Destination]:
        """The destinations declared in ``DESTINATIONS``, by name."""
        ...

    @property
    def slack_timeout_seconds(self) -> float:
        """How long one HTTP attempt may take."""
        ...

    @property
    def delivery_max_attempts(self) -> int:
        """How many attempts one post may take."""
        ...


#: A webhook's answers that a rotated URL explains.
AUTH_TYPE_STATUSES = frozenset({403, 404, 410})


@dataclass(frozen=True)
class Sent:
    """What one post took, and where it landed when the sender can tell (app mode)."""

    attempts: int = 1
    channel_id: str | None = None
    ts: str | None = None
    rate_limited: int = 0


def to_each(names: Iterable[str], deliver: Callable[[str], int], *, failed: list[str] | None = None) -> int:
    """Run ``deliver(name)`` for every destination; return the sum of what it returned.

    ``failed``, when given, gets the name of every destination that failed (for the outcome line
    and the metrics), before the first failure is raised.

    One destination that fails never keeps the others from theirs: each is tried, a failure is
    logged, and the first one is raised after all were tried (so Lambda retries the event, and
    the per-destination marks the callers keep make the retry post only what is missing).
    """
    total = 0
    failures: list[Exception] = []
    for name in names:
        try:
            total += deliver(name)
        except Exception as error:  # the other destinations still get theirs; raised below
            log.error("delivery to %s failed: %s: %s", name, type(error).__name__, error)
            failures.append(error)
            if failed is not None:
                failed.append(name)
    if failures:
        raise failures[0]
    return total


class WebhookSender:
    """A Slack or Mattermost incoming webhook: the URL from the secret, one client per URL."""

    def __init__(
        self, destination: Destination, secrets: DestinationSecrets, settings: DeliverySettings
    ) -> None:
        self.destination = destination
        self._secrets = secrets
        self._settings = settings
        self._clients: dict[str, SlackWebhook] = {}

    @property
    def flavor(self) -> Flavor:
        return self._secrets.flavor_for(self.destination)

    def client(self) -> SlackWebhook:
        """The webhook client for the current URL (one per URL, so connections are reused)."""
        url = self._secrets.secret_for(self.destination)
        if url not in self._clients:
            self._clients[url] = SlackWebhook(
                url,
                timeout_seconds=self._settings.slack_timeout_seconds,
                max_attempts=self._settings.delivery_max_attempts,
                flavor=self.flavor.value,
            )
        return self._clients[url]

    def post(self, payload: dict[str, Any], deadline: Deadline, *, thread_ts: str | None = None) -> Sent:
        """Send; after an auth-type refusal re-read the secret once in case it was rotated."""
        try:
            receipt = self.client().send(payload, deadline=deadline)
        except DeliveryRefused as refused:
            if refused.status not in AUTH_TYPE_STATUSES or not self._secrets.refresh(self.destination):
                raise
            log.warning(
                "%s: webhook refused with HTTP %s; the secret changed, retrying once",
                self.destination.name,
                refused.status,
            )
            receipt = self.client().send(payload, deadline=deadline)
        return Sent(receipt.attempts, rate_limited=receipt.rate_limited)


class AppSender:
    """A Slack app's bot in the destination's channel: threads, edits and direct messages."""

    flavor = Flavor.SLACK

    def __init__(
        self,
        destination: Destination,
        secrets: DestinationSecrets,
        settings: DeliverySettings,
        *,
        api_url: str | None = None,
    ) -> None:
        self.destination = destination
        self._secrets = secrets
        self._settings = settings
        self._api_url = api_url
        self._apps: dict[str, SlackApp] = {}

    @property
    def channel(self) -> str:
        if not self.destination.channel:  # parse_destinations requires one; a hand-made one may not
            raise ConfigurationError(
                f"destination {self.destination.name!r} is a slack-app without a channel"
            )
        return self.destination.channel

    def app(self) -> SlackApp:
        """The Web API client for the current token (slack_sdk is imported here, on first use)."""
        from handler.deliver.slack_app import SlackApp

        token = self._secrets.secret_for(self.destination)
        if token not in self._apps:
            self._apps[token] = SlackApp(
                token,
                base_url=self._api_url,
                timeout_seconds=self._settings.slack_timeout_seconds,
                max_attempts=self._settings.delivery_max_attempts,
            )
        return self._apps[token]

    def post(self, payload: dict[str, Any], deadline: Deadline, *, thread_ts: str | None = None) -> Sent:
        """``chat.postMessage`` to the channel, in ``thread_ts``'s thread when given."""
        posted = self._rotating(
            lambda app: app.post(self.channel, payload, thread_ts=thread_ts, deadline=deadline)
        )
        return Sent(1, posted.channel_id, posted.ts)

    def update(self, channel_id: str, ts: str, payload: dict[str, Any], deadline: Deadline) -> None:
        """``chat.update`` a message this app posted.

        Raises:
            MessageGone: it was deleted or cannot be edited any more.
        """
        self._rotating(lambda app: app.update(channel_id, ts, payload, deadline=deadline))

    def direct_message(self, user_id: str, payload: dict[str, Any], deadline: Deadline) -> Sent:
        """Post to the person's direct conversation with the app."""
        posted = self._rotating(lambda app: app.direct_message(user_id, payload, deadline=deadline))
        return Sent(1, posted.channel_id, posted.ts)

    def _rotating(self, call: Any) -> Any:
        from handler.deliver.slack_app import CREDENTIAL_ERRORS
        from handler.errors import SlackApiRefused

        try:
            return call(self.app())
        except SlackApiRefused as refused:
            if refused.error not in CREDENTIAL_ERRORS or not self._secrets.refresh(self.destination):
                raise
            log.warning(
                "%s: Slack answered %s; the token changed, retrying once",
                self.destination.name,
                refused.error,
            )
            return call(self.app())


class Senders:
    """Every destination's sender, made on first use: ``default`` and those in ``DESTINATIONS``."""

    def __init__(
        self, settings: DeliverySettings, secrets: DestinationSecrets, *, slack_api_url: str | None = None
    ) -> None:
        self._settings = settings
        self.secrets = secrets
        self._slack_api_url = slack_api_url
        self._senders: dict[str, WebhookSender | AppSender] = {}

    def ready_webhook_client(self) -> None:
        """Import ``requests`` now if a webhook may be posted to (a default URL or secret, or a
        webhook in ``DESTINATIONS``): the push pipeline calls this while its reads finish on other
        threads, so the post does not wait for the import (about 16 ms of a cold start). It reads
        no secret and makes no client; an app-only configuration imports nothing."""
        declared = self._settings.destinations.values()
        if self.secrets.may_have_default() or any(destination.type.is_webhook for destination in declared):
            import_requests()

    def has_default(self) -> bool:
        """Whether the ``default`` destination is configured (events no route matches go there)."""
        return self.secrets.has_default()

    def destination(self, name: str) -> Destination:
        if name == DEFAULT_DESTINATION:
            return DEFAULT
        try:
            return self._settings.destinations[name]
        except KeyError:
            raise ConfigurationError(
                f"no destination named {name!r}: declare it in DESTINATIONS (CDK context destinations)"
            ) from None

    def get(self, name: str) -> WebhookSender | AppSender:
        """The sender for the destination called ``name``."""
        if name not in self._senders:
            destination = self.destination(name)
            if destination.type is DestinationType.SLACK_APP:
                self._senders[name] = AppSender(
                    destination, self.secrets, self._settings, api_url=self._slack_api_url
                )
            else:
                self._senders[name] = WebhookSender(destination, self.secrets, self._settings)
        return self._senders[name]
