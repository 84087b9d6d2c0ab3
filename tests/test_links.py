"""Links: never raise, never climb out of the repository, never point at a console that isn't there."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from handler.model import (
    Commit,
    Notification,
    Person,
    Push,
    RefAction,
    RefChange,
    RefKind,
    RefReport,
    Repository,
    parse_pusher,
)
from handler.render.links import (
    CONSOLE_DOMAINS,
    commit_url,
    compare_url,
    console_base,
    ref_url,
    repository_url,
)
from handler.render.push import render
from handler.settings import RenderSettings

REPO = Repository("payments", "eu-west-1", "123456789012")
ANY_TEXT = st.text(alphabet=st.characters(), max_size=120)  # surrogates and controls included


def dot_free_path(url: str) -> bool:
    return not any(segment in (".", "..") for segment in urlsplit(url).path.split("/"))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
@example("refs/heads/bad\ud800name")
@example("refs/heads/\udfff")
@example("refs/heads/../../../other-repo/browse")
@example("refs/heads/a/./b")
@example("refs/heads//x")
def test_links_never_raise_never_climb_and_stay_plain(text: str) -> None:
    base = console_base(REPO)
    assert base is not None
    for url in (ref_url(REPO, text), commit_url(REPO, text), compare_url(REPO, text, text)):
        assert url is not None
        url.encode("ascii")  # every other character is percent-encoded
        assert not set(url) & set("|<> \n\t\"'`")
        assert url.startswith(base + "/")
        assert dot_free_path(url), url


@pytest.mark.parametrize(
    "ref", ["refs/heads/../../other-repo", "refs/heads/..", "refs/tags/./v1", "refs/heads/a//b", "../x"]
)
def test_a_ref_that_could_climb_links_to_the_repository(ref: str) -> None:
    assert ref_url(REPO, ref) == repository_url(REPO)


def test_slashes_in_real_branch_names_are_kept() -> None:
    assert ref_url(REPO, "refs/heads/feature/login-v2") == (
        "https://eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/payments/"
        "browse/refs/heads/feature/login-v2?region=eu-west-1"
    )


@pytest.mark.parametrize(
    "partition", ["aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc", "aws-xyz"]
)
def test_partitions_without_a_known_console_get_no_link(partition: str) -> None:
    repository = Repository("payments", "us-iso-east-1", "123456789012", partition)
    assert console_base(repository) is None
    assert repository_url(repository) is None
    assert ref_url(repository, "refs/heads/main") is None
    assert commit_url(repository, "a" * 40) is None
    change = RefChange("refs/heads/main", RefKind.BRANCH, "main", RefAction.UPDATED, "a" * 40)
    person = Person("Ana", "ana@example.com", datetime(2026, 1, 2, tzinfo=UTC))
    commit = Commit("a" * 40, "Subject", person, person, ("b" * 40, "c" * 40))
    push = Push(repository, parse_pusher("arn:aws-iso:iam::1:user/ana"), (change,), None, "id", "t")
    payload = render(Notification(push, (RefReport(change, commit, None, ()),)), RenderSettings())
    text = json.dumps(payload)
    assert "title_link" not in text
    assert "console.aws.amazon.com" not in text and "<http" not in text
    assert "aaaaaaa" in text  # the commit is still named, as plain text


@pytest.mark.parametrize("partition", sorted(CONSOLE_DOMAINS))
def test_known_partitions_link_to_their_own_console(partition: str) -> None:
    url = repository_url(Repository("payments", "us-gov-west-1", "123456789012", partition))
    assert url is not None and urlsplit(url).hostname == f"us-gov-west-1.{CONSOLE_DOMAINS[partition]}"
