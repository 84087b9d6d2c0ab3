"""The embedded default for ``make demo``: a small, realistic repository and the pushes made to it.

:func:`demo_pushes` builds a git repository, push by push, with what real teams push: a root commit,
``develop``, a ``feature/login-v2`` branch with non-ASCII text and emoji, a commit message that
tries to ping ``<!channel>``, a merge, an annotated and a lightweight tag, a ``release/2026.11``
branch, a symlink, a submodule entry and a deleted branch. Each push becomes the exact trigger
event CodeCommit would send, so the demo runs the Lambda's pipeline unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEMO_REPOSITORY_ARN = "arn:aws:codecommit:eu-west-1:123456789012:payments-service"
ANA = "arn:aws:sts::123456789012:assumed-role/DeveloperRole/ana.nunez@example.com"
BOB = "arn:aws:iam::123456789012:user/bob"


@dataclass(frozen=True)
class DemoPush:
    """One push to the demo repository: what it was, and the SNS event it produced."""

    title: str
    event: dict[str, Any]


def trigger_event(
    references: list[dict[str, Any]],
    *,
    pusher_arn: str,
    repository_arn: str = DEMO_REPOSITORY_ARN,
    event_time: str = "2026-11-20T09:30:00.000+0000",
    event_name: str = "ReferenceChanges",
    event_id: str = "00000000-0000-4000-8000-000000000000",
    message_id: str | None = None,
) -> dict[str, Any]:
    """The SNS-to-Lambda event CodeCommit's trigger produces for these references.

    ``message_id`` is the SNS ``MessageId``, which the notifier uses to recognise a redelivery;
    it defaults to ``event_id``.
    """
    region = repository_arn.split(":")[3]
    record = {
        "awsRegion": region,
        "codecommit": {"references": references},
        "customData": None,
        "eventId": event_id,
        "eventName": event_name,
        "eventPartNumber": 1,
        "eventSource": "aws:codecommit",
        "eventSourceARN": repository_arn,
        "eventTime": event_time,
        "eventTotalParts": 1,
        "eventTriggerConfigId": "6a4d86d8-859d-45d4-832f-ce9cb5e28055",
        "eventTriggerName": "slack-notifier",
        "eventVersion": "1.0",
        "userIdentityARN": pusher_arn,
    }
    message = json.dumps({"Records": [record]})
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:eu-west-1:123456789012:codecommit-slack:1",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id or event_id,
                    "TopicArn": "arn:aws:sns:eu-west-1:123456789012:codecommit-slack",
                    "Subject": f"UPDATE: AWS CodeCommit {region} push: {repository_arn.split(':')[5]}",
                    "Message": message,
                    "Timestamp": "2026-11-20T09:30:00.100Z",
                },
            }
        ]
    }


class ScriptedGitRepo:
    """Just enough git to script a history with fixed identities and dates, so hashes are stable.

    Used by the demo and by the tests, which build their repositories the same way.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._clock = 1_763_600_000

    def git(self, *args: str, author: tuple[str, str] = ("Ana Núñez", "ana.nunez@example.com")) -> str:
        self._clock += 3_600
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": author[0],
            "GIT_AUTHOR_EMAIL": author[1],
            "GIT_COMMITTER_NAME": author[0],
            "GIT_COMMITTER_EMAIL": author[1],
            "GIT_AUTHOR_DATE": f"{self._clock} +0100",
            "GIT_COMMITTER_DATE": f"{self._clock} +0100",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        result = subprocess.run(
            ["git", "-C", str(self.path), *args], env=env, check=True, capture_output=True, text=True
        )
        return result.stdout.strip()

    def write(self, relative: str, content: str) -> None:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")

    def commit(self, message: str, *, gitlinks: tuple[str, ...] = (), **kwargs: Any) -> str:
        self.git("add", "-A")
        for gitlink in gitlinks:  # a submodule entry: mode 160000, no checkout on disk
            self.git("update-index", "--add", "--cacheinfo", gitlink)
        self.git("commit", "-q", "-m", message, **kwargs)
        return self.git("rev-parse", "HEAD")


#: How many pushes :func:`demo_pushes` makes.
DEMO_PUSH_COUNT = 9


