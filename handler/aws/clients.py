"""The deployed function's AWS clients: one botocore session, one client per service and region."""

from __future__ import annotations

import gc
import threading
from typing import Any

from botocore.config import Config

from handler.deadline import Deadline
from handler.errors import DeadlineReached

#: Held while a client is made: made one at a time, the collector's state is restored exactly.
_CREATING = threading.Lock()


class AwsClients:
    """Clients from ONE botocore session, one per (service, region), made on first use.

    Four choices here, each measured by ``python -m bench.levers`` (README, Performance):

    * botocore rather than ``boto3.client``: importing boto3 imports s3transfer too, which the
      function never uses. Clients are still made the ordinary way, so ``AWS_ENDPOINT_URL_CODECOMMIT``
      and the other standard variables point them elsewhere.
    * One session for every client (CodeCommit, Secrets Manager, DynamoDB): the session loads the
      endpoint data once; each further client only loads its own model.
    * The session reads its data through :class:`handler.aws.models.TrimmedDataLoader`: the
      endpoint entries and service models of the operations the function calls, not all of
      botocore's, and no scan of its ~440 service directories.
    * No garbage collection while a client is made, and everything alive afterwards frozen
      (:func:`gc.freeze`): a client's service model is thousands of long-lived objects, and
      without this, the collector re-examines them, and every module imported before them,
      several times during the first invocation. They live as long as the container anyway. The
      cost: cyclic garbage that exists at that moment is never collected; clients are made a
      few times per container at most. (In Lambda the collector is already off for the whole
      cold start, ``handler/__init__.py``; this keeps the same rule for clients made later.)

    Every attempt of every client's calls (retries included) is bounded by :attr:`deadline`, the
    current invocation's: an attempt starts only if its whole timeout (connect + read) fits in the
    time left, else :class:`~handler.errors.DeadlineReached` is raised and Lambda retries the event.
    So a slow DynamoDB, Secrets Manager, SSM or CodeCommit never runs an invocation past its end.

    Args:
        config: the settings of every client but DynamoDB's.
        dynamodb_config: DynamoDB's (single-item calls: short timeouts, few attempts).
    """

    def __init__(self, config: Config, dynamodb_config: Config) -> None:
        self._configs = {"dynamodb": dynamodb_config}
        self._config = config
        self._session: Any = None
        self._clients: dict[tuple[str, str | None], Any] = {}
        #: The invocation's deadline (set at the start of each invocation); None: unbounded.
        self.deadline: Deadline | None = None

    def get(self, service: str, region: str | None) -> Any:
        """The client for ``service`` in ``region`` (None: botocore's own region lookup)."""
        with _CREATING:  # one at a time: the collector's switch is process-wide
            if (service, region) not in self._clients:
                collecting = gc.isenabled()  # off during a cold start in Lambda (handler/__init__.py)
                gc.disable()
                try:
                    self._clients[(service, region)] = self._create(service, region)
                finally:
                    gc.freeze()
                    if collecting:
                        gc.enable()
            return self._clients[(service, region)]

    def _create(self, service: str, region: str | None) -> Any:
        if self._session is None:
            self._session = trimmed_session()
        config = self._configs.get(service, self._config)
        client = self._session.create_client(service, region_name=region, config=config)
        attempt_seconds = float(config.connect_timeout or 0) + float(config.read_timeout or 0)

        def before_attempt(model: Any = None, **_: Any) -> None:
            deadline = self.deadline
            if deadline is None:
                return
            left = deadline.seconds_left()
            if left < attempt_seconds:
                operation = getattr(model, "name", "a call")
                raise DeadlineReached(
                    f"{service} {operation} was not attempted: {left:.1f} s left in the invocation, and "
                    f"an attempt may take {attempt_seconds:.0f} s; raising so Lambda retries the event"
                )

        client.meta.events.register("before-send", before_attempt)  # this client's events only
        return client


def trimmed_session() -> Any:
    """A botocore session that reads its data through :class:`~handler.aws.models.TrimmedDataLoader`."""
    import botocore.session  # here: the local preview and the demo never need AWS

    from handler.aws.models import TrimmedDataLoader

    session = botocore.session.get_session()
    session.register_component("data_loader", TrimmedDataLoader(session.get_config_variable("data_path")))
    return session
