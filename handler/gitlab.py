"""The GitLab webhook entry, ``handler.gitlab.lambda_handler``, behind a Lambda function URL.

::

    request ──verify──► answer ──hand over──► the notifier function (Lambda Invoke, InvocationType Event)
     X-Gitlab-Token (constant time), and the Standard Webhooks signature when a signing key is set

Verification comes first and decides everything: a request that fails it is answered 401 and
causes nothing else (the secret is read; nothing is invoked, written or posted). A verified
delivery is answered 202 at once and handed to the notifier function asynchronously, wrapped in
an envelope::

    {"source": "gitlab", "event": "<X-Gitlab-Event>", "delivery": "<Idempotency-Key>", "payload": {...}}

so a chat outage loses nothing (Lambda's retries and the dead-letter queue keep the event), and
GitLab never waits on Slack. The notifier claims the delivery key in the state table, so a
delivery GitLab repeats (same ``Idempotency-Key``, else ``X-Gitlab-Webhook-UUID``) posts once.

Answers, and why:

* 401: token or signature wrong or missing. GitLab shows it in the hook's recent events.
* 413: a body over :data:`MAX_BODY_BYTES`, or one Lambda's asynchronous invoke refuses as too large
  (its payload limit). No payload the notifier reports is that large.
* 415: a body that is not ``application/json``: GitLab always sends JSON, so this is not GitLab.
* 202 for an ``X-Gitlab-Event`` the notifier does not report (issues, wiki pages, jobs, …), logged:
  an error answer would make GitLab retry it and, after repeated failures, disable the hook.
* 202 for a delivery handed over; 500 only when the hand-over itself failed (GitLab retries it).

Configuration: ``SLACK_WEBHOOK_SECRET_ARN`` names the JSON secret holding ``gitlab-token`` (and
optionally ``gitlab-signing-key``, ``whsec_…``); ``NOTIFIER_FUNCTION_NAME`` names the function to
invoke; the Lambda client is created the ordinary way, so ``AWS_ENDPOINT_URL_LAMBDA`` applies.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from handler.inbound.request import FunctionUrlRequest
from handler.inbound.response import Response, json_body
from handler.inbound.verify import same_secret, signing_key, standard_webhook_verified
from handler.logs import configure_logging
from handler.metrics import for_front_door
from handler.sources import GITLAB_SOURCE
from handler.sources.gitlab import HANDLED_EVENTS

log = logging.getLogger("handler.gitlab")

#: The largest body accepted (GitLab's payloads are tens of kilobytes; a push lists 20 commits at most).
MAX_BODY_BYTES = 1024 * 1024
#: How long the secret is kept in a warm container before it is read again (token rotation).
SECRET_CACHE_SECONDS = 300
TOKEN_KEY = "gitlab-token"


class PayloadTooLarge(Exception):
    """Lambda refused the hand-over: the envelope is over its asynchronous invoke payload limit."""


SIGNING_KEY_KEY = "gitlab-signing-key"


@dataclass
class FrontDoor:
    """The entry's edges: where the secret comes from and how the notifier is invoked.

    Attributes:
        read_secret: the secret's ``SecretString`` (a JSON object).
        invoke: hands an envelope to the notifier asynchronously.
        clock: seconds since the epoch (Standard Webhooks' timestamp check).
    """

    read_secret: Callable[[], str]
    invoke: Callable[[dict[str, Any]], None]
    clock: Callable[[], float] = time.time
    _cached: tuple[float, Mapping[str, Any]] | None = field(default=None, repr=False)

    def secret(self) -> Mapping[str, Any]:
        """The secret's keys, read at most every :data:`SECRET_CACHE_SECONDS`."""
        now = self.clock()
        if self._cached is None or now - self._cached[0] > SECRET_CACHE_SECONDS:
            try:
                document = json.loads(self.read_secret() or "{}")
            except ValueError:
                document = None
            self._cached = (now, document if isinstance(document, dict) else {})
        return self._cached[1]


def handle(event: Mapping[str, Any], door: FrontDoor) -> dict[str, Any]:
    """Answer one function URL request (see the module docstring): verify first, then hand over."""
    request = FunctionUrlRequest(event)
    refusal = _refusal(request, door)
    return refusal if refusal is not None else _hand_over(request, door)


def _refusal(request: FunctionUrlRequest, door: FrontDoor) -> dict[str, Any] | None:
    """The answer for a request that is not handed over; None for one that is."""
    if not _verified(request, door):
        log.warning("GitLab webhook refused: the token or signature did not verify")
        return response(401, "unauthorized")
    if len(request.raw_body) > MAX_BODY_BYTES:
        log.warning(
            "GitLab webhook body of %d bytes refused (limit %d)", len(request.raw_body), MAX_BODY_BYTES
        )
        return response(413, "payload too large")
    if (request.header("content-type") or "").split(";")[0].strip().lower() != "application/json":
        log.warning(
            "GitLab webhook with content type %r refused", (request.header("content-type") or "")[:80]
        )
        return response(415, "expected application/json")
    name = request.header("x-gitlab-event") or ""
    if name not in HANDLED_EVENTS:
        log.info("GitLab event %r is not reported; answered 202 so GitLab does not retry it", name[:80])
        return response(202, "event not reported")
    return None


def _hand_over(request: FunctionUrlRequest, door: FrontDoor) -> dict[str, Any]:
    """Wrap the verified payload in the envelope and invoke the notifier asynchronously."""
    name = request.header("x-gitlab-event") or ""
    try:
        payload = json.loads(request.raw_body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        log.warning("GitLab %s body is not a JSON object; dropped", name)
        return response(400, "body is not a JSON object")
    delivery = (request.header("idempotency-key") or "") or (request.header("x-gitlab-webhook-uuid") or "")
    envelope = {"source": GITLAB_SOURCE, "event": name, "delivery": delivery[:200], "payload": payload}
    try:
        door.invoke(envelope)
    except PayloadTooLarge:
        log.warning("GitLab %s %s is too large to hand over; dropped", name, delivery[:200])
        return response(413, "payload too large to hand over")
    log.info("GitLab %s %s handed to the notifier", name, delivery[:200])
    return response(202, "accepted")


def _verified(request: FunctionUrlRequest, door: FrontDoor) -> bool:
    secret = door.secret()
    token = secret.get(TOKEN_KEY)
    if not isinstance(token, str) or not same_secret((request.header("x-gitlab-token") or ""), token):
        return False
    configured = secret.get(SIGNING_KEY_KEY)
    if not configured:
        return True
    key = signing_key(configured) if isinstance(configured, str) else None
    if key is None:
        log.error(
            "the secret's %s is not a whsec_<base64> key; refusing every request until it is", SIGNING_KEY_KEY
        )
        return False
    return standard_webhook_verified(key, request.headers, request.raw_body, now=door.clock())


def aws_front_door(environ: Mapping[str, str]) -> FrontDoor:
    """Secrets Manager and Lambda through boto3, created the ordinary way (``AWS_ENDPOINT_URL_*`` apply)."""
    import boto3

    secret_arn = environ.get("SLACK_WEBHOOK_SECRET_ARN", "")
    function_name = environ.get("NOTIFIER_FUNCTION_NAME", "")
    secrets = boto3.client("secretsmanager")
    lambda_client = boto3.client("lambda")

    def read_secret() -> str:
        if not secret_arn:
            return ""
        return str(secrets.get_secret_value(SecretId=secret_arn).get("SecretString") or "")

    def invoke(envelope: dict[str, Any]) -> None:
        if not function_name:
            raise RuntimeError("NOTIFIER_FUNCTION_NAME is not set: set it to the notifier function's name")
        from botocore.exceptions import ClientError

        try:
            lambda_client.invoke(
                FunctionName=function_name, InvocationType="Event", Payload=json.dumps(envelope)
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "RequestEntityTooLargeException":
                raise PayloadTooLarge from error
            raise

    return FrontDoor(read_secret=read_secret, invoke=invoke)


_door: FrontDoor | None = None


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """Entry point of the GitLab webhook function (handler string ``handler.gitlab.lambda_handler``)."""
    global _door  # noqa: PLW0603 (one front door per warm container: clients and the secret kept)
    if _door is None:
        configure_logging(os.environ)
        _door = aws_front_door(os.environ)
    metrics = for_front_door("gitlab", os.environ)
    try:
        if not isinstance(event, dict):
            return response(400, "not a function URL request")
        metrics.event("gitlab", "webhook")
        try:
            answer = handle(event, _door)
        except Exception:  # the hand-over failed: GitLab retries on a 5xx
            log.exception("could not hand the GitLab delivery to the notifier")
            metrics.outcome("raised", "gitlab")
            return response(500, "try again")
        if answer["statusCode"] in (401, 413, 415):
            metrics.outcome("dropped", "gitlab")
        return answer
    finally:
        metrics.flush()


def response(status: int, message: str = "") -> Response:
    """A small JSON answer, ``{"message": ...}``: GitLab's delivery log shows it; it never holds a secret."""
    return json_body(status, {"message": message} if message else {})
