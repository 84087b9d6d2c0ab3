"""Whole-push history: the commits a push added, force pushes, late deliveries, new branches.

Every test runs twice, against a real git repository through git itself and through the
CodeCommit stand-in (which answers GetMergeOptions, GetBranch, GetRepository and BatchGetCommits
from the same repository), so the walk is checked against two independent implementations.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from handler.demo import ScriptedGitRepo
from handler.enrich.gitreader import LocalGitReader
from handler.enrich.history import LATE, CommitCache, HistoryLimits, newest_first, update_history
from handler.enrich.push import HistoryOptions, enrich
from handler.enrich.reader import CodeCommitReader, CommitReader
from handler.model import (
    Commit,
    HistoryRelation,
    Person,
    Push,
    RefAction,
    RefChange,
    RefKind,
    Repository,
    parse_pusher,
)
from tests.conftest import codecommit_client
from tests.scenarios import REPOSITORY
from tests.standins import codecommit


@dataclass(frozen=True)
class HistoryRepo:
    path: Path
    ids: dict[str, str]


def _build(path: Path) -> HistoryRepo:
    """main: m0 ← m1 ← m2 ← m3 ← m4 (linear), plus branches shaped for each case."""
    path.mkdir(parents=True)
    repo = ScriptedGitRepo(path)
    repo.git("init", "-q", "-b", "main")
    ids: dict[str, str] = {}
    for index in range(5):
        repo.write("main.txt", f"main {index}\n")
        ids[f"m{index}"] = repo.commit(f"main commit {index}")
    # a feature branch off m1 with two commits, merged into main (merge commit "merge")
    repo.git("checkout", "-q", "-b", "feature", ids["m1"])
    for index in range(2):
        repo.write(f"feature{index}.txt", "f\n")
        ids[f"f{index}"] = repo.commit(f"feature commit {index}")
    repo.git("checkout", "-q", "-b", "merged", ids["m4"])
    repo.git("merge", "-q", "--no-ff", "feature", "-m", "Merge feature")
    ids["merge"] = repo.git("rev-parse", "HEAD")
    # main merged into a topic branch: the topic gains one merge commit, not main's commits
    repo.git("checkout", "-q", "-b", "topic", ids["m1"])
    repo.write("topic.txt", "t\n")
    ids["t0"] = repo.commit("topic commit")
    repo.git("merge", "-q", "--no-ff", ids["m4"], "-m", "Merge main into topic")
    ids["topic_merge"] = repo.git("rev-parse", "HEAD")
    # a rewrite of history: from m2, one new commit (m3 and m4 are dropped)
    repo.git("checkout", "-q", "-b", "rewritten", ids["m2"])
    repo.write("main.txt", "rewritten\n")
    ids["r0"] = repo.commit("rewritten commit")
    # a long run: 60 commits on top of m4
    repo.git("checkout", "-q", "-b", "long", ids["m4"])
    for index in range(60):
        repo.write("long.txt", f"{index}\n")
        ids[f"l{index}"] = repo.commit(f"long commit {index}")
    # unrelated history
    repo.git("checkout", "-q", "--orphan", "orphan")
    repo.git("rm", "-rfq", ".")
    repo.write("other.txt", "other\n")
    ids["o0"] = repo.commit("orphan root")
    # branches at particular commits, for GetBranch
    repo.git("branch", "-f", "rewound", ids["m2"])
    repo.git("branch", "-f", "at-main", ids["m4"])
    # an annotated tag
    repo.git("tag", "-a", "v1", ids["m3"], "-m", "release v1")
    ids["tag_v1"] = repo.git("rev-parse", "refs/tags/v1")
    # an annotated tag moved after it was pushed: v2 named m1, then was re-tagged at m4 (git tag -f)
    repo.git("tag", "-a", "v2", ids["m1"], "-m", "release v2")
    ids["tag_v2_first"] = repo.git("rev-parse", "refs/tags/v2")
    repo.git("tag", "-f", "-a", "v2", ids["m4"], "-m", "release v2, again")
    ids["tag_v2_now"] = repo.git("rev-parse", "refs/tags/v2")
    # the public drone tag sample's refs/tags/v1.0, here an unrelated tag of the same name
    repo.git("tag", "-a", "v1.0", ids["m2"], "-m", "a v1.0 of this repository")
    repo.git("checkout", "-q", "main")
    return HistoryRepo(path, ids)


@pytest.fixture(scope="module")
def history_repo(tmp_path_factory: pytest.TempPathFactory) -> HistoryRepo:
    return _build(tmp_path_factory.mktemp("history") / REPOSITORY)


@pytest.fixture(scope="module")
def history_standin(history_repo: HistoryRepo) -> Iterator[codecommit.CodeCommitStandIn]:
    with codecommit.running({REPOSITORY: history_repo.path}) as stand_in:
        yield stand_in


@pytest.fixture(params=["local-git", "codecommit"])
def reader(request: pytest.FixtureRequest, history_repo: HistoryRepo) -> CommitReader:
    if request.param == "local-git":
        return LocalGitReader(history_repo.path)
    stand_in: codecommit.CodeCommitStandIn = request.getfixturevalue("history_standin")
    return CodeCommitReader(codecommit_client(stand_in.url), REPOSITORY)


def _branch(name: str, commit_id: str, action: RefAction = RefAction.UPDATED) -> RefChange:
    return RefChange(f"refs/heads/{name}", RefKind.BRANCH, name, action, commit_id)


def _history(reader: CommitReader, branch: str, new: str, previous: str, limits: HistoryLimits | None = None):
    cache = CommitCache(reader)
    return update_history(
        cache, _branch(branch, new), cache.commit(new), previous, limits=limits or HistoryLimits()
    )


def _subjects(history) -> list[str]:
    return [commit.subject for commit in history.commits]


def test_linear_push_of_three_lists_them_newest_first(
    reader: CommitReader, history_repo: HistoryRepo
) -> None:
    ids = history_repo.ids
    history = _history(reader, "main", ids["m4"], ids["m1"])
    assert history.relation is HistoryRelation.FAST_FORWARD
    assert _subjects(history) == ["main commit 4", "main commit 3", "main commit 2"]
    assert (history.total, history.total_exact) == (3, True)
    assert (history.previous_id, history.base_id) == (ids["m1"], ids["m1"])


def test_a_push_of_sixty_commits_is_bounded(reader: CommitReader, history_repo: HistoryRepo) -> None:
    ids = history_repo.ids
    history = _history(reader, "long", ids["l59"], ids["m4"], HistoryLimits(listed=10, read=25))
    assert history.relation is HistoryRelation.FAST_FORWARD
    assert _subjects(history)[:2] == ["long commit 59", "long commit 58"]
    assert len(history.commits) == 10
    assert (history.total, history.total_exact) == (25, False)


def test_the_walk_reads_each_commit_once_and_asks_for_one_merge_base(
    history_repo: HistoryRepo, history_standin: codecommit.CodeCommitStandIn
) -> None:
    ids = history_repo.ids
    reader = CodeCommitReader(codecommit_client(history_standin.url), REPOSITORY)
    history_standin.calls.clear()
    history = _history(reader, "long", ids["l59"], ids["m4"], HistoryLimits(read=100))
    assert (history.total, history.total_exact) == (60, True)
    calls = dict(history_standin.calls)
    # one call per commit (the tip included): no log API exists, and the ids are learned one by one;
    # one GetDifferences for what the push changed as a whole (it replaces the tip's own diff)
    assert calls == {"GetCommit": 60, "GetMergeOptions": 1, "GetDifferences": 1}


def test_a_push_of_several_commits_reads_what_it_changed_as_a_whole(
    reader: CommitReader, history_repo: HistoryRepo
) -> None:
    """m1 → m4 and m4 → topic_merge: one diff from the previous head to the new one, per reader."""
    ids = history_repo.ids
    history = _history(reader, "main", ids["m4"], ids["m1"])
    assert history.combined_changes is not None
    assert [(c.change_type.value, c.path) for c in history.combined_changes] == [("M", "main.txt")]
    merged = _history(reader, "merged", ids["merge"], ids["m4"])
    assert merged.combined_changes is not None
    assert sorted(c.path for c in merged.combined_changes) == ["feature0.txt", "feature1.txt"]


def test_a_branch_update_reads_one_diff_and_not_the_tips(
    history_repo: HistoryRepo, history_standin: codecommit.CodeCommitStandIn
) -> None:
    """Enrich reads the push's diff instead of the tip's: calls do not grow per updated branch."""
    ids = history_repo.ids
    reader = CodeCommitReader(codecommit_client(history_standin.url), REPOSITORY)
    push = Push(
        Repository(REPOSITORY, "us-east-2", "1"),
        parse_pusher("arn:aws:iam::1:user/a"),
        (_branch("main", ids["m4"]), _branch("merged", ids["merge"])),
        None,
        "id",
        "trigger",
    )
    history_standin.calls.clear()
    previous = {"refs/heads/main": ids["m1"], "refs/heads/merged": ids["m4"]}
    notification = enrich(push, reader, max_refs=10, history=HistoryOptions(previous_heads=previous))
    assert all(report.parent_diffs == () for report in notification.reports)
    assert all(report.history and report.history.combined_changes for report in notification.reports)
    assert history_standin.calls["GetDifferences"] == 2  # one per updated branch, the merge included


def test_a_merge_push_lists_the_merge_and_the_merged_commits(
    reader: CommitReader, history_repo: HistoryRepo
) -> None:
    ids = history_repo.ids
    history = _history(reader, "merged", ids["merge"], ids["m4"])
    assert history.relation is HistoryRelation.FAST_FORWARD
    assert set(_subjects(history)) == {"Merge feature", "feature commit 1", "feature commit 0"}
    assert _subjects(history)[0] == "Merge feature"
    assert history.total_exact


def test_merging_main_into_a_branch_lists_what_the_branch_did_not_have(
    reader: CommitReader, history_repo: HistoryRepo
) -> None:
    ids = history_repo.ids
    history = _history(reader, "topic", ids["topic_merge"], ids["t0"])
    assert history.relation is HistoryRelation.FAST_FORWARD
    # reachable from the new head, not from the recorded one: main's m2..m4 are new to topic,
    # m1 and older are not (topic already had them)
    assert _subjects(history) == ["Merge main into topic", "main commit 4", "main commit 3", "main commit 2"]
    assert history.total_exact


def test_a_force_push_is_flagged_and_counts_what_was_dropped(
    reader: CommitReader, history_repo: HistoryRepo
) -> None:
    ids = history_repo.ids
    history = _history(reader, "rewritten", ids["r0"], ids["m4"])
    assert history.relation is HistoryRelation.FORCED and history.forced
    assert _subjects(history) == ["rewritten commit"]
    assert (history.dropped, history.dropped_exact) == (2, True)
    assert [commit.subject for commit in history.dropped_commits] == ["main commit 4", "main commit 3"]
    assert (history.previous_id, history.base_id) == (ids["m4"], ids["m2"])


def test_a_rewind_to_an_ancestor_is_a_force_push(reader: CommitReader, history_repo: HistoryRepo) -> None:
    ids = history_repo.ids
    history = _history(reader, "rewound", ids["m2"], ids["m4"])
    assert history.relation is HistoryRelation.FORCED
    assert history.commits == () and history.total == 0
    assert history.dropped == 2


def test_an_older_push_arriving_late_posts_nothing(reader: CommitReader, history_repo: HistoryRepo) -> None:
    ids = history_repo.ids
    # the recorded head is m4 and the branch is at m4: a push to m2 is an old delivery
    assert _history(reader, "at-main", ids["m2"], ids["m4"]) is LATE
    assert _history(reader, "at-main", ids["m4"], ids["m4"]) is LATE


def test_a_force_push_onto_unrelated_history(reader: CommitReader, history_repo: HistoryRepo) -> None:
    ids = history_repo.ids
    history = _history(reader, "main", ids["o0"], ids["m4"])
    assert history.relation is HistoryRelation.FORCED
    assert _subjects(history) == ["orphan root"]
    assert history.base_id is None and history.dropped is None


def test_a_previous_head_that_no_longer_exists_shows_the_tip_alone(
    reader: CommitReader, history_repo: HistoryRepo
) -> None:
    assert (
        _history(reader, "main", history_repo.ids["m4"], "b74b1c26a4e8eca11baf89a40408c073be0ed38b") is None
    )


def _push(*ref_changes: RefChange) -> Push:
    from handler.model import Repository

    return Push(
        repository=Repository(REPOSITORY, "us-east-2", "111122223333"),
        pusher=parse_pusher("arn:aws:iam::111122223333:user/alice"),
        ref_changes=ref_changes,
        event_time=None,
        event_id="e",
        trigger_name="t",
    )


def test_a_new_branch_lists_what_it_brings_against_the_default_branch(
    reader: CommitReader, history_repo: HistoryRepo
) -> None:
    ids = history_repo.ids
    notification = enrich(
        _push(_branch("feature", ids["f1"], RefAction.CREATED)), reader, max_refs=10, history=HistoryOptions()
    )
    history = notification.reports[0].history
    assert history is not None and history.relation is HistoryRelation.BRANCHED
    assert (history.base_ref, history.base_id) == ("main", ids["m1"])
    assert _subjects(history) == ["feature commit 1", "feature commit 0"]
    assert history.combined_changes is not None
    assert sorted(change.path for change in history.combined_changes) == ["feature0.txt", "feature1.txt"]


def test_new_branches_at_the_default_branch_and_on_unrelated_history(
    reader: CommitReader, history_repo: HistoryRepo
) -> None:
    ids = history_repo.ids
    push = _push(
        _branch("at-main", ids["m4"], RefAction.CREATED),
        _branch("main", ids["m4"], RefAction.CREATED),
        _branch("orphan", ids["o0"], RefAction.CREATED),
    )
    reports = enrich(push, reader, max_refs=10, history=HistoryOptions()).reports
    at_main, default, orphan = (report.history for report in reports)
    assert at_main is not None and (at_main.relation, at_main.total) == (HistoryRelation.BRANCHED, 0)
    assert default is not None and default.relation is HistoryRelation.DEFAULT_BRANCH
    assert _subjects(default)[0] == "main commit 4" and default.total == 5
    assert orphan is not None and orphan.relation is HistoryRelation.UNRELATED


def test_an_update_uses_the_recorded_head_and_a_first_sight_shows_the_tip(
    reader: CommitReader, history_repo: HistoryRepo
) -> None:
    ids = history_repo.ids
    push = _push(_branch("main", ids["m4"]), _branch("long", ids["l1"]))
    options = HistoryOptions(previous_heads={"refs/heads/main": ids["m2"]})
    main, long = enrich(push, reader, max_refs=10, history=options).reports
    assert main.history is not None and _subjects(main.history) == ["main commit 4", "main commit 3"]
    assert long.history is None and long.commit is not None and long.commit.commit_id == ids["l1"]


def test_a_late_update_is_left_out_of_the_notification(
    reader: CommitReader, history_repo: HistoryRepo
) -> None:
    ids = history_repo.ids
    late = _branch("at-main", ids["m3"])
    push = _push(late, _branch("main", ids["m4"]))
    options = HistoryOptions(previous_heads={"refs/heads/at-main": ids["m4"]})
    notification = enrich(push, reader, max_refs=10, history=options)
    assert notification.late == (late,)
    assert [report.ref_change.short_name for report in notification.reports] == ["main"]
    assert notification.push.ref_changes == (push.ref_changes[1],)


def test_an_annotated_tag_is_peeled_to_its_commit(reader: CommitReader, history_repo: HistoryRepo) -> None:
    ids = history_repo.ids
    tag = RefChange("refs/tags/v1", RefKind.TAG, "v1", RefAction.CREATED, ids["tag_v1"])
    report = enrich(_push(tag), reader, max_refs=10).reports[0]
    assert report.commit is not None and report.commit.commit_id == ids["m3"]
    assert report.tag_object_id == ids["tag_v1"] and report.commit_error is None


def test_a_deleted_annotated_tag_shows_the_commit_its_object_named(
    reader: CommitReader, history_repo: HistoryRepo
) -> None:
    """The deleted tag's object is still readable: its commit is the tag's last one."""
    ids = history_repo.ids
    tag = RefChange("refs/tags/gone", RefKind.TAG, "gone", RefAction.DELETED, ids["tag_v1"])
    report = enrich(_push(tag), reader, max_refs=10).reports[0]
    assert report.commit is not None and report.commit.commit_id == ids["m3"]
    assert report.tag_object_id == ids["tag_v1"]


# -- issue 17, item 4: a tag shows the commit the pushed object names, not where its name points now


@pytest.mark.parametrize("action", [RefAction.CREATED, RefAction.UPDATED, RefAction.DELETED])
def test_a_retagged_annotated_tag_shows_the_commit_of_the_object_pushed(
    reader: CommitReader, history_repo: HistoryRepo, action: RefAction
) -> None:
    ids = history_repo.ids
    tag = RefChange("refs/tags/v2", RefKind.TAG, "v2", action, ids["tag_v2_first"])
    report = enrich(_push(tag), reader, max_refs=10).reports[0]
    assert report.commit is not None and report.commit.commit_id == ids["m1"]  # not m4, where v2 is now
    assert report.tag_object_id == ids["tag_v2_first"] and report.commit_error is None


@pytest.mark.parametrize("action", [RefAction.CREATED, RefAction.UPDATED, RefAction.DELETED])
def test_a_tag_object_that_can_no_longer_be_read_is_said_so(
    reader: CommitReader, history_repo: HistoryRepo, action: RefAction
) -> None:
    """The public drone tag sample: its v1.0 object is not in this repository, whose own v1.0
    names m2; the message must not show m2."""
    from handler.model import TAG_OBJECT_UNREADABLE
    from handler.preview import as_lambda_event
    from handler.render.push import render
    from handler.settings import RenderSettings
    from handler.sources.trigger import parse_event
    from tests.conftest import load_event

    [sample] = parse_event(as_lambda_event(load_event("dronescm_tag_create.sns_envelope.json")))
    sampled = sample.ref_changes[0]
    assert (sampled.full_name, sampled.kind) == ("refs/tags/v1.0", RefKind.TAG)
    tag = RefChange(sampled.full_name, RefKind.TAG, sampled.short_name, action, sampled.commit_id)
    notification = enrich(_push(tag), reader, max_refs=10)
    report = notification.reports[0]
    assert report.commit is None and report.commit_error == TAG_OBJECT_UNREADABLE
    text = json.dumps(render(notification, RenderSettings()))
    assert history_repo.ids["m2"][:7] not in text and "can no longer be read" in text


def _commit(commit_id: str, *parents: str, second: int = 0) -> Commit:
    when = Person("Ana", "ana@example.com", datetime(2026, 11, 23, 12, 0, second, tzinfo=UTC))
    return Commit(commit_id, f"commit {commit_id}", when, when, parents)


def test_commits_stamped_the_same_second_are_listed_children_first() -> None:
    """A rebase or a script stamps its commits with one second: the parent links order them."""
    chain = [_commit("e", "d"), _commit("a"), _commit("c", "b"), _commit("d", "c"), _commit("b", "a")]
    found = {commit.commit_id: commit for commit in sorted(chain, key=lambda c: c.commit_id)}
    assert [commit.commit_id for commit in newest_first(found)] == ["e", "d", "c", "b", "a"]


def test_a_merge_lists_each_line_after_its_children_and_by_date_between_lines() -> None:
    found = {
        "m": _commit("m", "x1", "y1", second=9),
        "x1": _commit("x1", "x0", second=5),
        "y1": _commit("y1", "y0", second=7),
        "x0": _commit("x0", second=6),  # newer than its child: clocks disagree, the link wins
        "y0": _commit("y0", second=1),
    }
    assert [commit.commit_id for commit in newest_first(found)] == ["m", "y1", "x1", "x0", "y0"]


def test_a_commit_answered_under_another_id_is_still_ordered_by_its_links() -> None:
    """A reader may answer an abbreviated id with the full one: the walk keys it by the asked id."""
    found = {"abc": _commit("abc", "p1full", second=1), "p1": _commit("p1full", second=1)}
    assert [commit.commit_id for commit in newest_first(found)] == ["abc", "p1full"]


def test_parent_links_that_loop_still_list_every_commit_once() -> None:
    found = {"a": _commit("a", "b", second=2), "b": _commit("b", "a", second=1), "c": _commit("c", second=3)}
    assert sorted(commit.commit_id for commit in newest_first(found)) == ["a", "b", "c"]
    assert len(newest_first(found)) == 3


def test_codecommit_peels_the_tag_object_id_and_never_asks_for_the_tags_name() -> None:
    """The CodeCommit reader's requests, checked by botocore's Stubber against the service model:
    GetCommit refuses the tag object's id, GetFolder is asked for that id (not ``refs/tags/v2``)."""
    from botocore.stub import Stubber

    client = codecommit_client("https://codecommit.us-east-2.amazonaws.com")
    tag_object, commit_id = "7" * 40, "c" * 40
    raw_commit = {
        "commitId": commit_id,
        "treeId": "t" * 40,
        "parents": [],
        "message": "release\n",
        "author": {"name": "Ana", "email": "ana@example.com", "date": "1484167798 -0800"},
        "committer": {"name": "Ana", "email": "ana@example.com", "date": "1484167798 -0800"},
    }
    with Stubber(client) as stubber:
        stubber.add_client_error("get_commit", "CommitIdDoesNotExistException", http_status_code=400)
        stubber.add_response(
            "get_folder",
            {"commitId": commit_id, "folderPath": "/", "treeId": "t" * 40},
            {"repositoryName": REPOSITORY, "commitSpecifier": tag_object, "folderPath": "/"},
        )
        stubber.add_response(
            "get_commit", {"commit": raw_commit}, {"repositoryName": REPOSITORY, "commitId": commit_id}
        )
        tag = RefChange("refs/tags/v2", RefKind.TAG, "v2", RefAction.CREATED, tag_object)
        report = enrich(_push(tag), CodeCommitReader(client, REPOSITORY), max_refs=10).reports[0]
        stubber.assert_no_pending_responses()
    assert report.commit is not None and report.commit.commit_id == commit_id
    assert report.tag_object_id == tag_object


