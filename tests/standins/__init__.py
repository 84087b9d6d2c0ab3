"""Loopback stand-ins for the services the notifier talks to (used by the tests and ``bench/``)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _ReadyServer(ThreadingHTTPServer):
    """A server whose :attr:`serving` is set once its thread runs ``serve_forever``.

    The socket already listens (the constructor binds and listens), so a client connecting in
    between is queued by the kernel and answered by the first ``select``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.serving = threading.Event()

    def serve_forever(self, poll_interval: float = 0.05) -> None:
        """Serve; ``poll_interval`` is how soon :meth:`shutdown` is noticed (the standard library's
        0.5 s made every stand-in's stop, hundreds per suite, wait half a second)."""
        self.serving.set()
        super().serve_forever(poll_interval)


class LoopbackServer:
    """An HTTP server on 127.0.0.1 (a free port) serving in a daemon thread until :meth:`stop`."""

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the stand-in first"
        return int(self._server.server_address[1])

    def serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        """Bind, listen, and return only once the serving thread runs.

        Returning earlier would let :meth:`stop` race the thread's start, and a client could wait
        on a server nobody serves yet; waiting makes "started" mean "answering", whatever the load.
        """
        self._server = _ReadyServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        if not self._server.serving.wait(timeout=60):
            raise RuntimeError("the loopback stand-in did not start serving within 60 s")

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
