"""Deliver: POST one payload to a Slack or Mattermost incoming webhook, retrying only what can be fixed.

The two products answer alike where it matters (``ok`` on success, 429 with ``Retry-After``) and
differ in their refusals, so the answer is read per flavour (``flavor="slack"`` or
``"mattermost"``): Slack refuses with a plain-text code (``no_service``), Mattermost with a JSON
body whose ``id`` says why (``web.incoming_webhook.disabled.app_error``).

=====================================  ===================================================
the webhook's answer                   what happens
=====================================  ===================================================
2xx with body ``ok`` or no body         delivered (Slack and Mattermost both answer ``ok``)
2xx with any other body                :class:`DeliveryRefused`, logged at ERROR: something that is
                                       not the webhook answered (a proxy's login page, a captive
                                       portal), so the message was most likely not posted and
                                       posting again to the same place would not help
429 with ``Retry-After``               wait that long plus jitter (if the invocation has the time),
                                       retry; 429s do not use up attempts, the deadline bounds them
5xx, connection error, timeout         exponential backoff with full jitter, retry
403, 404, 410 (``no_service``, ...)    :class:`DeliveryRefused` at once: the hook is gone
400 (``invalid_payload``, ...)         :class:`DeliveryRefused` at once: the same request
                                       would be refused again
Mattermost 501 ``...disabled...``      :class:`DeliveryRefused` at once: incoming webhooks are
                                       switched off on the server (only a system admin can turn
                                       them on); every other 5xx stays transient
Mattermost 4xx (the body's ``id``)     :class:`DeliveryRefused` at once, the advice read from the
                                       ``id``: ``...invalid.app_error`` (no such hook) and
                                       ``...channel.app_error`` ("Couldn't find the channel") say
                                       to fix the webhook, ``...parse``/``...text`` ("Unable to
                                       parse incoming data") are a bug
=====================================  ===================================================

Attempts are bounded by ``max_attempts`` and by the invocation's remaining time: an attempt is
only started when the wait before it fits before the deadline, and both parts of its timeout
(connecting, then reading) together never reach past the deadline. When they do
not, :class:`DeliveryExhausted` is raised so Lambda retries the event later and, in the end, the
dead-letter queue keeps it. A read timeout is ambiguous (Slack may have posted), so it is retried
like a 5xx: the notifier prefers a rare duplicate to a lost message.

The webhook URL is a secret: it never appears in a log line or an exception message.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal, get_args
from urllib.parse import urlsplit

from handler.deadline import Deadline
from handler.errors import ConfigurationError, DeliveryExhausted, DeliveryRefused

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)


def import_requests() -> Any:
    """``import requests``, quietly when its optional encoding guesser is absent.

    The Lambda asset leaves out ``charset-normalizer`` (cdk/lambda_asset.py says why). requests then
    answers :attr:`~requests.Response.text` as UTF-8 when a response names no charset, and warns
    once at import; that warning is expected in the asset, so it is not printed.
    """
    import sys
    import warnings

    if "requests" in sys.modules:  # imported already (warm): no warning to silence, and the
        import requests  # process-wide filters stay untouched while other threads run

        return requests
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unable to find acceptable character detection dependency")
        import requests

    return requests

#: At DEBUG these libraries log request lines (urllib3: the webhook's secret path) and response
#: bodies (botocore: GetSecretValue's SecretString). They stay at INFO or above whatever
#: LOG_LEVEL says, so turning on debug logging can never write the webhook URL to CloudWatch.
SECRET_BEARING_LOGGERS = ("urllib3", "botocore")
for _name in SECRET_BEARING_LOGGERS:
    logging.getLogger(_name).setLevel(logging.INFO)

MIN_ATTEMPT_SECONDS = 1.0
#: How long an attempt may spend connecting, at most; the time left can make it shorter.
CONNECT_TIMEOUT_SECONDS = 3.05
#: The bodies a 2xx answer may carry for the message to count as posted (compared stripped, lowercase).
DELIVERED_BODIES = frozenset({"", "ok"})
#: A safety cap on 429 answers followed within one invocation (the deadline normally ends it first).
MAX_RATE_LIMITED_RETRIES = 100
_RATE_LIMIT_JITTER_CAP = 0.5
MAX_RETRY_AFTER_SECONDS = 60.0
_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 8.0

#: Which product's incoming webhook a URL belongs to; it decides how refusals are read and named.
Flavor = Literal["slack", "mattermost"]
FLAVORS: tuple[Flavor, ...] = get_args(Flavor)
_PRODUCT: dict[Flavor, str] = {"slack": "Slack", "mattermost": "Mattermost"}
#: The ``id`` Mattermost answers (with HTTP 501) when its incoming webhooks are switched off.
MATTERMOST_DISABLED_ID = "web.incoming_webhook.disabled.app_error"


@dataclass(frozen=True)
class DeliveryReceipt:
    """What a successful delivery took."""

    attempts: int
    waited_seconds: float
    rate_limited: int = 0


def validate_webhook_url(url: str) -> str:
    """Check that ``url`` can be a webhook: https (http only for loopback) with a host and path.

    Raises:
        ConfigurationError: with a message that does not repeat the URL.
    """
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError as error:
        raise ConfigurationError("the Slack webhook URL is malformed (it could not be parsed)") from error
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host or not parts.path.strip("/"):
        raise ConfigurationError(
            "the Slack webhook URL is malformed: expected https://hooks.slack.com/services/..."
        )
    if parts.scheme == "http" and not is_loopback_host(host):
        raise ConfigurationError("the Slack webhook URL must use https (http is only allowed for loopback)")
    return url.strip()


def is_loopback_host(host: str) -> bool:
    """True only for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1).

    Decided by parsing the address, never by how the name starts: ``127.evil.com`` is a name
    anyone can register, and a webhook there must not be sent in clear text.
    """
    if host.rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def redact(text: str, url: str) -> str:
    """Remove the webhook's path (its secret part) from any text that might include it."""
    parts = urlsplit(url)
    for secret in (url, parts.path, parts.path.lstrip("/")):
        if secret and secret != "/":
            text = text.replace(secret, "/***")
    return text


