"""Console links for pull requests and comments, built like :mod:`handler.links` (same domains).

::

    …/repositories/<repo>/pull-requests/<id>/details?region=<region>
    …/repositories/<repo>/pull-requests/<id>/activity?region=<region>#<commentId>

Every part that comes from an event is percent-encoded, so a link can never carry ``|``, ``<``
or ``>`` into a Slack ``<url|label>``.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from handler.links import commit_url, compare_url, console_base, repository_url
from handler.model import Repository

_HEX = re.compile(r"^[0-9a-fA-F]{7,64}$")


def _region(repository: Repository) -> str:
    return quote(repository.region, safe="")


def pull_request_url(repository: Repository, pull_request_id: str) -> str:
    """The pull request's details page."""
    number = quote(pull_request_id, safe="")
    return f"{console_base(repository)}/pull-requests/{number}/details?region={_region(repository)}"


def comment_url(repository: Repository, pull_request_id: str, comment_id: str) -> str:
    """One comment in the pull request's activity tab."""
    number, anchor = quote(pull_request_id, safe=""), quote(comment_id, safe="")
    return f"{console_base(repository)}/pull-requests/{number}/activity?region={_region(repository)}#{anchor}"


def commit_comment_url(repository: Repository, commit_id: str | None, comment_id: str) -> str:
    """The commented commit's page with the comment as its anchor (the repository if no commit)."""
    if commit_id and _HEX.match(commit_id):
        return f"{commit_url(repository, commit_id)}#{quote(comment_id, safe='')}"
    return repository_url(repository)


def compare_link(repository: Repository, before: str | None, after: str | None) -> str | None:
    """A compare link between two commit ids, or None when either is missing or not hexadecimal."""
    if before and after and _HEX.match(before) and _HEX.match(after):
        return compare_url(repository, before, after)
    return None


def is_commit_id(value: str | None) -> bool:
    """True for a (possibly abbreviated) hexadecimal commit id."""
    return bool(value and _HEX.match(value))
