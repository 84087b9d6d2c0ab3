"""Destinations: where messages go (``DESTINATIONS``), their flavour, and the secret map behind them.

``DESTINATIONS`` holds the non-secret part, one JSON object of name → settings::

    {"payments":    {"type": "slack-webhook"},
     "platform-mm": {"type": "mattermost-webhook"},
     "reviews":     {"type": "slack-app", "channel": "C0123456789", "direct_messages": true, "secret": "bot"}}

The secret part (webhook URLs, bot tokens) lives in the one Secrets Manager secret
(``SLACK_WEBHOOK_SECRET_ARN``), as a :class:`SecretMap`: a plain URL (the default webhook, as
before), ``{"webhook_url": ...}`` (the same), or an object of key → URL or token. Each destination
reads the key its ``secret`` names (its own name by default). The name ``default`` is reserved for
the existing default webhook; its flavour comes from :func:`detect_flavor`.

Secret values never appear in an error message: problems name the key, never the value.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from handler.errors import ConfigurationError
from handler.problems import DocumentError, Problems, describe, did_you_mean, path_of

__all__ = [
    "DEFAULT",
    "DEFAULT_DESTINATION",
    "Destination",
    "DestinationError",
    "DestinationMap",
    "DestinationType",
    "Flavor",
    "SecretMap",
    "detect_flavor",
    "parse_destinations",
    "parse_destinations_text",
    "parse_flavor",
]

DEFAULT_DESTINATION = "default"
#: A destination's name: what routes' ``to`` and the log lines use.
DESTINATION_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}", re.ASCII)
#: A Slack channel for chat.postMessage: an ID (``C…`` public/private, ``G…`` legacy private) or ``#name``.
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{8,}", re.ASCII)
_CHANNEL_NAME = re.compile(r"#[^\s#,<>@]{1,80}")
#: Secret keys the single-webhook form uses; a destination's ``secret`` cannot be one of them.
LEGACY_SECRET_KEYS = ("webhook_url", "url")
BOT_TOKEN_PREFIX = "xoxb-"
_SLACK_HOOK_HOSTS = frozenset({"hooks.slack.com", "hooks.slack-gov.com"})
_DESTINATION_KEYS = ("type", "channel", "direct_messages", "secret", "interactive", "merge_strategy")
#: How the Merge button merges (``slack-app`` with ``interactive`` only), as CodeCommit names the options.
MERGE_STRATEGIES = ("fast-forward", "squash", "three-way")
#: What a URL or a Slack token starts with: never a key name, and never to be put in context.
_LOOKS_SECRET = re.compile(r"(?i)\A(?:https?:|xox[abposr]-)")


class DestinationError(DocumentError):
    """``DESTINATIONS`` (or the CDK context ``destinations``) is invalid; lists every problem."""


class Flavor(enum.Enum):
    """The message dialect a destination speaks: Slack mrkdwn or Mattermost Markdown."""

    SLACK = "slack"
    MATTERMOST = "mattermost"


class DestinationType(enum.Enum):
    """How messages reach a destination."""

    SLACK_WEBHOOK = "slack-webhook"  #: a Slack incoming webhook (URL in the secret)
    MATTERMOST_WEBHOOK = "mattermost-webhook"  #: a Mattermost incoming webhook (URL in the secret)
    SLACK_APP = "slack-app"  #: a Slack app's bot token (``xoxb-`` in the secret) and a channel

    @property
    def is_webhook(self) -> bool:
        """True for the two webhook types (their secret is a URL)."""
        return self is not DestinationType.SLACK_APP


DESTINATION_TYPES: tuple[str, ...] = tuple(kind.value for kind in DestinationType)


@dataclass(frozen=True)
class Destination:
    """One named destination (the non-secret part).

    Attributes:
        name: what routes name it by.
        type: how messages reach it.
        channel: the Slack channel (``slack-app`` only): an ID like ``C0123456789`` or ``#name``.
        direct_messages: ``slack-app`` only: review commands and comments that mention someone
            also reach that person by direct message.
        secret: the key in the secret map holding its URL or token (its name by default).
        interactive: ``slack-app`` only: pull-request messages carry Approve / Merge / Comment
            buttons, answered by the chat function (``handler.chat``, docs/chat.md).
        merge_strategy: ``slack-app`` only: how its Merge button merges (:data:`MERGE_STRATEGIES`).
    """

    name: str
    type: DestinationType
    channel: str | None = None
    direct_messages: bool = False
    secret: str = ""
    interactive: bool = False
    merge_strategy: str = "fast-forward"

    def __post_init__(self) -> None:
        if not self.secret:
            object.__setattr__(self, "secret", self.name)

    @property
    def flavor(self) -> Flavor:
        """Mattermost for ``mattermost-webhook``, Slack otherwise (see :func:`detect_flavor` for default)."""
        return Flavor.MATTERMOST if self.type is DestinationType.MATTERMOST_WEBHOOK else Flavor.SLACK


def parse_flavor(text: str) -> Flavor:
    """``DESTINATION_FLAVOR``: ``slack`` or ``mattermost`` (any case)."""
    value = text.strip().lower()
    choices = [flavor.value for flavor in Flavor]
    if value not in choices:
        raise ValueError(f"must be slack or mattermost, got {text!r}{did_you_mean(value, choices)}")
    return Flavor(value)


def detect_flavor(url: str, configured: str | Flavor | None) -> Flavor:
    """The default destination's flavour: ``DESTINATION_FLAVOR`` if set, else from the URL.

    The contract, kept exactly: a URL on ``hooks.slack.com`` (or ``hooks.slack-gov.com``) is
    Slack; any other URL whose path starts with ``/hooks/`` is Mattermost; every other URL is
    Slack. (A Mattermost served under a sub-path, ``/mattermost/hooks/...``, needs
    ``DESTINATION_FLAVOR=mattermost``.)
    """
    if isinstance(configured, Flavor):
        return configured
    if configured is not None and configured.strip():
        return parse_flavor(configured)
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return Flavor.SLACK
    if host in _SLACK_HOOK_HOSTS:
        return Flavor.SLACK
    return Flavor.MATTERMOST if parts.path.startswith("/hooks/") else Flavor.SLACK


def looks_like_mattermost_under_a_path(url: str) -> bool:
    """A URL the contract calls Slack that is probably a Mattermost served under a sub-path
    (``https://example.com/chat/hooks/<id>``): not Slack's host, ``/hooks/`` further in the path."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    return host not in _SLACK_HOOK_HOSTS and "/hooks/" in parts.path and not parts.path.startswith("/hooks/")


def _channel_problem(channel: object) -> str | None:
    example = "a channel ID like C0123456789 or a name like #reviews"
    if not isinstance(channel, str):
        return f"must be {example}, got {describe(channel)}"
    if _CHANNEL_ID.fullmatch(channel) or _CHANNEL_NAME.fullmatch(channel):
        return None
    if _CHANNEL_NAME.fullmatch("#" + channel):
        return f"write {'#' + channel!r} (a channel name starts with #) or the channel's ID like C0123456789"
    return f"must be {example}, got {channel!r}"


def _type(item: Mapping[str, Any], path: str, problems: Problems) -> DestinationType | None:
    raw_type = item.get("type")
    if raw_type in DESTINATION_TYPES:
        return DestinationType(raw_type)
    if "type" not in item:
        problems.add(path, f"has no type; give it one of {', '.join(DESTINATION_TYPES)}")
    else:
        shown = repr(raw_type) if isinstance(raw_type, str) else describe(raw_type)
        problems.add(
            path_of(path, "type"),
            f"{shown} is not a destination type{did_you_mean(raw_type, DESTINATION_TYPES)}; "
            f"the types are {', '.join(DESTINATION_TYPES)}",
        )
    return None


def _check_app_keys(
    kind: DestinationType | None, item: Mapping[str, Any], path: str, problems: Problems
) -> None:
    """``channel`` is required for a slack-app; ``channel`` and ``direct_messages`` are for it alone."""
    if kind is DestinationType.SLACK_APP:
        if "channel" not in item:
            problems.add(path, 'a slack-app destination needs a channel, like "channel": "C0123456789"')
        elif problem := _channel_problem(item["channel"]):
            problems.add(path_of(path, "channel"), problem)
    elif kind is not None:
        for key in ("channel", "direct_messages", "interactive", "merge_strategy"):
            if key in item:
                problems.add(
                    path_of(path, key),
                    f"only a slack-app destination takes {key}; a webhook posts where it was created",
                )
    for flag in ("direct_messages", "interactive"):
        if not isinstance(item.get(flag, False), bool):
            problems.add(path_of(path, flag), f"must be true or false, got {describe(item[flag])}")
    strategy = item.get("merge_strategy", "fast-forward")
    if strategy not in MERGE_STRATEGIES:
        problems.add(
            path_of(path, "merge_strategy"),
            f"must be one of {', '.join(MERGE_STRATEGIES)}, got "
            + (repr(strategy)[:40] if isinstance(strategy, str) else describe(strategy))
            + did_you_mean(strategy, MERGE_STRATEGIES),
        )


def _check_secret(secret: object, path: str, problems: Problems) -> None:
    if not isinstance(secret, str) or not secret.strip() or secret != secret.strip():
        problems.add(
            path_of(path, "secret"),
            "must be the key in the secret that holds this destination's URL or token",
        )
    elif _LOOKS_SECRET.search(secret):  # never echoed: it may be the very value that must stay secret
        problems.add(
            path_of(path, "secret"),
            "looks like a webhook URL or a token; it must be the NAME of a key in the secret, "
            "and the URL or token goes in the secret under that key (context is not secret)",
        )
    elif secret in LEGACY_SECRET_KEYS:
        problems.add(
            path_of(path, "secret"),
            f"{secret!r} marks the secret's single-webhook form; name the key after the destination",
        )


def _destination(name: str, item: Mapping[str, Any], path: str, problems: Problems) -> Destination | None:
    problems.unknown_keys(path, item, _DESTINATION_KEYS)
    before = len(problems.lines)
    kind = _type(item, path, problems)
    _check_app_keys(kind, item, path, problems)
    secret = item.get("secret", name)
    _check_secret(secret, path, problems)
    if kind is None or len(problems.lines) > before:
        return None
    return Destination(
        name=name,
        type=kind,
        channel=item.get("channel") if kind is DestinationType.SLACK_APP else None,
        direct_messages=bool(item.get("direct_messages", False)),
        secret=str(secret),
        interactive=bool(item.get("interactive", False)),
        merge_strategy=str(item.get("merge_strategy", "fast-forward")),
    )


def parse_destinations(document: object) -> dict[str, Destination]:
    """Validate and parse the ``DESTINATIONS`` document (already decoded from JSON).

    Raises:
        DestinationError: listing every problem, each with its path (``reviews.channel``) and
            what to write instead.
    """
    problems = Problems()
    if not isinstance(document, dict):
        example = '{"payments": {"type": "slack-webhook"}}'
        problems.add(
            "", f"must be a JSON object of name → destination like {example}, got {describe(document)}"
        )
        raise DestinationError(problems.lines)
    destinations: dict[str, Destination] = {}
    for name, item in document.items():
        path = path_of("", name)
        if name == DEFAULT_DESTINATION:
            problems.add(
                path,
                "the name default is reserved for SLACK_WEBHOOK_URL or the secret's default webhook; "
                "pick another name",
            )
            continue
        if not DESTINATION_NAME.fullmatch(name):
            problems.add(
                path,
                "a destination name is 1-63 lowercase letters, digits, '-' or '_', "
                "starting with a letter or digit",
            )
        if not isinstance(item, dict):
            problems.add(path, f'must be an object like {{"type": "slack-webhook"}}, got {describe(item)}')
            continue
        destination = _destination(name, item, path, problems)
        if destination is not None:
            destinations[name] = destination
    if problems:
        raise DestinationError(problems.lines)
    return destinations


class DestinationMap(Mapping[str, Destination]):
    """The declared destinations by name: read-only and hashable, so a frozen settings field can hold it."""

    def __init__(self, destinations: Mapping[str, Destination] | None = None) -> None:
        self._destinations = dict(destinations or {})

    def __getitem__(self, name: str) -> Destination:
        return self._destinations[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._destinations)

    def __len__(self) -> int:
        return len(self._destinations)

    def __hash__(self) -> int:
        return hash(tuple(self._destinations.items()))

    def __repr__(self) -> str:
        return f"DestinationMap({self._destinations!r})"


def parse_destinations_text(text: str) -> DestinationMap:
    """``DESTINATIONS`` as the environment holds it: JSON text (see :func:`parse_destinations`)."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ValueError(
            f'is not valid JSON ({error}); write an object like {{"payments": {{"type": "slack-webhook"}}}}'
        ) from None
    return DestinationMap(parse_destinations(document))


class SecretMap:
    """The secret's values by key, read from its ``SecretString``. Values are never shown.

    The three forms:

    * a plain string: the default webhook URL (``{"default": it}``);
    * a JSON object with ``webhook_url`` (or ``url``): the default webhook, other keys ignored
      (secrets written for the single-webhook notifier keep working);
    * any other JSON object: key → URL or bot token (``{"default": ..., "bot": "xoxb-..."}``).
    """

    def __init__(self, values: Mapping[str, str], *, single_webhook: bool = False) -> None:
        self._values = dict(values)
        self.single_webhook = single_webhook

    @classmethod
    def parse(cls, secret_string: str, *, secret_id: str = "the secret") -> SecretMap:
        """Read a ``SecretString``.

        Raises:
            ConfigurationError: the JSON is invalid, or a value is not a string (naming the key).
        """
        text = secret_string.strip()
        if not text.startswith("{"):
            return cls({DEFAULT_DESTINATION: text} if text else {}, single_webhook=True)
        try:
            document = json.loads(text)
        except ValueError:
            raise ConfigurationError(f"the webhook secret {secret_id} is not valid JSON") from None
        for key in LEGACY_SECRET_KEYS:
            if key in document:
                value = document[key]
                if not isinstance(value, str):
                    raise ConfigurationError(f"the webhook secret {secret_id}: {key!r} must be a string")
                return cls({DEFAULT_DESTINATION: value.strip()} if value.strip() else {}, single_webhook=True)
        bad = sorted(str(key) for key, value in document.items() if not isinstance(value, str))
        if bad:
            raise ConfigurationError(
                f"the webhook secret {secret_id}: the values of {', '.join(map(repr, bad))} must be "
                "strings (a webhook URL or a bot token)"
            )
        return cls({str(key): value.strip() for key, value in document.items() if value.strip()})

    def keys(self) -> tuple[str, ...]:
        """The keys that hold a non-empty value."""
        return tuple(self._values)

    def get(self, key: str) -> str | None:
        """The value under ``key`` (a key no destination names, such as ``gitlab-api-token``), or None."""
        return self._values.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretMap) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._values.items())))

    def __repr__(self) -> str:
        return f"SecretMap(keys={sorted(self._values)!r})"  # never the values

    def value_for(self, destination: Destination, *, secret_id: str = "the secret") -> str:
        """The validated URL or token for ``destination``.

        Raises:
            ConfigurationError: the key is missing or empty, or its value does not suit the
                destination's type; names the key and the destination, never the value.
        """
        from handler.deliver.webhook import validate_webhook_url

        key = destination.secret
        where = f"the webhook secret {secret_id}"
        if not self._values:
            raise ConfigurationError(
                f"{where} is empty; put the URL or token of destination {destination.name!r} in it"
            )
        if key not in self._values:
            if self.single_webhook:
                raise ConfigurationError(
                    f"{where} holds a single webhook URL, so destination {destination.name!r} has no "
                    f'{key!r} key in it; write the secret as a JSON object: {{"default": "<url>", '
                    f'"{key}": "<url or token>"}}'
                )
            raise ConfigurationError(
                f"{where} has no {key!r} key (for destination {destination.name!r}); add it, or set "
                f"that destination's secret to one of its keys: {', '.join(sorted(self._values)) or 'none'}"
            )
        value = self._values[key]
        if destination.type.is_webhook:
            try:
                return validate_webhook_url(value)
            except ConfigurationError as error:
                raise ConfigurationError(
                    f"{where}: the value of {key!r} (destination {destination.name!r}) is not a usable "
                    f"webhook URL: {error}"
                ) from None
        if not value.startswith(BOT_TOKEN_PREFIX):
            raise ConfigurationError(
                f"{where}: the value of {key!r} (destination {destination.name!r}, a slack-app) must be "
                f"the app's bot token, which starts with {BOT_TOKEN_PREFIX} (OAuth & Permissions page)"
            )
        return value


#: The reserved default destination: ``SLACK_WEBHOOK_URL`` or the secret's default webhook. Its
#: flavour is :func:`detect_flavor`'s, not its type's.
DEFAULT = Destination(DEFAULT_DESTINATION, DestinationType.SLACK_WEBHOOK)
