"""Where webhook URLs and bot tokens come from: ``SLACK_WEBHOOK_URL``, or a Secrets Manager secret.

:class:`DestinationSecrets` gives every destination its URL or token, from the one secret read
as a :class:`~handler.deliver.destinations.SecretMap` (the default destination's URL may come
from ``SLACK_WEBHOOK_URL`` instead).

The secret (``SLACK_WEBHOOK_SECRET_ARN``) is read once per container and cached. After Slack
answers a delivery with an auth-type refusal (403/404/410), the caller asks for a fresh read, so
rotating the URL in the secret needs no redeploy. The secret's ``SecretString`` is either the URL
itself, a JSON object with a ``webhook_url`` (or ``url``) key, or a JSON object of key → URL or token.

The URL never reaches a log line or an exception message.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.deliver.destinations import (
    DEFAULT,
    DEFAULT_DESTINATION,
    Destination,
    Flavor,
    SecretMap,
    detect_flavor,
    looks_like_mattermost_under_a_path,
)
from handler.deliver.webhook import validate_webhook_url
from handler.errors import ConfigurationError

log = logging.getLogger(__name__)

_PUT_SECRET_HINT = (
    "put the webhook URL in it with: aws secretsmanager put-secret-value --secret-id {arn} "
    "--secret-string 'https://hooks.slack.com/services/...'"
)


#: What the stack writes in the secret it creates (``cdk/stack.py``), instead of a generated
#: password that would read as a malformed URL: a JSON object the function recognises, so the first
#: push says how to set the URL (:func:`placeholder_message`) rather than that the URL is malformed.
PLACEHOLDER_SECRET = {
    "placeholder": "Created by the CodeCommit notifier stack. Replace this whole value with your "
    "webhook URL: see the stack's output PutWebhookUrlCommand."
}
PLACEHOLDER_SECRET_STRING = json.dumps(PLACEHOLDER_SECRET)


def put_webhook_url_command(secret_id: str) -> str:
    """The exact command that puts a webhook URL in the secret ``secret_id`` (its region when an ARN)."""
    region = secret_region(secret_id)
    where = f"--region {region} " if region else ""
    return (
        f"aws secretsmanager put-secret-value {where}--secret-id {secret_id} "
        "--secret-string 'https://hooks.slack.com/services/...'"
    )


def placeholder_message(secret_id: str) -> str:
    """What the function says when the secret still holds the stack's placeholder."""
    return (
        f"the webhook secret {secret_id} still holds the placeholder the stack created it with; put your "
        f"webhook URL in it (a Mattermost URL works the same way): {put_webhook_url_command(secret_id)}"
    )


def is_placeholder(secret_string: str) -> bool:
    """True when ``secret_string`` is the stack's placeholder (however its JSON is spaced)."""
    if not secret_string.startswith("{"):
        return False
    try:
        return bool(json.loads(secret_string) == PLACEHOLDER_SECRET)
    except ValueError:
        return False


_SECRET_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:secretsmanager:(?P<region>[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}):[0-9]{12}:secret:[^\s]+",
    re.ASCII,
)


def secret_region(secret_id: str) -> str | None:
    """The region of a whole secret ARN; None for a name or anything else (the client's own region).

    The whole value must be an ARN (``fullmatch``): ``us-east-1\n`` is not a region, and would
    make ``boto3.client`` raise a plain ``ValueError``.
    """
    match = _SECRET_ARN.fullmatch(secret_id)
    return match.group("region") if match else None


def read_secret_string(secrets_client: Callable[[str | None], Any], arn: str) -> str:
    """The secret's ``SecretString``, stripped ("" when it has none).

    Raises:
        ConfigurationError: the secret does not exist or cannot be read (naming the ARN and the
            permission to check, never the value), or it still holds the stack's placeholder
            (naming the command that sets the URL).
    """
    region = secret_region(arn)
    try:
        response = secrets_client(region).get_secret_value(SecretId=arn)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        if code == "ResourceNotFoundException":
            raise ConfigurationError(f"the webhook secret {arn} does not exist") from error
        raise ConfigurationError(
            f"could not read the webhook secret {arn} ({code}); check that the function's "
            "role has secretsmanager:GetSecretValue on it and kms:Decrypt on its key"
        ) from error
    except BotoCoreError as error:
        raise ConfigurationError(
            f"could not reach Secrets Manager for {arn} ({type(error).__name__})"
        ) from error
    secret_string = str(response.get("SecretString") or "").strip()
    if is_placeholder(secret_string):
        raise ConfigurationError(placeholder_message(arn))
    return secret_string


