"""A DynamoDB stand-in on 127.0.0.1: moto's server mode, with the notifier's state table in it.

Any botocore client reaches it through ``AWS_ENDPOINT_URL_DYNAMODB`` (or ``endpoint_url``), from
this process or a child process, so the deployed code path (``STATE_TABLE_NAME`` set, the
DynamoDB client built by :mod:`handler.state.dynamodb` or :func:`handler.runtime.aws_runtime`) runs
unchanged against it. The table is created as the stack creates it: partition key ``pk`` (a
string) and on-demand billing.

It serves what ``moto.server.ThreadedMotoServer`` serves (moto's WSGI dispatcher on werkzeug),
with one thin layer in front that counts requests per operation (``X-Amz-Target``) in
:attr:`DynamoDBStandIn.calls`: what the benchmarks compare against the minimum. Each request that
reaches the server is counted, botocore's retries included; the table creation is not.

moto keeps its tables in process-wide memory, so two stand-ins in one process share them; each
stand-in recreates its table empty when it starts.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

TABLE_NAME = "notifier-state"
REGION = "us-east-1"
TARGET_PREFIX = "DynamoDB_20120810."

_WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class DynamoDBStandIn:
    """moto's DynamoDB on a free loopback port; see the module docstring.

    Args:
        table_name: the state table to create.
        region: the table's region; clients must sign for this region to see it.
    """

    def __init__(self, table_name: str = TABLE_NAME, region: str = REGION) -> None:
        self.table_name = table_name
        self.region = region
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> DynamoDBStandIn:
        # Deferred: moto's server pulls in Flask, which nothing else here needs. These are the parts
        # moto.server.ThreadedMotoServer assembles, assembled here with the counting layer added.
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        class QuietHandler(MotoRequestHandler):
            def log(self, *args: Any) -> None:  # werkzeug logs every request line otherwise
                return

        self._server = make_server(
            "127.0.0.1",
            0,
            self._counting(DomainDispatcherApplication(create_backend_app)),
            threaded=True,
            request_handler=QuietHandler,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self._create_table()
        self.calls.clear()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def client(self) -> Any:
        """A botocore DynamoDB client for this stand-in (test credentials, no retries)."""
        import botocore.session
        from botocore.config import Config

        return botocore.session.get_session().create_client(
            "dynamodb",
            region_name=self.region,
            endpoint_url=self.url,
            aws_access_key_id="standin",
            aws_secret_access_key="standin",
            config=Config(retries={"mode": "standard", "max_attempts": 1}),
        )

    def environment(self) -> dict[str, str]:
        """The variables that point the notifier's state store at this table."""
        return {
            "STATE_TABLE_NAME": self.table_name,
            "AWS_ENDPOINT_URL_DYNAMODB": self.url,
            "AWS_REGION": self.region,
        }

    def _create_table(self) -> None:
        client = self.client()
        if self.table_name in client.list_tables()["TableNames"]:
            client.delete_table(TableName=self.table_name)
        client.create_table(
            TableName=self.table_name,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )

    def _counting(self, app: _WsgiApp) -> _WsgiApp:
        def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            operation = str(environ.get("HTTP_X_AMZ_TARGET", "")).removeprefix(TARGET_PREFIX)
            with self._lock:
                self.calls[operation or "?"] += 1
            return app(environ, start_response)

        return counted


@contextmanager
def running(table_name: str = TABLE_NAME, region: str = REGION) -> Iterator[DynamoDBStandIn]:
    """A started stand-in with an empty table, stopped on exit."""
    stand_in = DynamoDBStandIn(table_name, region).start()
    try:
        yield stand_in
    finally:
        stand_in.stop()
