"""Both commit readers, local git and CodeCommit (over its real JSON protocol), meet the same expectations.

The expectations are written from what each scenario commit does, not from either reader's
output. The ``reader`` fixture runs every test once per implementation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from botocore.stub import Stubber

from handler.aws.errors import INVALID_COMMIT_ID, NOT_A_COMMIT
from handler.enrich.reader import (
    CodeCommitReader,
    CommitReader,
    file_change_from_api,
    pair_renames,
    parse_git_date,
)
from handler.errors import CommitUnavailable, RepositoryReadError
from handler.model import ChangeType, EntryKind, FileChange
from tests.conftest import codecommit_client
from tests.scenarios import BULK_FILES, GONE_COMMIT, REPOSITORY, ScenarioRepo
from tests.standins.codecommit import CodeCommitStandIn, Fault

A, M, D = ChangeType.ADDED, ChangeType.MODIFIED, ChangeType.DELETED


def summary(changes: tuple[FileChange, ...]) -> dict[str, tuple[ChangeType, EntryKind, EntryKind | None]]:
    return {change.path: (change.change_type, change.kind, change.old_kind) for change in changes}


def test_root_commit_has_no_parent_and_every_file_is_added(
    reader: CommitReader, scenario_repo: ScenarioRepo
) -> None:
    root = scenario_repo.commits["root"]
    commit = reader.get_commit(root)
    assert commit.parent_ids == ()
    assert commit.subject == "Initial commit"
    assert commit.body == "The first commit has no parent."
    assert summary(reader.get_differences(root, None)) == {
        "README.md": (A, EntryKind.FILE, None),
        "src/app.py": (A, EntryKind.FILE, None),
    }


def test_commit_fields(reader: CommitReader, scenario_repo: ScenarioRepo) -> None:
    commit = reader.get_commit(scenario_repo.commits["feature"])
    assert commit.commit_id == scenario_repo.commits["feature"]
    assert commit.parent_ids == (scenario_repo.commits["root"],)
    assert commit.subject == "Add login v2 form"
    assert commit.body == "Replaces the old form.\nCloses #12."
    assert (commit.author.name, commit.author.email) == ("Ana Núñez", "ana.nunez@example.com")
    assert commit.author.date is not None
    assert commit.author.date.utcoffset() == timedelta(hours=1)
    assert commit.committer == commit.author


def test_changes_against_the_parent(reader: CommitReader, scenario_repo: ScenarioRepo) -> None:
    commits = scenario_repo.commits
    assert summary(reader.get_differences(commits["feature"], commits["root"])) == {
        "src/app.py": (M, EntryKind.FILE, None),
        "src/login.py": (A, EntryKind.FILE, None),
    }


def test_symlink_submodule_and_mode_change(reader: CommitReader, scenario_repo: ScenarioRepo) -> None:
    commits = scenario_repo.commits
    assert summary(reader.get_differences(commits["modes"], commits["feature"])) == {
        "LINK": (A, EntryKind.SYMLINK, None),
        "src/app.py": (M, EntryKind.EXECUTABLE, EntryKind.FILE),
        "tools/run.sh": (A, EntryKind.EXECUTABLE, None),
        "vendor/lib": (A, EntryKind.SUBMODULE, None),
    }


def test_merge_commit_differs_per_parent(reader: CommitReader, scenario_repo: ScenarioRepo) -> None:
    commits = scenario_repo.commits
    merge = reader.get_commit(commits["merge"])
    assert merge.parent_ids == (commits["root"], commits["modes"])
    first, second = (summary(reader.get_differences(merge.commit_id, p)) for p in merge.parent_ids)
    assert set(first) == {"LINK", "src/app.py", "src/login.py", "tools/run.sh", "vendor/lib"}
    assert second == {}


def test_every_page_of_a_large_diff_is_read(reader: CommitReader, scenario_repo: ScenarioRepo) -> None:
    commits = scenario_repo.commits
    changes = summary(reader.get_differences(commits["bulk"], commits["root"]))
    assert len(changes) == BULK_FILES + 1
    assert changes["README.md"] == (D, EntryKind.FILE, None)
    assert changes["gen/file_259.txt"] == (A, EntryKind.FILE, None)


def test_non_ascii_text_and_paths(reader: CommitReader, scenario_repo: ScenarioRepo) -> None:
    commit = reader.get_commit(scenario_repo.commits["i18n"])
    assert commit.subject == "Übersetzung hinzufügen 🌍✨"
    assert "👩‍👩‍👧" in commit.body and "🇺🇦" in commit.body
    assert commit.author.name == "Zoë Ångström"
    changes = reader.get_differences(commit.commit_id, scenario_repo.commits["root"])
    assert summary(changes) == {"docs/grüße.md": (A, EntryKind.FILE, None)}


@pytest.mark.parametrize("which", ["annotated_tag", "gone", "not-hex"])
def test_unreadable_ids_are_commit_unavailable(
    reader: CommitReader, scenario_repo: ScenarioRepo, which: str
) -> None:
    commit_id = {
        "annotated_tag": scenario_repo.commits["annotated_tag"],
        "gone": GONE_COMMIT,
        "not-hex": "zzzz",
    }[which]
    with pytest.raises(CommitUnavailable) as unavailable:
        reader.get_commit(commit_id)
    assert unavailable.value.reason == (
        INVALID_COMMIT_ID if which == "not-hex" and isinstance(reader, CodeCommitReader) else NOT_A_COMMIT
    )


def test_pages_are_requested_one_by_one(
    codecommit_standin: CodeCommitStandIn, scenario_repo: ScenarioRepo
) -> None:
    reader = CodeCommitReader(codecommit_client(codecommit_standin.url), REPOSITORY)
    before = codecommit_standin.calls["GetDifferences"]
    reader.get_differences(scenario_repo.commits["bulk"], scenario_repo.commits["root"])
    assert codecommit_standin.calls["GetDifferences"] - before == 3  # 261 changes, 100 a page


def test_root_commit_request_omits_before_specifier(
    codecommit_standin: CodeCommitStandIn, scenario_repo: ScenarioRepo
) -> None:
    reader = CodeCommitReader(codecommit_client(codecommit_standin.url), REPOSITORY)
    reader.get_differences(scenario_repo.commits["root"], None)
    operation, body = codecommit_standin.requests[-1]
    assert operation == "GetDifferences"
    assert "beforeCommitSpecifier" not in body
    assert body["afterCommitSpecifier"] == scenario_repo.commits["root"]


def test_throttling_is_retried_by_botocore(
    codecommit_standin: CodeCommitStandIn, scenario_repo: ScenarioRepo
) -> None:
    reader = CodeCommitReader(codecommit_client(codecommit_standin.url), REPOSITORY)
    before = codecommit_standin.calls["GetCommit"]
    codecommit_standin.inject(Fault(count=2, operation="GetCommit"))
    assert reader.get_commit(scenario_repo.commits["root"]).subject == "Initial commit"
    assert codecommit_standin.calls["GetCommit"] - before == 3


def test_access_denied_raises_with_advice(
    codecommit_standin: CodeCommitStandIn, scenario_repo: ScenarioRepo
) -> None:
    reader = CodeCommitReader(codecommit_client(codecommit_standin.url), REPOSITORY)
    codecommit_standin.inject(Fault(code="AccessDeniedException", message="no", operation="GetCommit"))
    with pytest.raises(RepositoryReadError, match="grant the function codecommit:GetCommit"):
        reader.get_commit(scenario_repo.commits["root"])


def test_stubber_checks_request_shapes_against_the_service_model() -> None:
    """botocore's Stubber validates our parameters against CodeCommit's model, page by page."""
    client = codecommit_client("https://codecommit.us-east-2.amazonaws.com")
    reader = CodeCommitReader(client, "repo")
    blob = {"blobId": "1" * 40, "path": "a.txt", "mode": "100644"}
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_differences",
            {"differences": [{"afterBlob": blob, "changeType": "A"}], "NextToken": "page-2"},
            {"repositoryName": "repo", "afterCommitSpecifier": "c" * 40, "beforeCommitSpecifier": "p" * 40},
        )
        stubber.add_response(
            "get_differences",
            {
                "differences": [
                    {"beforeBlob": {**blob, "blobId": "2" * 40, "path": "b.txt"}, "changeType": "D"}
                ]
            },
            {
                "repositoryName": "repo",
                "afterCommitSpecifier": "c" * 40,
                "beforeCommitSpecifier": "p" * 40,
                "NextToken": "page-2",
            },
        )
        stubber.add_client_error("get_commit", "CommitIdDoesNotExistException", http_status_code=400)
        changes = reader.get_differences("c" * 40, "p" * 40)
        with pytest.raises(CommitUnavailable, match="no commit has this id"):
            reader.get_commit("d" * 40)
        stubber.assert_no_pending_responses()
    assert summary(changes) == {"a.txt": (A, EntryKind.FILE, None), "b.txt": (D, EntryKind.FILE, None)}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1484167798 -0800", datetime(2017, 1, 11, 12, 49, 58, tzinfo=timezone(timedelta(hours=-8)))),
        ("0 +0000", datetime(1970, 1, 1, tzinfo=UTC)),
        (
            "1484167798 +0530",
            datetime(2017, 1, 12, 2, 19, 58, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
        ("", None),
        ("garbage", None),
        ("1484167798 -08", None),
        ("1484167798 +2500", None),
        (None, None),
    ],
)
def test_codecommit_dates(raw: str | None, expected: datetime | None) -> None:
    assert parse_git_date(raw) == expected


def test_stubber_checks_the_history_calls_against_the_service_model() -> None:
    """Every call the whole-push walk makes has the request and response shapes of CodeCommit's model."""
    client = codecommit_client("https://codecommit.us-east-2.amazonaws.com")
    reader = CodeCommitReader(client, "repo")
    raw_commit = {
        "commitId": "a" * 40,
        "treeId": "t" * 40,
        "parents": ["b" * 40],
        "message": "subject\n",
        "author": {"name": "Ana", "email": "ana@example.com", "date": "1484167798 -0800"},
        "committer": {"name": "Ana", "email": "ana@example.com", "date": "1484167798 -0800"},
        "additionalData": "",
    }
    with Stubber(client) as stubber:
        stubber.add_response(
            "batch_get_commits",
            {
                "commits": [raw_commit],
                "errors": [{"commitId": "c" * 40, "errorCode": "CommitDoesNotExistException"}],
            },
            {"repositoryName": "repo", "commitIds": ["a" * 40, "c" * 40]},
        )
        stubber.add_response(
            "get_merge_options",
            {
                "mergeOptions": ["FAST_FORWARD_MERGE"],
                "sourceCommitId": "a" * 40,
                "destinationCommitId": "b" * 40,
                "baseCommitId": "b" * 40,
            },
            {
                "repositoryName": "repo",
                "sourceCommitSpecifier": "a" * 40,
                "destinationCommitSpecifier": "b" * 40,
            },
        )
        stubber.add_response(
            "get_branch",
            {"branch": {"branchName": "feature/x", "commitId": "a" * 40}},
            {"repositoryName": "repo", "branchName": "feature/x"},
        )
        stubber.add_client_error("get_branch", "BranchDoesNotExistException", http_status_code=400)
        stubber.add_response(
            "get_repository",
            {"repositoryMetadata": {"repositoryName": "repo", "defaultBranch": "main"}},
            {"repositoryName": "repo"},
        )
        stubber.add_response(
            "get_folder",
            {"commitId": "a" * 40, "folderPath": "/", "treeId": "t" * 40},
            {"repositoryName": "repo", "commitSpecifier": "refs/tags/v1", "folderPath": "/"},
        )
        found = reader.get_commits(["a" * 40, "c" * 40])
        assert list(found) == ["a" * 40] and found["a" * 40].subject == "subject"
        assert reader.merge_base("a" * 40, "b" * 40) == "b" * 40
        assert reader.branch_head("feature/x") == "a" * 40
        assert reader.branch_head("gone") is None
        assert reader.default_branch() == "main"
        assert reader.resolve_commit("refs/tags/v1") == "a" * 40
        stubber.assert_no_pending_responses()


