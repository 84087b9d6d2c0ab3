"""Retry handlers for ``slack_sdk``'s WebClient that the invocation's deadline bounds.

slack_sdk composes retries from handlers (``slack_sdk.http_retry``), and these are its built-in
ones with the waiting replaced. The built-ins cannot be used as they are, because each
``prepare_for_next_attempt`` calls ``time.sleep`` itself, unconditionally:

* ``RateLimitErrorRetryHandler`` sleeps ``int(Retry-After)`` plus up to a second whatever time
  is left, so a ``Retry-After: 30`` with ten seconds left sleeps past the Lambda timeout and the
  function is killed mid-wait instead of failing cleanly; it also cannot read ``1.5`` or an
  HTTP-date (``int()`` raises out of the client);
* the backoff of ``ServerErrorRetryHandler`` and ``ConnectionErrorRetryHandler`` is as blind to
  the deadline, and neither sleep can be handed to a test.

So every handler here asks a :class:`RetryBudget` first: the next attempt is only requested when
the wait before it plus :data:`MIN_ATTEMPT_SECONDS` fits before the deadline; otherwise the
client hands back the last answer (or raises the last error) and the caller classifies it. The
budget also shortens the client's socket timeout to the time left before each attempt.

What is retried, as for the incoming webhook: 429 (``ratelimited``) after ``Retry-After`` plus a
little jitter, without using up an attempt (the deadline and a safety cap bound those); any 5xx,
an ``ok: false`` body with a transient error code (:data:`TRANSIENT_ERRORS`), a connection error
and a timeout with full-jitter exponential backoff, ``max_attempts`` in all. A read timeout is
ambiguous (Slack may have posted) and is retried like a 5xx: a rare duplicate beats a lost message.

This module imports slack_sdk, so it is itself imported only when a Slack app destination is used.
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.error import URLError

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from handler.deadline import Deadline
from handler.deliver.webhook import (
    _BACKOFF_BASE,
    _BACKOFF_CAP,
    _RATE_LIMIT_JITTER_CAP,
    MAX_RATE_LIMITED_RETRIES,
    MIN_ATTEMPT_SECONDS,
    parse_retry_after,
)

log = logging.getLogger(__name__)

#: ``ok: false`` codes that Slack documents as its own passing trouble: worth another attempt.
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class RetryBudget:
    """What one API call may still spend; the call's handlers share it, and the caller reads it."""

    def __init__(
        self,
        deadline: Deadline,
        *,
        sleep: Callable[[float], None],
        rng: Callable[[], float],
        wall_clock: Callable[[], float],
        set_timeout: Callable[[float], None],
    ) -> None:
        self.deadline = deadline
        self.rng = rng
        self.wall_clock = wall_clock
        self._sleep = sleep
        self._set_timeout = set_timeout
        #: requests sent so far (the first one included)
        self.requests = 1
        self.rate_limited = 0
        self.waited = 0.0
        #: a retry was wanted but its wait did not fit before the deadline
        self.out_of_time = False

    def wait_for_next_attempt(self, wait: float, method: str, problem: str) -> bool:
        """Sleep ``wait`` and return True, or return False when the attempt would not fit."""
        if wait + MIN_ATTEMPT_SECONDS > self.deadline.seconds_left():
            self.out_of_time = True
            log.warning(
                "slack %s attempt %d got %s; no time left to wait %.1fs", method, self.requests, problem, wait
            )
            return False
        log.warning("slack %s attempt %d got %s; next wait %.1fs", method, self.requests, problem, wait)
        if wait > 0:
            self._sleep(wait)
            self.waited += wait
        self._set_timeout(self.deadline.seconds_left())
        self.requests += 1
        return True


class FullJitterBackoff(RetryIntervalCalculator):
    """Uniform in ``[0, min(cap, base * 2**(retries so far + 1))]``: the webhook's backoff."""

    def __init__(self, rng: Callable[[], float]) -> None:
        self._rng = rng

    def calculate_sleep_duration(self, current_attempt: int) -> float:
        return float(self._rng() * min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** (current_attempt + 1)))