def test_codecommit_says_so_when_the_tag_object_cannot_be_peeled() -> None:
    from botocore.stub import Stubber

    from handler.model import TAG_OBJECT_UNREADABLE

    client = codecommit_client("https://codecommit.us-east-2.amazonaws.com")
    tag_object = "7" * 40
    with Stubber(client) as stubber:
        stubber.add_client_error("get_commit", "CommitIdDoesNotExistException", http_status_code=400)
        stubber.add_client_error("get_folder", "CommitDoesNotExistException", http_status_code=400)
        tag = RefChange("refs/tags/v2", RefKind.TAG, "v2", RefAction.CREATED, tag_object)
        report = enrich(_push(tag), CodeCommitReader(client, REPOSITORY), max_refs=10).reports[0]
        stubber.assert_no_pending_responses()
    assert report.commit is None and report.commit_error == TAG_OBJECT_UNREADABLE


# -- issue 17, item 2: GetMergeOptions' "can't compare" codes post the tip, on every path -----------


def _cannot_compare_codes() -> list[str]:
    """Every code botocore's model lists for GetMergeOptions that the table calls unreadable."""
    from botocore.loaders import Loader
    from botocore.model import ServiceModel

    from handler.aws.errors import Handling, meaning

    model = ServiceModel(Loader().load_service_model("codecommit", "service-2"), "codecommit")
    codes = [shape.name for shape in model.operation_model("GetMergeOptions").error_shapes]
    return [
        code
        for code in codes
        if (found := meaning("codecommit", code)) and found.handling is Handling.UNREADABLE
    ]


