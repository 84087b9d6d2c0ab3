"""Links into the CodeCommit console, built from the repository's partition and region.

Formats (the CodeCommit console's own URLs)::

    https://<region>.console.aws.amazon.com/codesuite/codecommit/repositories/<repo>/commit/<sha>?region=<region>
    .../repositories/<repo>/browse/refs/heads/<branch>?region=<region>
    .../repositories/<repo>/browse/refs/tags/<tag>?region=<region>

Branch names keep their slashes (``feature/login-v2`` stays readable in the URL); every other
character outside the unreserved set is percent-encoded, so a URL can never carry ``|``, ``<`` or
``>`` into a Slack ``<url|label>`` link.

Three rules keep every link honest, whatever the event says:

* **No link climbs out of the repository.** A path segment of ``.`` or ``..`` (a forged ref like
  ``refs/heads/../../other-repo``) would be resolved by the browser, so such a ref links to the
  repository's code browser instead. Percent-encoding the dots would not help: browsers decode
  ``%2E%2E`` as ``..`` too.
* **No link to a console we cannot name.** Only the partitions whose console domain is known get
  links (:data:`CONSOLE_DOMAINS`); for any other (the isolated ``aws-iso*`` partitions, say) every
  function returns None and the message shows plain text, rather than a link to the commercial
  console, where the repository does not exist.
* **No function raises on any text.** Lone surrogates and control characters become U+FFFD before
  encoding, so a hostile ref name costs a replacement character, never the message.
"""

from __future__ import annotations

from urllib.parse import quote

from handler.model import Repository
from handler.render.mrkdwn import scrub

CONSOLE_DOMAINS = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}
_DOT_SEGMENTS = frozenset({".", ".."})


def _encode(text: str, safe: str = "") -> str:
    return quote(scrub(text), safe=safe)


def console_base(repository: Repository) -> str | None:
    """``https://<region>.<console domain>/codesuite/codecommit/repositories/<repo>``.

    None when the partition's console domain is not known, or the repository's name could not
    be a path segment (``.``, ``..``; the parser refuses those anyway).
    """
    domain = CONSOLE_DOMAINS.get(repository.partition)
    if domain is None or repository.name in _DOT_SEGMENTS:
        return None
    region = _encode(repository.region)
    return f"https://{region}.{domain}/codesuite/codecommit/repositories/{_encode(repository.name)}"


def _with_region(repository: Repository, path: str) -> str | None:
    base = console_base(repository)
    if base is None:
        return None
    return f"{base}/{path}?region={_encode(repository.region)}"


def repository_url(repository: Repository) -> str | None:
    """The repository's code browser."""
    return _with_region(repository, "browse")


def commit_url(repository: Repository, commit_id: str) -> str | None:
    """One commit's page (the repository's code browser if the id could climb out of the path)."""
    if commit_id in _DOT_SEGMENTS:
        return repository_url(repository)
    return _with_region(repository, f"commit/{_encode(commit_id)}")


def ref_url(repository: Repository, full_ref: str) -> str | None:
    """The code browser at a branch or tag (``refs/heads/...`` or ``refs/tags/...``).

    A ref with an empty, ``.`` or ``..`` segment links to the repository's code browser.
    """
    if any(segment in _DOT_SEGMENTS or not segment for segment in full_ref.split("/")):
        return repository_url(repository)
    return _with_region(repository, f"browse/{_encode(full_ref, safe='/')}")


def compare_url(repository: Repository, before_id: str, after_id: str) -> str | None:
    """The console's comparison of two commits (the form CodeCommit's own notifications use)."""
    if before_id in _DOT_SEGMENTS or after_id in _DOT_SEGMENTS:
        return repository_url(repository)
    return _with_region(repository, f"compare/{_encode(before_id)}/.../{_encode(after_id)}")
