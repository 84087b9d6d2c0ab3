"""The pull-request reader through a real boto3 client against the CodeCommit stand-in.

botocore validates every request against the service model and parses every answer with it, so
these tests hold both the reader and the stand-in to CodeCommit's real field names and errors.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from handler.enrich.pull_request_reader import CodeCommitPullRequestReader, Unreadable, parse_rule_content
from handler.errors import RepositoryReadError
from tests.conftest import codecommit_client
from tests.standins import codecommit
from tests.standins.pull_requests import StoredComment, StoredPullRequest, rule_content

ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:iam::123456789012:user/bob"
REVIEW_ROLE = "arn:aws:sts::123456789012:assumed-role/CodeCommitReview/*"


@pytest.fixture(scope="module")
def standin() -> Iterator[codecommit.CodeCommitStandIn]:
    with codecommit.running({}) as stand_in:
        book = stand_in.pull_requests
        book.add_pull_request(
            StoredPullRequest(
                "7",
                "payments",
                "Add login",
                ALICE,
                rules=[
                    ("two-reviewers", rule_content(2, [BOB, REVIEW_ROLE])),
                    ("lead", rule_content(1, [BOB])),
                ],
            )
        )
        for index in range(5):
            book.add_comment(
                StoredComment(
                    f"c{index}",
                    f"comment {index}",
                    BOB,
                    "7",
                    file_path=f"src/f{index}.py",
                    file_position=index,
                )
            )
        book.add_comment(StoredComment("gone", "x", BOB, "7", deleted=True))
        book.add_comment(
            StoredComment(
                "on-commit", "why?", BOB, None, after_commit_id="c" * 40, file_path="a.py", file_position=9
            )
        )
        book.approve("7", BOB)
        book.approve("7", ALICE, "REVOKE")
        yield stand_in


@pytest.fixture
def reader(standin: codecommit.CodeCommitStandIn) -> CodeCommitPullRequestReader:
    return CodeCommitPullRequestReader(codecommit_client(standin.url, max_attempts=2))


def test_get_pull_request_reads_title_targets_and_rule_pools(reader: CodeCommitPullRequestReader) -> None:
    details = reader.get_pull_request("7")
    assert details.snapshot.title == "Add login"
    assert details.snapshot.description == ""
    assert details.snapshot.author_arn == ALICE
    assert details.snapshot.source_reference == "refs/heads/feature/login"
    assert details.snapshot.status == "OPEN" and details.snapshot.is_merged is False
    assert [rule.name for rule in details.approval_rules] == ["two-reviewers", "lead"]
    assert details.approvals_needed == 2
    assert details.pool_members == (BOB, REVIEW_ROLE)


def test_get_comment_finds_an_inline_comments_file_and_line_on_a_later_page(
    reader: CodeCommitPullRequestReader, standin: codecommit.CodeCommitStandIn
) -> None:
    before = standin.calls["GetCommentsForPullRequest"]
    comment = reader.get_comment(
        "c4",
        pull_request_id="7",
        repository_name="payments",
        before_commit_id="b" * 40,
        after_commit_id="a" * 40,
    )
    assert (comment.content, comment.author_arn) == ("comment 4", BOB)
    assert (comment.file_path, comment.file_position, comment.relative_file_version) == (
        "src/f4.py",
        4,
        "AFTER",
    )
    assert standin.calls["GetCommentsForPullRequest"] - before == 3  # pages of two threads


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda r: r.get_pull_request("404"), "it does not exist or was removed"),
        (lambda r: r.get_pull_request("abc"), "not a valid pull request id"),
        (
            lambda r: r.get_comment(
                "nope",
                pull_request_id="7",
                repository_name="payments",
                before_commit_id=None,
                after_commit_id=None,
            ),
            "it does not exist or was removed",
        ),
        (
            lambda r: r.get_comment(
                "gone",
                pull_request_id="7",
                repository_name="payments",
                before_commit_id=None,
                after_commit_id=None,
            ),
            "it was deleted",
        ),
        (lambda r: r.get_approval_state("7", "stale"), "not a valid revision id"),
    ],
)
def test_what_cannot_be_read_is_unreadable_with_a_reason(
    reader: CodeCommitPullRequestReader, call: object, reason: str
) -> None:
    with pytest.raises(Unreadable, match=reason):
        call(reader)  # type: ignore[operator]


def test_approval_state_counts_approvals_and_evaluates_the_rules(reader: CodeCommitPullRequestReader) -> None:
    state = reader.get_approval_state("7", "r" * 64)
    assert state.approver_arns == (BOB,)
    assert state.approved is False and state.overridden is False


def test_throttling_past_the_retries_raises_so_lambda_retries(
    reader: CodeCommitPullRequestReader, standin: codecommit.CodeCommitStandIn
) -> None:
    standin.inject(codecommit.Fault(count=3, operation="GetPullRequest"))  # 1 call + 2 retries
    with pytest.raises(
        RepositoryReadError, match="GetPullRequest for pull request 7 failed with ThrottlingException"
    ):
        reader.get_pull_request("7")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (rule_content(2, [ALICE, BOB]), (2, (ALICE, BOB))),
        ("not json", (0, ())),
        (
            '{"Statements": [{"NumberOfApprovalsNeeded": true, "ApprovalPoolMembers": [1, "x"]}, 5]}',
            (0, ("x",)),
        ),
        ('["list"]', (0, ())),
    ],
)
def test_rule_content_is_read_defensively(content: str, expected: tuple[int, tuple[str, ...]]) -> None:
    assert parse_rule_content(content) == expected


def test_get_comment_on_a_commit_finds_its_file_and_line(reader: CodeCommitPullRequestReader) -> None:
    comment = reader.get_comment(
        "on-commit",
        pull_request_id=None,
        repository_name="payments",
        before_commit_id=None,
        after_commit_id="c" * 40,
    )
    assert (comment.content, comment.file_path, comment.file_position) == ("why?", "a.py", 9)