CANNOT_COMPARE_CODES = _cannot_compare_codes()


def test_the_size_limits_are_among_the_cannot_compare_codes() -> None:
    assert {"MaximumFileContentToLoadExceededException", "MaximumItemsToCompareExceededException"} <= set(
        CANNOT_COMPARE_CODES
    )


@pytest.fixture
def refusing_standin(history_repo: HistoryRepo) -> Iterator[codecommit.CodeCommitStandIn]:
    with codecommit.running({REPOSITORY: history_repo.path}) as stand_in:
        yield stand_in


@pytest.mark.parametrize("code", CANNOT_COMPARE_CODES)
def test_an_update_that_cannot_be_compared_shows_the_tip(
    refusing_standin: codecommit.CodeCommitStandIn, history_repo: HistoryRepo, code: str
) -> None:
    ids = history_repo.ids
    refusing_standin.inject(codecommit.Fault(code=code, message="no", count=100, operation="GetMergeOptions"))
    reader = CodeCommitReader(codecommit_client(refusing_standin.url), REPOSITORY)
    push = _push(_branch("main", ids["m4"]))
    [report] = enrich(
        push, reader, max_refs=10, history=HistoryOptions(previous_heads={"refs/heads/main": ids["m2"]})
    ).reports
    assert report.history is None and report.commit is not None and report.commit.commit_id == ids["m4"]