class SlackWebhook:
    """An incoming webhook (Slack's, or Mattermost's with ``flavor="mattermost"``) with the retry
    policy described in the module docstring. :data:`Webhook` is the same class."""

    def __init__(
        self,
        url: str,
        *,
        timeout_seconds: float = 10.0,
        max_attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        wall_clock: Callable[[], float] = time.time,
        flavor: Flavor = "slack",
    ) -> None:
        requests = import_requests()  # here, not at module level: a poison event never pays for it

        if flavor not in FLAVORS:
            raise ConfigurationError(
                f"unknown webhook flavor {flavor!r}: expected one of {', '.join(FLAVORS)}"
            )
        self._flavor: Flavor = flavor
        self._product = _PRODUCT[flavor]
        self._requests = requests
        self._url = validate_webhook_url(url)
        self._session = requests.Session()
        self._timeout = timeout_seconds
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._rng = rng
        self._wall_clock = wall_clock

    @property
    def product(self) -> str:
        """``Slack`` or ``Mattermost``: whose webhook this is, for messages to people."""
        return self._product

    def send(self, payload: dict[str, Any], *, deadline: Deadline) -> DeliveryReceipt:
        """POST ``payload`` until the webhook takes it, a refusal is permanent, or the budget is spent.

        A 429 does not use up an attempt: Slack said when to come back, so waiting is bounded by
        the time left (and a safety cap), not by ``max_attempts``, which counts real failures.

        Raises:
            DeliveryRefused: a permanent refusal; its message says what to fix.
            DeliveryExhausted: transient failures outlived the attempts or the time left.
        """
        failures, rate_limited, requests_made, waited, wait = 0, 0, 0, 0.0, 0.0
        last_problem, last_status = "no time was left for an attempt", None
        while failures < self._max_attempts and rate_limited <= MAX_RATE_LIMITED_RETRIES:
            if wait + MIN_ATTEMPT_SECONDS > deadline.seconds_left():
                break
            if wait:
                self._sleep(wait)
                waited += wait
            timeout = attempt_timeouts(self._timeout, deadline.seconds_left())
            requests_made += 1
            try:
                response = self._session.post(self._url, json=payload, timeout=timeout)
            except self._requests.RequestException as error:
                failures += 1
                last_problem, last_status = type(error).__name__, None
                wait = self._backoff(failures)
                log.warning("%s attempt %d failed: %s", self._flavor, requests_made, last_problem)
                continue
            body = response.text[:200].strip()
            if 200 <= response.status_code < 300:
                if body.lower() in DELIVERED_BODIES:
                    return DeliveryReceipt(
                        attempts=requests_made, waited_seconds=waited, rate_limited=rate_limited
                    )
                problem = f"HTTP {response.status_code} with body {redact(body[:80], self._url)!r}"
                log.error("%s attempt %d: %s is not a webhook's answer", self._flavor, requests_made, problem)
                raise DeliveryRefused(
                    f"the webhook answered {problem} instead of 'ok': something else (a proxy, a "
                    "captive portal) answered, so the message was most likely not posted; check the "
                    "function's network path to the webhook, then redrive the dead-letter queue",
                    status=response.status_code,
                    attempts=requests_made,
                )
            last_status = response.status_code
            last_problem = f"HTTP {response.status_code} {redact(body, self._url)!r}"
            if response.status_code == 429:
                rate_limited += 1
                wait = self._retry_after(response, rate_limited)
            elif 400 <= response.status_code < 500 or self._disabled(response.status_code, body):
                raise DeliveryRefused(
                    f"{self._product} refused the message for good ({last_problem}); "
                    + self._advice(response.status_code, body),
                    status=response.status_code,
                    attempts=requests_made,
                )
            else:
                failures += 1
                wait = self._backoff(failures)
            log.warning(
                "%s attempt %d got %s; next wait %.1fs", self._flavor, requests_made, last_problem, wait
            )
        raise DeliveryExhausted(
            f"{self._product} did not take the message after {requests_made} attempt(s) in the time "
            f"available (last: {last_problem}); raising so Lambda retries the event",
            status=last_status,
            attempts=requests_made,
        )

    def _disabled(self, status: int, body: str) -> bool:
        """Mattermost's "incoming webhooks are disabled": a 5xx that no retry can fix."""
        return self._flavor == "mattermost" and status == 501 and MATTERMOST_DISABLED_ID in body

    def _advice(self, status: int, body: str) -> str:
        if self._flavor == "mattermost":
            return _mattermost_advice(status, body)
        return _refusal_advice(status, body)

    def _backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)]."""
        return float(self._rng() * min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt))

    def _retry_after(self, response: requests.Response, rate_limited: int) -> float:
        """Slack's ``Retry-After``, plus a little jitter that grows while the 429s go on.

        Without the jitter, every invocation told "1 second" comes back in the same instant and
        all but one are refused again. The jitter stays small (at most 0.5 s) because Slack said
        when to return: a large spread leaves the freed slot idle (``make bench``, burst).
        """
        seconds = parse_retry_after(response.headers.get("Retry-After", ""), self._wall_clock())
        if seconds is None:
            return self._backoff(rate_limited)
        return seconds + float(self._rng() * min(_RATE_LIMIT_JITTER_CAP, 0.125 * 2**rate_limited))


def attempt_timeouts(read_timeout: float, seconds_left: float) -> tuple[float, float]:
    """``(connect, read)`` timeouts for one attempt, together never longer than ``seconds_left``.

    Connecting gets at most :data:`CONNECT_TIMEOUT_SECONDS` and at most half the time left;
    reading gets the configured timeout, bounded by what connecting leaves.
    """
    left = max(seconds_left, 0.0)
    connect = min(CONNECT_TIMEOUT_SECONDS, left / 2)
    return connect, max(min(read_timeout, left - connect), 0.0)


def parse_retry_after(value: str, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, in ``[0, MAX_RETRY_AFTER_SECONDS]``.

    Takes both forms HTTP allows: delay-seconds (``"3"``, also ``"1.5"``) and an HTTP-date
    (seconds from ``now``, a POSIX time). A date in the past or a negative number means "now"; a
    huge value is capped. Anything else (``nan``, ``inf``, text) gives None, so the caller backs
    off as for a 5xx.
    """
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when: datetime = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def _refusal_advice(status: int, body: str) -> str:
    if status in (403, 404, 410) or body in ("no_service", "channel_not_found", "no_team", "invalid_token"):
        return (
            "the webhook is disabled, removed or points at an archived channel; put a working URL "
            "in the secret, then redrive the dead-letter queue"
        )
    return "the payload was rejected; report it as a bug with the event from the dead-letter queue"