def test_a_moved_file_reads_as_a_rename(reader: CommitReader, scenario_repo: ScenarioRepo) -> None:
    """Same blob, new path, in one diff: one rename, from both readers (git with --no-renames gives a
    deletion and an addition; CodeCommit's GetDifferences has no rename type)."""
    commits = scenario_repo.commits
    [moved] = reader.get_differences(commits["five_3"], commits["five_2"])
    assert (moved.change_type, moved.old_path, moved.path) == (
        ChangeType.RENAMED,
        "README.md",
        "docs/README.md",
    )
    whole_push = reader.get_differences(commits["five_5"], commits["main_3"])
    assert sorted((c.change_type.value, c.path, c.old_path) for c in whole_push) == [
        ("A", "docs/limits.md", None),
        ("A", "src/limits.py", None),
        ("R", "docs/README.md", "README.md"),
    ]


def test_a_modification_whose_path_changed_is_a_rename() -> None:
    """CodeCommit may answer a move as ``M`` with two paths (its CLI example for a renamed folder)."""
    change = file_change_from_api(
        {
            "changeType": "M",
            "beforeBlob": {"blobId": "1" * 40, "path": "tmp/example-folder/blob.txt", "mode": "100644"},
            "afterBlob": {"blobId": "1" * 40, "path": "tmp/renamed-folder/blob.txt", "mode": "100644"},
        }
    )
    assert (change.change_type, change.old_path) == (ChangeType.RENAMED, "tmp/example-folder/blob.txt")


def test_a_blob_added_twice_is_not_guessed_into_a_rename() -> None:
    one, two = FileChange(ChangeType.ADDED, "a"), FileChange(ChangeType.ADDED, "b")
    gone = FileChange(ChangeType.DELETED, "c")
    assert pair_renames([(one, None, "1"), (two, None, "1"), (gone, "1", None)]) == (one, two, gone)


def test_git_reads_an_annotated_tags_message_and_tagger(scenario_repo: ScenarioRepo) -> None:
    from handler.enrich.gitreader import LocalGitReader

    git = LocalGitReader(scenario_repo.path)
    tag = git.tag_annotation(scenario_repo.commits["annotated_tag"])
    assert tag is not None and (tag.subject, tag.tagger.name) == ("Release 1.0", "Ana Núñez")
    assert git.tag_annotation(scenario_repo.commits["merge"]) is None  # a commit, not a tag
