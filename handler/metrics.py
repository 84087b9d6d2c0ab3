"""What ops can watch: one invocation's counts, written as CloudWatch Embedded Metric Format lines.

CloudWatch Logs turns each EMF line the function prints into metrics (namespace ``METRICS_NAMESPACE``,
default ``CodeCommitNotifier``), so no PutMetricData call, no extra permission and no time spent on
the post's path. The stack's dashboard and alarms (``cdk/observability.py``) read these:

================  =======  =====================================  ==========================================
metric            unit     dimension sets                         counts
================  =======  =====================================  ==========================================
EventsReceived    Count    [], [Source, Kind]                     events taken in, by source and kind
Delivered         Count    [], [Source], [Destination]            a part of an event posted to a destination
Duplicate         Count    [], [Source], [Destination]            a redelivery that posted nothing
Late              Count    [], [Source], [Destination]            a push a later one already reported
Filtered          Count    [], [Source], [Destination]            a part no route or filter let through
Dropped           Count    [], [Source], [Destination]            malformed or foreign input, not retried
Raised            Count    [], [Source], [Destination]            a failure raised for Lambda to retry
DeliveryAttempts  Count    [], [Destination]                      HTTP attempts the posts took
RateLimited       Count    [], [Destination]                      429 answers followed
ColdStart         Count    [Function]                             a container's first invocation
Lag               Seconds  [], [Source]                           event time → posted
================  =======  =====================================  ==========================================

``Destination`` is ``-`` where the outcome came before routing (a duplicate event, a dropped one).
Dimensions stay few and their values from small sets: a repository name is added (a ``[Repository]``
set on the outcomes) only where ``METRICS_BY_REPOSITORY`` is on, since every value is a metric
CloudWatch bills.

Written by hand rather than with aws-lambda-powertools' ``Metrics``: this module is about 150 lines
and imports only ``json``; Powertools' metrics import about 20 ms more at cold start (measured in
docs/performance.md), and its one dimension set per metric cannot publish the ``[]`` aggregate
beside the per-dimension sets that the alarms use. The format follows the EMF specification: one
JSON object a line, ``_aws.Timestamp`` in milliseconds, each dimension key a string member of the
root, each metric's value a number or an array of at most 100 numbers.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

DEFAULT_NAMESPACE = "CodeCommitNotifier"
NO_DESTINATION = "-"
#: EMF takes at most 100 values in one metric's array.
MAX_VALUES = 100

#: Every metric and its unit; the dimension sets are chosen where each is recorded.
UNITS: Mapping[str, str] = {
    "EventsReceived": "Count",
    "Delivered": "Count",
    "Duplicate": "Count",
    "Late": "Count",
    "Filtered": "Count",
    "Dropped": "Count",
    "Raised": "Count",
    "DeliveryAttempts": "Count",
    "RateLimited": "Count",
    "ColdStart": "Count",
    "Lag": "Seconds",
}
#: The outcome names the pipelines log, and the metric each one counts in.
OUTCOME_METRICS: Mapping[str, str] = {
    "delivered": "Delivered",
    "duplicate": "Duplicate",
    "late": "Late",
    "filtered": "Filtered",
    "dropped": "Dropped",
    "raised": "Raised",
}

#: (metric, dimension names, dimension values): what one line carries.
_Key = tuple[str, tuple[str, ...], tuple[str, ...]]


class Metrics:
    """One invocation's metrics, kept until :meth:`flush` writes them. (A plain class, not a
    dataclass: it is imported at every cold start, and a dataclass costs about a millisecond more.)

    Args:
        namespace: the CloudWatch namespace.
        write: where each EMF line goes (``print`` to stdout in Lambda, which CloudWatch Logs reads);
            None records but writes nothing (local previews, the demo).
        by_repository: add a ``[Repository]`` dimension set to the outcomes (``METRICS_BY_REPOSITORY``).
        clock: seconds since the epoch, for the timestamp.
    """

    def __init__(
        self,
        namespace: str = DEFAULT_NAMESPACE,
        write: Callable[[str], object] | None = None,
        by_repository: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.namespace = namespace
        self.write = write
        self.by_repository = by_repository
        self.clock = clock
        self._values: dict[_Key, list[float]] = defaultdict(list)

    @classmethod
    def to_stdout(cls, namespace: str = DEFAULT_NAMESPACE, *, by_repository: bool = False) -> Metrics:
        """The deployed function's: each line to stdout, where CloudWatch Logs reads it
        (``METRICS_NAMESPACE`` and ``METRICS_BY_REPOSITORY`` in ``handler/settings.py``)."""
        return cls(namespace=namespace, write=_stdout, by_repository=by_repository)

    def event(self, source: str, kind: str) -> None:
        """An event taken in."""
        self._add("EventsReceived", 1, {"Source": source, "Kind": kind}, aggregate=True)

    def outcome(
        self, outcome: str, source: str, destinations: Sequence[str] = (), *, repository: str = ""
    ) -> None:
        """What became of one part of an event (a push, a pull-request activity), as the logs say it.

        The aggregate and ``[Source]`` count the part once; ``[Destination]`` counts it once per
        destination it concerns (delivered to, or failed at), or once as ``-`` where it concerns none.
        """
        metric = OUTCOME_METRICS[outcome]
        self._add(metric, 1, {"Source": source}, aggregate=True)
        for destination in destinations or (NO_DESTINATION,):
            self._add(metric, 1, {"Destination": destination}, aggregate=False)
        if self.by_repository and repository:
            self._add(metric, 1, {"Repository": repository}, aggregate=False)

    def delivery(self, destination: str, *, attempts: int, rate_limited: int) -> None:
        """The HTTP attempts one post took, and how many 429s it followed."""
        self._add("DeliveryAttempts", attempts, {"Destination": destination}, aggregate=True)
        self._add("RateLimited", rate_limited, {"Destination": destination}, aggregate=True)

    def delivery_failed(self, destination: str, error: BaseException) -> None:
        """The attempts and 429s a post took before it failed, where its error says them."""
        attempts, rate_limited = (int(getattr(error, name, 0) or 0) for name in ("attempts", "rate_limited"))
        self.delivery(destination, attempts=attempts, rate_limited=rate_limited)

    def lag(self, source: str, seconds: float) -> None:
        """From the event's time to its post (never negative: clocks differ by a little)."""
        self._add("Lag", max(0.0, round(seconds, 3)), {"Source": source}, aggregate=True)

    def cold_start(self, function: str) -> None:
        """A container's first invocation (``function``: notifier, chat or gitlab)."""
        self._add("ColdStart", 1, {"Function": function}, aggregate=False)

    def flush(self) -> list[str]:
        """Write what was recorded as EMF lines (one per metric and dimension values) and forget it.

        Returns:
            The lines written (also when ``write`` is None, so the caller can see them).
        """
        timestamp = int(self.clock() * 1000)
        lines = []
        for (metric, names, values), numbers in sorted(self._values.items()):
            chunks = (
                [[sum(numbers)]]
                if UNITS[metric] == "Count"  # a count is one sum; a distribution (Lag) keeps each value
                else [numbers[start : start + MAX_VALUES] for start in range(0, len(numbers), MAX_VALUES)]
            )
            for chunk in chunks:
                document: dict[str, object] = {
                    "_aws": {
                        "Timestamp": timestamp,
                        "CloudWatchMetrics": [
                            {
                                "Namespace": self.namespace,
                                "Dimensions": [list(names)],
                                "Metrics": [{"Name": metric, "Unit": UNITS[metric]}],
                            }
                        ],
                    },
                    **dict(zip(names, values, strict=True)),
                    metric: chunk[0] if len(chunk) == 1 else chunk,
                }
                lines.append(json.dumps(document, separators=(",", ":"), ensure_ascii=False))
        self._values.clear()
        if self.write is not None:
            for line in lines:
                self.write(line)
        return lines

    def _add(self, metric: str, value: float, dimensions: Mapping[str, str], *, aggregate: bool) -> None:
        names = tuple(dimensions)
        self._values[(metric, names, tuple(dimensions[name] for name in names))].append(value)
        if aggregate:
            self._values[(metric, (), ())].append(value)


def _stdout(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


#: The entries whose container has had its first invocation (``ColdStart`` is counted once each).
_STARTED: set[str] = set()


def for_front_door(function: str, environ: Mapping[str, str]) -> Metrics:
    """One invocation's metrics for a front door (``chat``, ``gitlab``), its cold start counted the
    first time; the notifier's own come from its runtime (``handler.runtime``). An unusable
    ``METRICS_NAMESPACE`` falls back to the default here: the notifier's settings refuse it loudly."""
    namespace = environ.get("METRICS_NAMESPACE", "").strip() or DEFAULT_NAMESPACE
    if namespace.startswith("AWS/") or len(namespace) > 255:
        namespace = DEFAULT_NAMESPACE
    metrics = Metrics.to_stdout(namespace)
    if function not in _STARTED:
        _STARTED.add(function)
        metrics.cold_start(function)
    return metrics