def _method(request: HttpRequest) -> str:
    return request.url.split("?", 1)[0].rsplit("/", 1)[-1]


def _error_code(response: HttpResponse | None) -> str | None:
    if response is None:
        return None
    body: Any = response.body
    if body is None and response.data:
        try:
            body = json.loads(response.data)
        except ValueError:
            return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


def _problem(response: HttpResponse | None, error: Exception | None) -> str:
    if response is None:
        return type(error).__name__
    code = _error_code(response)
    return f"HTTP {response.status_code}" + (f" {code}" if code else "")


class _DeadlineBound(RetryHandler):
    """Requests the next attempt only when the budget says it fits (see the module docstring)."""

    budget: RetryBudget

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        wait = self._wait(state, response)
        if self.budget.wait_for_next_attempt(wait, _method(request), _problem(response, error)):
            state.next_attempt_requested = True
            self._count(state)

    def _wait(self, state: RetryState, response: HttpResponse | None) -> float:
        return self.interval_calculator.calculate_sleep_duration(state.current_attempt)

    def _count(self, state: RetryState) -> None:
        state.increment_current_attempt()


class RateLimited(_DeadlineBound, RateLimitErrorRetryHandler):
    """429: wait ``Retry-After`` (seconds or an HTTP-date) plus jitter; attempts are not used up."""

    def __init__(self, budget: RetryBudget) -> None:
        super().__init__(
            max_retry_count=MAX_RATE_LIMITED_RETRIES, interval_calculator=FullJitterBackoff(budget.rng)
        )
        self.budget = budget

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        limited = super()._can_retry(state=state, request=request, response=response, error=error)
        return limited and self.budget.rate_limited < MAX_RATE_LIMITED_RETRIES

    def _wait(self, state: RetryState, response: HttpResponse | None) -> float:
        self.budget.rate_limited += 1
        header = next(
            (
                value
                for name, value in (response.headers if response else {}).items()
                if name.lower() == "retry-after"
            ),
            "",
        )
        text = header[0] if isinstance(header, list) and header else header
        seconds = parse_retry_after(str(text), self.budget.wall_clock())
        if seconds is None:
            return self.interval_calculator.calculate_sleep_duration(self.budget.rate_limited - 1)
        jitter = self.budget.rng() * min(_RATE_LIMIT_JITTER_CAP, 0.125 * 2**self.budget.rate_limited)
        return seconds + float(jitter)

    def _count(self, state: RetryState) -> None:
        return  # a 429 says when to come back; it is not a failure


class ServerErrors(_DeadlineBound, ServerErrorRetryHandler):
    """Any 5xx, and an ``ok: false`` answer whose code is in :data:`TRANSIENT_ERRORS` (not 429s)."""

    def __init__(self, budget: RetryBudget, max_attempts: int) -> None:
        super().__init__(max_retry_count=max_attempts - 1, interval_calculator=FullJitterBackoff(budget.rng))
        self.budget = budget

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code == 429:
            return False
        return response.status_code >= 500 or _error_code(response) in TRANSIENT_ERRORS


class ConnectionErrors(_DeadlineBound, ConnectionErrorRetryHandler):
    """Connection refused or reset, the connection dropped, a connect or read timeout."""

    def __init__(self, budget: RetryBudget, max_attempts: int) -> None:
        super().__init__(
            max_retry_count=max_attempts - 1,
            interval_calculator=FullJitterBackoff(budget.rng),
            # a read timeout surfaces as a bare TimeoutError, which the built-in list lacks
            error_types=[URLError, ConnectionError, TimeoutError, http.client.HTTPException],
        )
        self.budget = budget


def retry_handlers(budget: RetryBudget, max_attempts: int) -> list[RetryHandler]:
    """The handlers for one call, in the order the client consults them."""
    return [RateLimited(budget), ServerErrors(budget, max_attempts), ConnectionErrors(budget, max_attempts)]
