"""The repositories the benchmarks push: built with git, with fixed dates, like the tests' scenarios."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from handler.demo import ScriptedGitRepo

REPOSITORY = "bench-repo"
REPOSITORY_ARN = f"arn:aws:codecommit:us-east-1:123456789012:{REPOSITORY}"
PUSHER = "arn:aws:sts::123456789012:assumed-role/DeveloperRole/dev@example.com"
OCTOPUS_PARENTS = 8
BIG_FILES = 2_000
BIG_MESSAGE_BYTES = 64 * 1024
CHAIN_BRANCH = "chain"
HISTORY_BRANCH = "history"
#: Commits added by each push to HISTORY_BRANCH after its first, whose head is recorded first.
HISTORY_PUSHES = (1, 3, 10, 60)


@dataclass(frozen=True)
class BenchRepo:
    path: Path
    normal: str  # one commit, three files changed
    merge: str  # a two-parent merge
    big: str  # 2,000 files added in one commit
    octopus: str  # an 8-parent merge, 2,000 files against parent 1, a 64 KB message
    chain: tuple[str, ...]  # CHAIN_BRANCH: commits of three changed files each, oldest first
    history: tuple[str, ...]  # HISTORY_BRANCH: a first commit, then one tip per HISTORY_PUSHES


def _big_message() -> str:
    line = "Refactor the payment pipeline <!here> & ünïcode 🚀 — "
    body = (line * (BIG_MESSAGE_BYTES // len(line.encode()) + 1)).encode()[:BIG_MESSAGE_BYTES]
    return "Octopus merge of eight release trains\n\n" + body.decode("utf-8", errors="ignore")


def _linear(repo: ScriptedGitRepo, branch: str, start: str, count: int) -> list[str]:
    """``count`` commits on a new ``branch`` from ``start``, each changing three files, oldest first."""
    repo.git("checkout", "-q", "-b", branch, start)
    commits = []
    for index in range(count):
        for name in ("a.py", "b.py", "c.py"):
            repo.write(f"src/{name}", f"x = {index}\n")
        commits.append(repo.commit(f"Step {index + 1} on {branch}\n\nA normal push."))
    return commits


def build_bench_repo(path: Path, *, chain_length: int = 20) -> BenchRepo:
    """Build the bench repository at ``path``; ``chain_length`` commits on CHAIN_BRANCH."""
    path.mkdir(parents=True)
    repo = ScriptedGitRepo(path)
    repo.git("init", "-q", "-b", "main")
    repo.write("README.md", "# bench\n")
    root = repo.commit("Initial commit")

    for name in ("a.py", "b.py", "c.py"):
        repo.write(f"src/{name}", "x = 1\n")
    normal = repo.commit("Add three modules\n\nA normal push.")

    repo.git("checkout", "-q", "-b", "topic", root)
    repo.write("docs/topic.md", "topic\n")
    repo.commit("Document the topic")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "topic", "-m", "Merge branch 'topic'")
    merge = repo.git("rev-parse", "HEAD")

    repo.git("checkout", "-q", "-b", "generated", root)
    for index in range(BIG_FILES):
        repo.write(f"generated/{index // 100:02d}/file_{index:04d}.txt", f"{index}\n")
    big = repo.commit("Generate 2,000 files")

    branches = []
    per_branch = BIG_FILES // (OCTOPUS_PARENTS - 1) + 1
    for branch in range(1, OCTOPUS_PARENTS):
        name = f"train-{branch}"
        repo.git("checkout", "-q", "-b", name, merge)
        for index in range(per_branch):
            number = (branch - 1) * per_branch + index
            if number < BIG_FILES:
                repo.write(f"trains/{branch}/file_{number:04d}.txt", f"{number}\n")
        repo.commit(f"Release train {branch}")
        branches.append(name)
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", *branches, "-m", _big_message())
    octopus = repo.git("rev-parse", "HEAD")

    chain = _linear(repo, CHAIN_BRANCH, normal, chain_length)
    history = _linear(repo, HISTORY_BRANCH, normal, 1 + sum(HISTORY_PUSHES))
    tips, pushed = [history[0]], 0
    for count in HISTORY_PUSHES:
        pushed += count
        tips.append(history[pushed])
    repo.git("checkout", "-q", "main")
    return BenchRepo(path, normal, merge, big, octopus, tuple(chain), tuple(tips))
