"""Links for pull requests and comments, built like :mod:`handler.render.links` (same link makers).

::

    …/repositories/<repo>/pull-requests/<id>/details?region=<region>
    …/repositories/<repo>/pull-requests/<id>/activity?region=<region>#<commentId>
    <web_url>/-/merge_requests/<iid>          <web_url>/-/merge_requests/<iid>#note_<id>   (GitLab)

Every part that comes from an event is percent-encoded, so a link can never carry ``|``, ``<``
or ``>`` into a Slack ``<url|label>``. Like :mod:`handler.render.links`, every function returns
None for a partition whose console is not known: the message then shows plain text.
"""

from __future__ import annotations

import re

from handler.model import Repository
from handler.render.links import commit_url, compare_url, links_for, repository_url

_HEX = re.compile(r"[0-9a-fA-F]{7,64}")


def _pull_request_page(repository: Repository, pull_request_id: str, tab: str) -> str | None:
    return links_for(repository).pull_request(pull_request_id, tab)


def _anchor(repository: Repository, comment_id: str) -> str:
    return links_for(repository).anchor(comment_id)


def pull_request_url(repository: Repository, pull_request_id: str) -> str | None:
    """The pull request's details page."""
    return _pull_request_page(repository, pull_request_id, "details")


def comment_url(repository: Repository, pull_request_id: str, comment_id: str) -> str | None:
    """One comment in the pull request's activity tab."""
    page = _pull_request_page(repository, pull_request_id, "activity")
    return f"{page}#{_anchor(repository, comment_id)}" if page else None


def commit_comment_url(repository: Repository, commit_id: str | None, comment_id: str) -> str | None:
    """The commented commit's page with the comment as its anchor (the repository if no commit)."""
    if commit_id and _HEX.fullmatch(commit_id):
        page = commit_url(repository, commit_id)
        return f"{page}#{_anchor(repository, comment_id)}" if page else None
    return repository_url(repository)


def compare_link(repository: Repository, before: str | None, after: str | None) -> str | None:
    """A compare link between two commit ids, or None when either is missing or not hexadecimal."""
    if before and after and _HEX.fullmatch(before) and _HEX.fullmatch(after):
        return compare_url(repository, before, after)
    return None


def is_commit_id(value: str | None) -> bool:
    """True for a (possibly abbreviated) hexadecimal commit id."""
    return bool(value and _HEX.fullmatch(value))
