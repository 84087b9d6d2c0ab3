"""Our notifier with one cold-start lever undone (or one more applied), for ``python -m bench.levers``.

``python bench/lever_variant.py VARIANT EVENT.json`` runs what ``our_notifier.py`` runs, after
swapping one piece of the notifier (this is a measuring tool, not a way to configure it):

* ``ours``: unchanged;
* ``charset-normalizer``: requests finds its optional encoding guesser, as it would if the asset
  bundled it (this environment's copy is put on the path);
* ``no-prefetch``: the head, the tip and its changes are read one after the other on the one
  thread, after the claim, not beside it and the merge base;
* ``full-data``: the session reads botocore's own data (every service's endpoints, whole models,
  the scan of its service directories) instead of the trimmed data in ``handler/aws/data/``;
* ``boto3``: clients from ``boto3.client`` (which imports boto3 and s3transfer, and reads
  botocore's own data);
* ``sessions``: a session (with the trimmed data) per client;
* ``gc``: the garbage collector as usual throughout: not held off for the cold start
  (``handler/__init__.py``), nor paused while a client is made;
* ``requests-at-post``: ``requests`` imported when the webhook client is made, just before the
  post, not while the read-ahead reads (``Senders.ready_webhook_client`` does nothing);
* ``routing-always``: ``handler.routing`` imported at start, as if ``ROUTES`` were set.
"""

import gc
import sys

VARIANT = sys.argv[1]
if VARIANT == "gc":  # handler/__init__.py holds the collector off only where _HANDLER is set
    import os

    del os.environ["_HANDLER"]
if VARIANT == "charset-normalizer":
    import tempfile
    from pathlib import Path as _Path

    # this environment's site-packages (sys.prefix is not the virtualenv's under python -S)
    _version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    _site = _Path(sys.executable).parent.parent / "lib" / _version / "site-packages"
    _only = _Path(tempfile.mkdtemp(prefix="charset-"))
    (_only / "charset_normalizer").symlink_to(_site / "charset_normalizer")
    sys.path.append(str(_only))
    if not (_only / "charset_normalizer" / "__init__.py").exists():
        raise SystemExit(f"charset_normalizer is not installed in {_site}")

import json  # noqa: E402 (the variant decides what the imports below run under)
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import handler.app  # noqa: E402
import handler.aws.clients  # noqa: E402
import handler.pipelines.push  # noqa: E402
from bench.sequential import NoPrefetch, ReadWhenAsked  # noqa: E402

assert gc.isenabled() == (VARIANT == "gc"), "the cold-start pause is on exactly when it should be"

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


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


if __name__ == "__main__":
    if VARIANT in REPLACEMENTS:
        name, replacement = REPLACEMENTS[VARIANT]
        setattr(handler.aws.clients.AwsClients, name, replacement)
    elif VARIANT == "no-prefetch":
        setattr(handler.pipelines.push, "TipPrefetch", NoPrefetch)  # noqa: B010 (the push path looks them up there)
        setattr(handler.pipelines.push, "ReadAhead", ReadWhenAsked)  # noqa: B010
    elif VARIANT == "full-data":
        handler.aws.clients.trimmed_session = full_data_session
    elif VARIANT == "requests-at-post":
        import handler.deliver.senders

        handler.deliver.senders.Senders.ready_webhook_client = lambda self: None  # type: ignore[method-assign]
    elif VARIANT == "routing-always":
        import handler.routing  # its import is the lever
    elif VARIANT not in ("ours", "charset-normalizer"):
        raise SystemExit(f"unknown variant {VARIANT!r}")
    handler.app.lambda_handler(json.loads(Path(sys.argv[2]).read_text()), Context())
