"""Links for a repository: the CodeCommit console's, or a forge's own web pages (GitLab).

The link maker is chosen by the repository (:attr:`~handler.model.Repository.web_url`), so the
renderers ask for "this commit's page" and never know which source they are rendering:
:class:`ConsoleLinks` for CodeCommit, :class:`WebLinks` for a GitLab project.

Formats (the CodeCommit console's own URLs)::

    https://<region>.console.aws.amazon.com/codesuite/codecommit/repositories/<repo>/commit/<sha>?region=<region>
    .../repositories/<repo>/browse/refs/heads/<branch>?region=<region>
    .../repositories/<repo>/browse/refs/tags/<tag>?region=<region>

and GitLab's, under the project's ``web_url``::

    <web_url>/-/commit/<sha>    <web_url>/-/tree/<branch>    <web_url>/-/tags/<tag>
    <web_url>/-/compare/<before>...<after>

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

import re
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


def _climbs(*parts: str) -> bool:
    return any(part in _DOT_SEGMENTS for part in parts)


class ConsoleLinks:
    """CodeCommit's console pages for one repository (None for a partition with no known console)."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository

    def repository_page(self) -> str | None:
        """The repository's code browser."""
        return _with_region(self.repository, "browse")

    def commit(self, commit_id: str) -> str | None:
        """One commit's page."""
        return _with_region(self.repository, f"commit/{_encode(commit_id)}")

    def ref(self, full_ref: str) -> str | None:
        """The code browser at a branch or tag."""
        return _with_region(self.repository, f"browse/{_encode(full_ref, safe='/')}")

    def compare(self, before_id: str, after_id: str) -> str | None:
        """The comparison of two commits (the form CodeCommit's own notifications use)."""
        return _with_region(self.repository, f"compare/{_encode(before_id)}/.../{_encode(after_id)}")

    def pull_request(self, pull_request_id: str, tab: str = "details") -> str | None:
        """A pull request's ``details`` (or ``activity``) tab."""
        return _with_region(self.repository, f"pull-requests/{_encode(pull_request_id)}/{tab}")

    def anchor(self, comment_id: str) -> str:
        """A comment's anchor on its page: its id."""
        return _encode(comment_id)


#: Characters a forge's ``web_url`` may hold: a URL's own, never a space, ``<``, ``>``, ``|`` or a quote.
_WEB_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%!$&+,;=:@\-]+)*/?")


def web_base(web_url: str | None) -> str | None:
    """``web_url`` without its trailing slash when it is a plain ``http(s)`` URL; None otherwise
    (a payload's URL is never trusted into a link unchecked)."""
    if web_url is None or not _WEB_URL.fullmatch(web_url):
        return None
    base = web_url.rstrip("/")
    return None if _climbs(*base.split("/")[3:]) else base


class WebLinks:
    """A GitLab project's pages, under its ``web_url`` (None everywhere when that is not usable)."""

    def __init__(self, repository: Repository) -> None:
        self.base = web_base(repository.web_url)

    def _page(self, path: str) -> str | None:
        return f"{self.base}/-/{path}" if self.base else None

    def repository_page(self) -> str | None:
        """The project's home page."""
        return self.base

    def commit(self, commit_id: str) -> str | None:
        """One commit's page."""
        return self._page(f"commit/{_encode(commit_id)}")

    def ref(self, full_ref: str) -> str | None:
        """The tree at a branch (``-/tree/<branch>``) or a tag's page (``-/tags/<tag>``)."""
        if full_ref.startswith("refs/tags/"):
            return self._page(f"tags/{_encode(full_ref.removeprefix('refs/tags/'), safe='/')}")
        return self._page(f"tree/{_encode(full_ref.removeprefix('refs/heads/'), safe='/')}")

    def compare(self, before_id: str, after_id: str) -> str | None:
        """GitLab's comparison, ``-/compare/<before>...<after>``."""
        return self._page(f"compare/{_encode(before_id)}...{_encode(after_id)}")

    def pull_request(self, pull_request_id: str, tab: str = "details") -> str | None:
        """A merge request's page, ``-/merge_requests/<iid>`` (one page: no tabs to pick)."""
        return self._page(f"merge_requests/{_encode(pull_request_id)}")

    def anchor(self, comment_id: str) -> str:
        """A note's anchor on its page: ``note_<id>``."""
        return f"note_{_encode(comment_id)}"


def links_for(repository: Repository) -> ConsoleLinks | WebLinks:
    """The link maker for ``repository``: its forge's web pages where it has them, else the console."""
    return WebLinks(repository) if repository.web_url is not None else ConsoleLinks(repository)


def repository_url(repository: Repository) -> str | None:
    """The repository's code browser (a GitLab project's home page)."""
    return links_for(repository).repository_page()


def commit_url(repository: Repository, commit_id: str) -> str | None:
    """One commit's page (the repository's code browser if the id could climb out of the path)."""
    if _climbs(commit_id):
        return repository_url(repository)
    return links_for(repository).commit(commit_id)


def ref_url(repository: Repository, full_ref: str) -> str | None:
    """The code browser at a branch or tag (``refs/heads/...`` or ``refs/tags/...``).

    A ref with an empty, ``.`` or ``..`` segment links to the repository's code browser.
    """
    if any(segment in _DOT_SEGMENTS or not segment for segment in full_ref.split("/")):
        return repository_url(repository)
    return links_for(repository).ref(full_ref)


def compare_url(repository: Repository, before_id: str, after_id: str) -> str | None:
    """The comparison of two commits."""
    if _climbs(before_id, after_id):
        return repository_url(repository)
    return links_for(repository).compare(before_id, after_id)
