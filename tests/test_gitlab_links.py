"""The link seam: a repository with a ``web_url`` gets GitLab's pages, one without the console's."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.model import Repository
from handler.render.links import commit_url, compare_url, ref_url, repository_url
from handler.render.pull_request_links import comment_url, pull_request_url

WEB = "https://gitlab.example.com/group/sub/project"
GITLAB = Repository("group/sub/project", "gitlab", "gitlab.example.com", "gitlab", web_url=WEB)
CODECOMMIT = Repository("payments", "eu-west-1", "123456789012")
SHA = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"


def test_gitlab_pages() -> None:
    assert repository_url(GITLAB) == WEB
    assert commit_url(GITLAB, SHA) == f"{WEB}/-/commit/{SHA}"
    assert ref_url(GITLAB, "refs/heads/feature/login-v2") == f"{WEB}/-/tree/feature/login-v2"
    assert ref_url(GITLAB, "refs/tags/v1.0.0") == f"{WEB}/-/tags/v1.0.0"
    assert compare_url(GITLAB, "a" * 40, "b" * 40) == f"{WEB}/-/compare/{'a' * 40}...{'b' * 40}"
    assert pull_request_url(GITLAB, "12") == f"{WEB}/-/merge_requests/12"
    assert comment_url(GITLAB, "12", "1244") == f"{WEB}/-/merge_requests/12#note_1244"


def test_codecommit_pages_are_unchanged() -> None:
    base = "https://eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/payments"
    assert pull_request_url(CODECOMMIT, "7") == f"{base}/pull-requests/7/details?region=eu-west-1"
    assert comment_url(CODECOMMIT, "7", "c1") == f"{base}/pull-requests/7/activity?region=eu-west-1#c1"


def test_a_ref_that_climbs_links_to_the_project() -> None:
    assert ref_url(GITLAB, "refs/heads/../../other/project") == WEB


@pytest.mark.parametrize(
    "web_url",
    [
        "javascript:alert(1)",
        "https://evil.example|click",
        "https://x.example/<a>",
        "ftp://x.example/p",
        "",
        "https://",
    ],
)
def test_a_web_url_that_is_not_a_plain_http_url_gives_no_links(web_url: str) -> None:
    repository = Repository("p", "gitlab", "x", "gitlab", web_url=web_url)
    assert repository_url(repository) is None
    assert commit_url(repository, SHA) is None
    assert pull_request_url(repository, "1") is None


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60), st.text(max_size=60))
def test_no_gitlab_link_can_carry_slack_or_markdown_delimiters(ref: str, note: str) -> None:
    for url in (
        ref_url(GITLAB, f"refs/heads/{ref}"),
        comment_url(GITLAB, ref, note),
        commit_url(GITLAB, ref),
    ):
        assert url is not None and url.startswith(WEB)
        assert not set(url) & set("|<> ()[]\"'`\n")
