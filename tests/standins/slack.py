"""A Slack incoming-webhook stand-in on 127.0.0.1, scripted per request.

Each request takes the next :class:`Reply` from the script (then ``default`` once the script is
spent). ``delivered`` holds the payloads answered with 200: what reached the channel. A reply can
be slow (``delay``), or ``drop`` the connection without answering (a connection reset).

A reply that is slow and not 200 models Slack's edge timing out before posting: the payload is
not delivered, so a client that gave up and retried must still end with exactly one post.

With ``per_second`` set, it enforces Slack's webhook rate limit instead: at most that many posts
a second, and 429 with ``Retry-After`` for the rest.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Self

from tests.standins import LoopbackServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    #: Set when the request has arrived; the answer then waits until ``release`` is set (a post
    #: held mid-flight, so a test can run another invocation meanwhile).
    arrived: threading.Event | None = None
    release: threading.Event | None = None


class SlackStandIn(LoopbackServer):
    def __init__(
        self,
        script: list[Reply] | None = None,
        *,
        default: Reply | None = None,
        per_second: float | None = None,
    ) -> None:
        self.script = list(script or [])
        self.default = default or Reply()
        self.per_second = per_second
        self.delivered: list[dict[str, Any]] = []
        #: time.perf_counter() at each delivery, for benchmarks that time "until the post arrives"
        self.delivered_at: list[float] = []
        self.requests = 0
        self.rate_limited = 0
        self._next_slot = 0.0
        self._lock = threading.Lock()
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/T000/B000/SECRETPATH"

    def _next_reply(self) -> Reply:
        with self._lock:
            self.requests += 1
            if self.per_second is not None:
                now = time.monotonic()
                if now >= self._next_slot:
                    self._next_slot = now + 1.0 / self.per_second
                    return Reply()
                self.rate_limited += 1
                wait = math.ceil(self._next_slot - now)
                return Reply(429, "rate_limited", {"Retry-After": str(max(1, wait))})
            return self.script.pop(0) if self.script else self.default

    def answer(self, path: str, body: bytes) -> tuple[Reply, dict[str, Any]]:
        """The reply to a POST of ``body`` to ``path``, and the payload a 2xx reply delivers.

        Slack's stand-in follows its script whatever was posted; a subclass can judge the request
        first (the Mattermost stand-in refuses what the real server refuses).
        """
        return self._next_reply(), json.loads(body)

    def start(self) -> Self:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else a 40 ms delayed-ACK stall between headers and body

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                reply, payload = stand_in.answer(self.path, self.rfile.read(length))
                if reply.arrived is not None:
                    reply.arrived.set()
                if reply.release is not None:
                    reply.release.wait(timeout=120)  # bounded, so a broken test ends rather than hangs
                time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if 200 <= reply.status < 300:
                    with stand_in._lock:
                        stand_in.delivered.append(payload)
                        stand_in.delivered_at.append(time.perf_counter())
                data = b"" if reply.status == 204 else reply.body.encode()
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if reply.status != 204:
                        self.send_header("Content-Type", reply.headers.get("Content-Type", "text/plain"))
                        self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                return

        self.serve(Handler)
        return self


@contextmanager
def running(script: list[Reply] | None = None, **kwargs: Any) -> Iterator[SlackStandIn]:
    stand_in = SlackStandIn(script, **kwargs).start()
    try:
        yield stand_in
    finally:
        stand_in.stop()
