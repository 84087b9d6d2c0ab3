"""Links into the CodeCommit console, built from the repository's partition and region.

Formats (see reference/codecommit-slack-facts.md, section D)::

    https://<region>.console.aws.amazon.com/codesuite/codecommit/repositories/<repo>/commit/<sha>?region=<region>
    .../repositories/<repo>/browse/refs/heads/<branch>?region=<region>
    .../repositories/<repo>/browse/refs/tags/<tag>?region=<region>

Branch names keep their slashes (``feature/login-v2`` stays readable in the URL); every other
character outside the unreserved set is percent-encoded, so a URL can never carry ``|``, ``<`` or
``>`` into a Slack ``<url|label>`` link.
"""

from __future__ import annotations

from urllib.parse import quote

from handler.model import Repository

_CONSOLE_DOMAINS = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}


def console_base(repository: Repository) -> str:
    """``https://<region>.<console domain>/codesuite/codecommit/repositories/<repo>``."""
    domain = _CONSOLE_DOMAINS.get(repository.partition, _CONSOLE_DOMAINS["aws"])
    region = quote(repository.region, safe="")
    return f"https://{region}.{domain}/codesuite/codecommit/repositories/{quote(repository.name, safe='')}"


def _with_region(repository: Repository, path: str) -> str:
    return f"{console_base(repository)}/{path}?region={quote(repository.region, safe='')}"


def repository_url(repository: Repository) -> str:
    """The repository's code browser."""
    return _with_region(repository, "browse")


def commit_url(repository: Repository, commit_id: str) -> str:
    """One commit's page."""
    return _with_region(repository, f"commit/{quote(commit_id, safe='')}")


def ref_url(repository: Repository, full_ref: str) -> str:
    """The code browser at a branch or tag (``refs/heads/...`` or ``refs/tags/...``)."""
    return _with_region(repository, f"browse/{quote(full_ref, safe='/')}")


def compare_url(repository: Repository, before_id: str, after_id: str) -> str:
    """The console's comparison of two commits (the form CodeCommit's own notifications use)."""
    before, after = quote(before_id, safe=""), quote(after_id, safe="")
    return _with_region(repository, f"compare/{before}/.../{after}")
