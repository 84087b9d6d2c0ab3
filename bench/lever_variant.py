"""Our notifier with one cold-start lever undone (or one more applied), for ``python -m bench.levers``.

``python bench/lever_variant.py VARIANT EVENT.json`` runs what ``our_notifier.py`` runs, after
swapping one piece of :class:`handler.aws.clients.AwsClients` (this is a measuring tool, not a
way to configure the notifier):

* ``ours``: unchanged;
* ``no-prefetch``: the tip and its changes are read after the recorded head, not beside it;
* ``full-data``: the session reads botocore's own data (every service's endpoints, whole models,
  the scan of its service directories) instead of the trimmed data in ``handler/aws/data/``;
* ``boto3``: clients from ``boto3.client`` (which imports boto3 and s3transfer, and reads
  botocore's own data);
* ``sessions``: a session (with the trimmed data) per client;
* ``gc``: no garbage-collection pause and freeze while a client is made;
* ``import-gc``: additionally, no garbage collection while ``handler.app`` is imported (not in
  the notifier: it would have to live in ``handler/__init__.py``).
"""

import gc
import sys

VARIANT = sys.argv[1]
if VARIANT == "import-gc":
    gc.disable()

import json  # noqa: E402 (the variant decides what the imports below run under)
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import handler.app  # noqa: E402
import handler.aws.clients  # noqa: E402

if VARIANT == "import-gc":
    gc.freeze()
    gc.enable()


def config_for(clients: Any, service: str) -> Any:
    return clients._configs.get(service, clients._config)


def boto3_client(clients: Any, service: str, region: str | None) -> Any:
    import boto3

    return boto3.client(service, region_name=region, config=config_for(clients, service))


def own_session_client(clients: Any, service: str, region: str | None) -> Any:
    session = handler.aws.clients.trimmed_session()
    return session.create_client(service, region_name=region, config=config_for(clients, service))


def full_data_session() -> Any:
    import botocore.session

    return botocore.session.get_session()


def collected_get(clients: Any, service: str, region: str | None) -> Any:
    if (service, region) not in clients._clients:
        clients._clients[(service, region)] = clients._create(service, region)
    return clients._clients[(service, region)]


REPLACEMENTS = {"boto3": ("_create", boto3_client), "sessions": ("_create", own_session_client)}
REPLACEMENTS["gc"] = ("get", collected_get)


class NoPrefetch:
    """Stands in for :class:`handler.enrich.prefetch.TipPrefetch`: the wrapped reader, nothing read ahead."""

    def __init__(self, reader: Any, tips: Any) -> None:
        self.reader = reader

    def __enter__(self) -> Any:
        return self.reader

    def __exit__(self, *_: object) -> None:
        pass


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


if __name__ == "__main__":
    if VARIANT in REPLACEMENTS:
        name, replacement = REPLACEMENTS[VARIANT]
        setattr(handler.aws.clients.AwsClients, name, replacement)
    elif VARIANT == "no-prefetch":
        setattr(handler.app, "TipPrefetch", NoPrefetch)  # noqa: B010 (app.py looks it up there)
    elif VARIANT == "full-data":
        handler.aws.clients.trimmed_session = full_data_session
    elif VARIANT not in ("ours", "import-gc"):
        raise SystemExit(f"unknown variant {VARIANT!r}")
    handler.app.lambda_handler(json.loads(Path(sys.argv[2]).read_text()), Context())