@pytest.mark.parametrize("code", CANNOT_COMPARE_CODES)
def test_a_new_branch_that_cannot_be_compared_with_the_default_branch_shows_the_tip(
    refusing_standin: codecommit.CodeCommitStandIn, history_repo: HistoryRepo, code: str
) -> None:
    ids = history_repo.ids
    refusing_standin.inject(codecommit.Fault(code=code, message="no", count=100, operation="GetMergeOptions"))
    reader = CodeCommitReader(codecommit_client(refusing_standin.url), REPOSITORY)
    push = _push(_branch("feature", ids["f1"], RefAction.CREATED))
    [report] = enrich(push, reader, max_refs=10, history=HistoryOptions()).reports
    assert report.history is None and report.commit is not None and report.commit.commit_id == ids["f1"]


@pytest.mark.parametrize("code", CANNOT_COMPARE_CODES)
def test_a_merge_parent_that_cannot_be_compared_makes_the_count_a_lower_bound(
    refusing_standin: codecommit.CodeCommitStandIn, history_repo: HistoryRepo, code: str
) -> None:
    """The new branch's merge base is read (one call); the merged parent's own one is refused."""
    ids = history_repo.ids
    refusing_standin.inject(
        codecommit.Fault(code=code, message="no", count=100, operation="GetMergeOptions", after=1)
    )
    reader = CodeCommitReader(codecommit_client(refusing_standin.url), REPOSITORY)
    push = _push(_branch("merged", ids["merge"], RefAction.CREATED))
    [report] = enrich(push, reader, max_refs=10, history=HistoryOptions()).reports
    assert report.history is not None and report.history.relation is HistoryRelation.BRANCHED
    assert report.history.base_id == ids["m4"] and not report.history.total_exact
    assert _subjects(report.history)[0] == "Merge feature"
