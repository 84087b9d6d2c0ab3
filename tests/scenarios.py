"""A real git repository holding every case the notifier must render, and the events that push them.

The repository is built with fixed identities and dates, so its commit ids, and therefore the
golden payloads, are the same on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handler.demo import ScriptedGitRepo, trigger_event

REPOSITORY = "scenario-repo"
REPOSITORY_ARN = f"arn:aws:codecommit:us-east-2:111122223333:{REPOSITORY}"
ALICE = "arn:aws:iam::111122223333:user/engineering/alice"
ASSUMED = "arn:aws:sts::111122223333:assumed-role/DeveloperRole/alice@example.com"
ROOT_USER = "arn:aws:iam::111122223333:root"
FEDERATED = "arn:aws:sts::111122223333:federated-user/carol"
GONE_COMMIT = "b74b1c26a4e8eca11baf89a40408c073be0ed38b"
BULK_FILES = 260
#: A branch name as long as some teams write them (issue 18: the fitting must keep it whole).
LONG_NAME = "payments-service-rate-limiting-with-per-tenant-budgets-and-retry-after-headers"


@dataclass(frozen=True)
class ScenarioRepo:
    path: Path
    commits: dict[str, str]


def build_scenario_repo(path: Path) -> ScenarioRepo:
    path.mkdir(parents=True)
    repo = ScriptedGitRepo(path)
    repo.git("init", "-q", "-b", "main")
    commits: dict[str, str] = {}
    repo.write("README.md", "# scenario\n")
    repo.write("src/app.py", "print('hello')\n")
    commits["root"] = repo.commit("Initial commit\n\nThe first commit has no parent.")

    repo.git("checkout", "-q", "-b", "feature/login-v2")
    repo.write("src/app.py", "print('login')\n")
    repo.write("src/login.py", "def login(): ...\n")
    commits["feature"] = repo.commit("Add login v2 form\n\nReplaces the old form.\nCloses #12.")

    repo.write("tools/run.sh", "#!/bin/sh\n")
    (path / "tools/run.sh").chmod(0o755)
    (path / "src/app.py").chmod(0o755)
    (path / "LINK").symlink_to("README.md")
    commits["modes"] = repo.commit(
        "Add tooling: symlink, executable, submodule",
        gitlinks=("160000,4b825dc642cb6eb9a060e54bf8d69288fbee4904,vendor/lib",),
    )

    repo.git("checkout", "-q", "-b", "i18n/übersetzung", commits["root"])
    repo.write("docs/grüße.md", "Grüße 👋\n")
    commits["i18n"] = repo.commit(
        "Übersetzung hinzufügen 🌍✨\n\n日本語のメッセージ、emoji 👩‍👩‍👧 and a flag 🇺🇦.",
        author=("Zoë Ångström", "zoe@example.com"),
    )

    repo.git("checkout", "-q", "-b", "hotfix/<!here>", commits["root"])
    repo.write("src/app.py", "print('fixed')\n")
    commits["hostile"] = repo.commit(
        "Fix <!channel> & <@U024BE7LH> ping @everyone\n\n<https://evil.example|click here> <!subteam^S1>",
        author=("Mallory <!channel>", "m@<!here>.example"),
    )

    repo.git("checkout", "-q", "-b", "bulk/generated", commits["root"])
    for index in range(BULK_FILES):
        repo.write(f"gen/file_{index:03d}.txt", f"{index}\n")
    (path / "README.md").unlink()
    commits["bulk"] = repo.commit("Generate 260 files and drop the README")

    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "feature/login-v2", "-m", "Merge branch 'feature/login-v2'")
    commits["merge"] = repo.git("rev-parse", "HEAD")
    repo.git("tag", "-a", "v1.0", "-m", "Release 1.0")
    commits["annotated_tag"] = repo.git("rev-parse", "refs/tags/v1.0")
    repo.git("tag", "v1.0-light")

    # Whole pushes (added last, so every id above stays the same): main moves on by three commits,
    # a branch is rewritten, a branch gains fifteen commits, and an unmerged branch has two.
    for index in range(1, 4):
        repo.write("src/app.py", f"print('step {index}')\n")
        commits[f"main_{index}"] = repo.commit(
            f"Step {index} of the rollout", author=("Bob", "bob@example.com")
        )
    repo.git("checkout", "-q", "-b", "feature/rewrite", commits["root"])
    for index in range(1, 3):
        repo.write("rewrite.txt", f"draft {index}\n")
        commits[f"doomed_{index}"] = repo.commit(f"Draft {index} (to be rewritten)")
    repo.git("checkout", "-q", "-B", "feature/rewrite", commits["root"])
    repo.write("rewrite.txt", "final\n")
    commits["rewritten"] = repo.commit("Rewrite the drafts as one commit")
    repo.git("checkout", "-q", "-b", "bulk/history", commits["main_3"])
    for index in range(1, 16):
        repo.write("history.txt", f"{index}\n")
        commits[f"history_{index}"] = repo.commit(f"History commit {index}")
    repo.git("checkout", "-q", "-b", "feature/payments", commits["main_3"])
    repo.write("src/payments.py", "def pay(): ...\n")
    commits["payments_1"] = repo.commit("Add the payments module")
    repo.write("src/payments.py", "def pay(amount): ...\n")
    repo.write("docs/payments.md", "# Payments\n")
    commits["payments_2"] = repo.commit("Take an amount, and document it")
    # Issue 18 (added last, so every id above stays the same): a push of five commits whose
    # files changed as a whole differ from its newest commit's, one of them a rename.
    repo.git("checkout", "-q", "-b", "feature/five", commits["main_3"])
    repo.write("src/limits.py", "LIMIT = 1\n")
    commits["five_1"] = repo.commit("Add rate limits", author=("Bob", "bob@example.com"))
    repo.write("src/limits.py", "LIMIT = 2\n")
    commits["five_2"] = repo.commit("Raise the limit", author=("Bob", "bob@example.com"))
    (path / "docs").mkdir(exist_ok=True)
    repo.git("mv", "README.md", "docs/README.md")
    commits["five_3"] = repo.commit("Move the README under docs/", author=("Bob", "bob@example.com"))
    repo.write("docs/limits.md", "# Limits\n")
    commits["five_4"] = repo.commit("Document the limits", author=("Bob", "bob@example.com"))
    repo.write("src/limits.py", "LIMIT = 3\n")
    commits["five_5"] = repo.commit(
        "Tune the limit (see http://wiki.example/limits_(v2))", author=("Bob", "bob@example.com")
    )
    repo.git("checkout", "-q", "main")
    return ScenarioRepo(path, commits)


def ref(commit: str, name: str, **flags: bool) -> dict[str, Any]:
    return {"commit": commit, "ref": name, **flags}


def scenario_events(commits: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The golden scenarios: name → the SNS event CodeCommit would send."""

    def event(*references: dict[str, Any], pusher: str = ALICE, **kwargs: Any) -> dict[str, Any]:
        return trigger_event(list(references), pusher_arn=pusher, repository_arn=REPOSITORY_ARN, **kwargs)

    return {
        "push_to_slash_branch": event(ref(commits["modes"], "refs/heads/feature/login-v2")),
        "new_branch_assumed_role": event(
            ref(commits["feature"], "refs/heads/feature/login-v2", created=True), pusher=ASSUMED
        ),
        "deleted_branch_commit_gone": event(ref(GONE_COMMIT, "refs/heads/feature/old", deleted=True)),
        "deleted_branch_commit_kept": event(
            ref(commits["feature"], "refs/heads/feature/login-v1", deleted=True), pusher=FEDERATED
        ),
        "new_tag_lightweight": event(ref(commits["merge"], "refs/tags/v1.0-light", created=True)),
        "new_tag_annotated": event(ref(commits["annotated_tag"], "refs/tags/v1.0", created=True)),
        "deleted_tag_annotated": event(ref(commits["annotated_tag"], "refs/tags/v1.0", deleted=True)),
        "root_commit": event(ref(commits["root"], "refs/heads/main", created=True), pusher=ROOT_USER),
        "merge_commit": event(ref(commits["merge"], "refs/heads/main")),
        "many_files_paginated": event(ref(commits["bulk"], "refs/heads/bulk/generated")),
        "non_ascii_and_emoji": event(ref(commits["i18n"], "refs/heads/i18n/übersetzung", created=True)),
        "mention_injection": event(ref(commits["hostile"], "refs/heads/hotfix/<!here>", created=True)),
        "two_refs_one_record": event(
            ref(commits["merge"], "refs/heads/release/2026.11", created=True),
            ref(commits["feature"], "refs/heads/feature/login-v2"),
        ),
        "test_trigger_with_reference": event(
            ref(commits["merge"], "refs/heads/main"), event_name="TriggerEventTest"
        ),
        "whole_push_three_commits": event(ref(commits["main_3"], "refs/heads/main")),
        "whole_push_fifteen_commits": event(ref(commits["history_15"], "refs/heads/bulk/history")),
        "force_push": event(ref(commits["rewritten"], "refs/heads/feature/rewrite")),
        "new_branch_with_commits": event(
            ref(commits["payments_2"], "refs/heads/feature/payments", created=True)
        ),
        "whole_push_five_commits_with_a_rename": event(ref(commits["five_5"], "refs/heads/feature/five")),
        "two_tags_one_commit": event(
            ref(commits["annotated_tag"], "refs/tags/v1.0", created=True),
            ref(commits["merge"], "refs/tags/v1.0-light", created=True),
        ),
        "new_branch_at_a_commit_on_main": event(
            ref(commits["merge"], "refs/heads/release/2026.12", created=True)
        ),
        "ten_long_branch_names": event(
            *(
                ref(commits[key], f"refs/heads/feature/{index}-{LONG_NAME}", created=True)
                for index, key in enumerate(["payments_2", "five_5", "history_15", "rewritten", "i18n"] * 2)
            )
        ),
    }


#: For the whole-push scenarios: the head each reference had before the push (a commit key of
#: :func:`build_scenario_repo`), recorded in the notifier's state before the event arrives.
PREVIOUS_HEADS: dict[str, dict[str, str]] = {
    "whole_push_three_commits": {"refs/heads/main": "merge"},
    "whole_push_fifteen_commits": {"refs/heads/bulk/history": "main_3"},
    "force_push": {"refs/heads/feature/rewrite": "doomed_2"},
    "whole_push_five_commits_with_a_rename": {"refs/heads/feature/five": "main_3"},
}
