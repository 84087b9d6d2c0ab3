"""AWS stand-ins in processes of their own, for the cold-start measurements.

The test stand-ins (``tests/standins``) answer from threads of the process that starts them. For
the cold start that matters: the notifier reads its DynamoDB state and its CodeCommit tip at the
same time (``handler/enrich/prefetch.py``), which AWS answers from different hosts at once; two
stand-ins in one Python process answer one request at a time (one interpreter lock), and the bench
process itself would compete with them. Here each stand-in runs in a process of its own (spawned),
as an AWS service is a host of its own, and the bench reads its call counts over a pipe.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Literal

Kind = Literal["codecommit", "dynamodb"]
_START_SECONDS = 60


def _serve(kind: Kind, repositories: dict[str, Path], connection: Connection) -> None:
    """The child: start the stand-in, send its address, answer call-count requests until stopped."""
    from tests.standins import codecommit, dynamodb

    running = codecommit.running(repositories) if kind == "codecommit" else dynamodb.running()
    with running as stand_in:
        environment = stand_in.environment() if isinstance(stand_in, dynamodb.DynamoDBStandIn) else {}
        connection.send((stand_in.url, environment))
        while connection.recv() == "calls":
            connection.send(Counter(stand_in.calls))


class HostedStandIn:
    """A stand-in in its own process: its ``url``, ``environment()`` and ``calls`` (a snapshot)."""

    def __init__(self, kind: Kind, repositories: dict[str, Path] | None = None) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(kind, repositories or {}, child), name=f"{kind}-stand-in", daemon=True
        )
        self._process.start()
        waited = 0.0
        while not self._pipe.poll(0.25):
            waited += 0.25
            if not self._process.is_alive() or waited >= _START_SECONDS:
                self._process.kill()
                raise RuntimeError(
                    f"the {kind} stand-in did not start (exit code {self._process.exitcode}, "
                    f"{waited:.0f} s); its error is printed above"
                )
        self.url: str
        self._environment: dict[str, str]
        self.url, self._environment = self._pipe.recv()

    @property
    def calls(self) -> Counter[str]:
        self._pipe.send("calls")
        calls: Counter[str] = self._pipe.recv()
        return calls

    def environment(self) -> dict[str, str]:
        return dict(self._environment)

    def stop(self) -> None:
        self._pipe.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


@contextmanager
def hosted(kind: Kind, repositories: dict[str, Path] | None = None) -> Iterator[HostedStandIn]:
    """A :class:`HostedStandIn`, stopped on exit."""
    stand_in = HostedStandIn(kind, repositories)
    try:
        yield stand_in
    finally:
        stand_in.stop()