class DestinationSecrets:
    """Gives each destination its webhook URL or bot token, reading the secret at most once until refreshed.

    The default destination is ``SLACK_WEBHOOK_URL`` when set (local runs), else the secret's
    default (a plain URL, ``{"webhook_url": ...}``, or the ``default`` key of a secret map). Named
    destinations always read the secret map, at their ``secret`` key (see
    :class:`handler.deliver.destinations.SecretMap`).
    """

    def __init__(
        self,
        *,
        url: str | None,
        secret_arn: str | None,
        secrets_client: Callable[[str | None], Any],
        flavor: Flavor | None = None,
    ) -> None:
        self._url = url
        self._secret_arn = secret_arn
        self._secrets_client = secrets_client
        self._flavor = flavor
        self._cached: SecretMap | None = None
        self._warned = False

    def from_secret(self, destination: Destination = DEFAULT) -> bool:
        """True when ``destination``'s value comes from Secrets Manager (so a refresh can change it)."""
        if destination.name == DEFAULT_DESTINATION and self._url is not None:
            return False
        return self._secret_arn is not None

    def may_have_default(self) -> bool:
        """Whether a default destination can be configured at all (a URL or a secret), without
        reading the secret: False only when neither is set."""
        return self._url is not None or self._secret_arn is not None

    def has_default(self) -> bool:
        """Whether a default destination is configured (reads the secret if it must).

        Raises:
            ConfigurationError: the secret cannot be read.
        """
        if self._url is not None:
            return True
        return self._secret_arn is not None and DEFAULT_DESTINATION in self._secret_map(self._secret_arn)

    def secret_for(self, destination: Destination = DEFAULT) -> str:
        """The validated webhook URL or bot token of ``destination``.

        Raises:
            ConfigurationError: nothing is configured for it, the secret is missing, unreadable
                or lacks its key, or the value does not suit its type (never showing the value).
        """
        if destination.name == DEFAULT_DESTINATION and self._url is not None:
            return validate_webhook_url(self._url)
        if self._secret_arn is None:
            if destination.name == DEFAULT_DESTINATION:
                raise ConfigurationError(
                    "no Slack webhook configured: set SLACK_WEBHOOK_SECRET_ARN (deployed) or "
                    "SLACK_WEBHOOK_URL (local runs)"
                )
            raise ConfigurationError(
                f"destination {destination.name!r} reads its URL or token from the secret, and "
                "SLACK_WEBHOOK_SECRET_ARN is not set; set it to a secret holding a JSON object with "
                f"the key {destination.secret!r}"
            )
        secrets = self._secret_map(self._secret_arn)
        if destination.name == DEFAULT_DESTINATION and not secrets.keys():
            raise ConfigurationError(
                f"the webhook secret {self._secret_arn} is empty; "
                + _PUT_SECRET_HINT.format(arn=self._secret_arn)
            )
        return secrets.value_for(destination, secret_id=self._secret_arn)

    def value(self, key: str) -> str | None:
        """The secret's value under ``key`` (``gitlab-api-token``), or None when there is no secret,
        it is a single webhook, or it lacks the key. The value is never logged.

        Raises:
            ConfigurationError: the secret cannot be read.
        """
        if self._secret_arn is None:
            return None
        return self._secret_map(self._secret_arn).get(key)

    def flavor_for(self, destination: Destination = DEFAULT) -> Flavor:
        """The dialect for ``destination``: its type's; for ``default``, DESTINATION_FLAVOR's or its URL's."""
        if destination.name != DEFAULT_DESTINATION:
            return destination.flavor
        url = self.secret_for(destination)
        flavor = detect_flavor(url, self._flavor)
        if (
            self._flavor is None
            and flavor is Flavor.SLACK
            and not self._warned
            and looks_like_mattermost_under_a_path(url)
        ):
            self._warned = True  # once per container; never the URL itself
            log.warning(
                "the default webhook is treated as Slack, but its path has /hooks/ below a prefix, as a "
                "Mattermost served under a sub-path does; if it is Mattermost, set DESTINATION_FLAVOR="
                "mattermost, or its messages are escaped for Slack and links in commit text stay live"
            )
        return flavor

    def refresh(self, destination: Destination = DEFAULT) -> bool:
        """Re-read the secret; True if ``destination`` now has a different value than the cached one."""
        if not self.from_secret(destination) or self._secret_arn is None:
            return False
        previous: str | None = None
        if self._cached is not None:
            try:
                previous = self.secret_for(destination)
            except ConfigurationError:
                previous = None  # the cached secret lacked it; any usable value now is a change
        self._cached = None
        return self.secret_for(destination) != previous

    def _secret_map(self, arn: str) -> SecretMap:
        if self._cached is None:
            self._cached = SecretMap.parse(read_secret_string(self._secrets_client, arn), secret_id=arn)
        return self._cached