_MATTERMOST_CHANNEL_MARKERS = (
    "web.incoming_webhook.channel",  # .app_error (not found) and _locked.app_error
    "web.incoming_webhook.permissions.app_error",
    "web.incoming_webhook.user.app_error",
    "Couldn't find the channel",
)


def _mattermost_advice(status: int, body: str) -> str:
    """What to do about a Mattermost refusal, read from the error ``id`` in its JSON body.

    The ids are the server's (``HandleIncomingWebhook``); older servers answer some of them with
    another status (a missing channel was a 400, is now a 404), so the id decides, not the status.
    """
    if MATTERMOST_DISABLED_ID in body:
        return (
            "incoming webhooks are disabled on this Mattermost server: a system admin enables them "
            "under Integrations (System Console > Integrations > Integration Management > Enable "
            "Incoming Webhooks), then redrive the dead-letter queue"
        )
    if any(marker in body for marker in _MATTERMOST_CHANNEL_MARKERS):
        return (
            "the webhook's channel is gone or locked, or the webhook's owner may not post there; "
            "edit the webhook under Integrations > Incoming Webhooks (or create a new one and put "
            "its URL in the secret), then redrive the dead-letter queue"
        )
    if "web.incoming_webhook.invalid.app_error" in body or status in (403, 404, 410):
        return (
            "the Mattermost webhook does not exist (deleted, or a wrong URL); create an incoming "
            "webhook under Integrations > Incoming Webhooks, put its URL in the secret, then redrive "
            "the dead-letter queue"
        )
    return "the payload was rejected; report it as a bug with the event from the dead-letter queue"


#: The webhook client under a name that does not suggest one product.
Webhook = SlackWebhook
