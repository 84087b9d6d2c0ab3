"""Our notifier with one cold-start lever undone (or one more applied), for ``python -m bench.levers``.

``python bench/lever_variant.py VARIANT EVENT.json`` runs what ``our_notifier.py`` runs, after
swapping one piece of :class:`handler.app._AwsClients` (a private class: this is a measuring
tool, not a way to configure the notifier):

* ``ours``: unchanged;
* ``boto3``: clients from ``boto3.client`` (which imports boto3 and s3transfer);
* ``sessions``: a botocore session per client;
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

if VARIANT == "import-gc":
    gc.freeze()
    gc.enable()


def boto3_client(clients: Any, service: str, region: str | None) -> Any:
    import boto3

    return boto3.client(service, region_name=region, config=clients._config)


def own_session_client(clients: Any, service: str, region: str | None) -> Any:
    import botocore.session

    return botocore.session.get_session().create_client(service, region_name=region, config=clients._config)


def collected_get(clients: Any, service: str, region: str | None) -> Any:
    if (service, region) not in clients._clients:
        clients._clients[(service, region)] = clients._create(service, region)
    return clients._clients[(service, region)]


REPLACEMENTS = {"boto3": ("_create", boto3_client), "sessions": ("_create", own_session_client)}
REPLACEMENTS["gc"] = ("get", collected_get)


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


if __name__ == "__main__":
    if VARIANT in REPLACEMENTS:
        name, replacement = REPLACEMENTS[VARIANT]
        setattr(handler.app._AwsClients, name, replacement)
    elif VARIANT not in ("ours", "import-gc"):
        raise SystemExit(f"unknown variant {VARIANT!r}")
    handler.app.lambda_handler(json.loads(Path(sys.argv[2]).read_text()), Context())