def demo_pushes(path: Path) -> Iterator[DemoPush]:
    """Build the demo repository at ``path`` push by push, yielding each push as it happens.

    The caller runs each push through the pipeline before asking for the next one, so every push
    is read against the repository as it was at that moment (a new branch is compared with the
    ``main`` of its day, not a later one), with the notifier's state kept between them. Together
    they show what a channel sees over a day: a branch's first push, a new branch and what it
    brings, a push of several commits, a merge, a release with tags, a force push, the same SNS
    message delivered twice, and a branch deleted after its merge.
    """
    repo = init_demo_repository(path)
    bob = ("Bob Builder", "bob@example.com")
    count = 0

    def push(title: str, pusher: str, *references: dict[str, Any], message_id: str | None = None) -> DemoPush:
        nonlocal count
        count += 1
        message_id = message_id or f"demo-message-{count}"
        return DemoPush(title, trigger_event(list(references), pusher_arn=pusher, message_id=message_id))

    repo.write("README.md", "# payments-service\n")
    repo.write("src/payments/__init__.py", "")
    repo.write("src/payments/api.py", "def charge():\n    pass\n")
    root = repo.commit("Initial commit")
    yield push(
        "first push: main created with a root commit",
        BOB,
        {"commit": root, "ref": "refs/heads/main", "created": True},
    )

    login = _login_feature(repo, path)
    yield push(
        "a new branch and what it brings (non-ASCII, a symlink, a submodule)",
        ANA,
        {"commit": login, "ref": "refs/heads/feature/login-v2", "created": True},
    )

    repo.git("checkout", "-q", "-b", "develop", root)
    repo.write("src/payments/api.py", "def charge(amount):\n    return amount\n")
    hostile = repo.commit(
        "Fix <!channel> alert & <@U024BE7LH> @here noise in logs\n\n"
        "Commit text that tries to ping <!everyone> or link <https://evil.example|docs> "
        "is shown, never obeyed.",
        author=bob,
    )
    repo.write("src/payments/retry.py", "ATTEMPTS = 3\n")
    doomed = repo.commit("WIP: retry charges (do not merge)", author=bob)
    yield push(
        "a commit message that tries to ping the channel",
        BOB,
        {"commit": doomed, "ref": "refs/heads/develop", "created": True},
    )

    repo.git("checkout", "-q", "main")
    work = ""
    for subject, relative, content in (
        ("Add currency codes", "src/payments/currency.py", "CODES = ['EUR', 'USD']\n"),
        (
            "Validate amounts before charging",
            "src/payments/api.py",
            "def charge(amount):\n    assert amount\n",
        ),
        ("Document the charge API", "docs/api.md", "# charge(amount)\n"),
    ):
        repo.write(relative, content)
        work = repo.commit(subject, author=bob)
    yield push(
        "three commits pushed to main: every one listed", BOB, {"commit": work, "ref": "refs/heads/main"}
    )

    repo.git("merge", "-q", "--no-ff", "feature/login-v2", "-m", "Merge branch 'feature/login-v2'")
    merge = repo.git("rev-parse", "HEAD")
    yield push(
        "a merge into main: one file list per parent", ANA, {"commit": merge, "ref": "refs/heads/main"}
    )

    repo.git("tag", "-a", "v1.0.0", "-m", "Release 1.0.0")
    annotated_tag = repo.git("rev-parse", "refs/tags/v1.0.0")
    repo.git("branch", "release/2026.11", merge)
    repo.git("tag", "v1.0.0-rc1", merge)
    yield push(
        "one push, three references: a release branch and two tags",
        ANA,
        {"commit": merge, "ref": "refs/heads/release/2026.11", "created": True},
        {"commit": annotated_tag, "ref": "refs/tags/v1.0.0", "created": True},
        {"commit": merge, "ref": "refs/tags/v1.0.0-rc1", "created": True},
    )

    # Bob rewrites develop: the WIP commit is replaced by a finished one (a force push)
    repo.git("checkout", "-q", "develop")
    repo.git("reset", "-q", "--hard", hostile)
    repo.write("src/payments/retry.py", "ATTEMPTS = 3\nBACKOFF_SECONDS = 2\n")
    rewritten = repo.commit("Retry failed charges with backoff", author=bob)
    force = {"commit": rewritten, "ref": "refs/heads/develop"}
    yield push("develop force-pushed: the WIP commit replaced", BOB, force, message_id="demo-force-push")
    yield push("the same SNS message delivered again", BOB, force, message_id="demo-force-push")

    repo.git("checkout", "-q", "main")
    repo.git("branch", "-D", "feature/login-v2")
    yield push(
        "the feature branch deleted after the merge",
        ANA,
        {"commit": login, "ref": "refs/heads/feature/login-v2", "deleted": True},
    )


def init_demo_repository(path: Path) -> ScriptedGitRepo:
    """An empty git repository at ``path`` (created if needed) whose default branch is ``main``."""
    path.mkdir(parents=True, exist_ok=True)
    repo = ScriptedGitRepo(path)
    if not (path / ".git").exists():
        repo.git("init", "-q", "-b", "main")
    return repo


def _login_feature(repo: ScriptedGitRepo, path: Path) -> str:
    """``feature/login-v2``: non-ASCII text, emoji, an executable, a symlink and a submodule."""
    repo.git("checkout", "-q", "-b", "feature/login-v2")
    repo.write("src/payments/login.py", "def login():\n    return 'ok'\n")
    repo.write("docs/connexion-sécurisée.md", "# Connexion sécurisée 🔐\n")
    repo.write("scripts/migrate.sh", "#!/bin/sh\necho migrate\n")
    (path / "scripts/migrate.sh").chmod(0o755)
    os.symlink("docs/connexion-sécurisée.md", path / "SECURITY.md")
    return repo.commit(
        "Añadir validación de contraseñas 🔐 (login v2)\n\n"
        "Passwords are now checked against the breach list before login.\n"
        "Résumé: « plus sûr », 更安全, безопаснее.\n\n"
        "Refs: PAY-142",
        gitlinks=("160000,4b825dc642cb6eb9a060e54bf8d69288fbee4904,vendor/sdk",),
    )
