"""A :class:`~handler.enrich.reader.CommitReader` backed by a local git repository.

It answers exactly what CodeCommit would: GetCommit's fields, and per-parent differences as
additions, modifications and deletions (no rename detection, like GetDifferences). An id that is
not a commit, such as an annotated tag's object id, is unavailable here just as it is there, and
for the same stated reason.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from handler.aws.errors import NOT_A_COMMIT
from handler.enrich.reader import pair_renames, parse_git_date
from handler.errors import CommitUnavailable
from handler.model import ChangeType, Commit, EntryKind, FileChange, Person, TagAnnotation

_FIELDS = ("%H", "%P", "%an", "%ae", "%ad", "%cn", "%ce", "%cd", "%B")


class LocalGitReader:
    """Reads commits from the git repository at ``repo_path`` with the ``git`` command."""

    def __init__(self, repo_path: Path | str) -> None:
        self.repo_path = Path(repo_path)

    def git(self, *args: str) -> bytes:
        """Run one git command in the repository and return its standard output."""
        return subprocess.run(
            ["git", "-C", str(self.repo_path), *args],
            check=True,
            capture_output=True,
        ).stdout

    def object_type(self, object_id: str) -> str | None:
        """``commit``, ``tag``, ``tree``, ``blob``, or None for an unknown id."""
        try:
            return self.git("cat-file", "-t", object_id).decode().strip()
        except subprocess.CalledProcessError:
            return None

    def get_commit(self, commit_id: str) -> Commit:
        """``git show`` for one commit, in CodeCommit's shape."""
        if self.object_type(commit_id) != "commit":
            raise CommitUnavailable(commit_id, NOT_A_COMMIT)
        output = self.git("show", "-s", "--date=raw", "--format=" + "%x00".join(_FIELDS), commit_id, "--")
        fields = output.decode("utf-8", errors="replace").split("\x00", len(_FIELDS) - 1)
        full_id, parents, a_name, a_email, a_date, c_name, c_email, c_date, message = fields
        return Commit(
            commit_id=full_id,
            message=message.rstrip("\n") + "\n" if message.strip() else "",
            author=Person(a_name, a_email, parse_git_date(a_date)),
            committer=Person(c_name, c_email, parse_git_date(c_date)),
            parent_ids=tuple(parents.split()),
        )

    def get_differences(self, commit_id: str, parent_id: str | None) -> tuple[FileChange, ...]:
        """``git diff-tree`` of the commit against one parent, or against nothing for a root."""
        if self.object_type(commit_id) != "commit":
            raise CommitUnavailable(commit_id, NOT_A_COMMIT)
        base = ["diff-tree", "-r", "-z", "--raw", "--no-renames", "--no-abbrev", "--no-commit-id"]
        if parent_id is None:
            output = self.git(*base, "--root", commit_id, "--")
        else:
            output = self.git(*base, parent_id, commit_id, "--")
        return pair_renames(_parse_raw_diff(output))

    def get_commits(self, commit_ids: Sequence[str]) -> dict[str, Commit]:
        """Each readable commit of ``commit_ids``, by id (unreadable ones are left out)."""
        found: dict[str, Commit] = {}
        for commit_id in dict.fromkeys(commit_ids):
            try:
                commit = self.get_commit(commit_id)
            except CommitUnavailable:
                continue
            found[commit.commit_id] = commit
        return found

    def merge_base(self, first: str, second: str) -> str | None:
        """``git merge-base``: None when the histories are unrelated."""
        first_id, second_id = self.resolve_commit(first), self.resolve_commit(second)
        for specifier, resolved in ((first, first_id), (second, second_id)):
            if resolved is None:
                raise CommitUnavailable(specifier, NOT_A_COMMIT)
        try:
            return self.git("merge-base", str(first_id), str(second_id)).decode().strip() or None
        except subprocess.CalledProcessError:
            return None

    def branch_head(self, branch: str) -> str | None:
        """The commit ``refs/heads/<branch>`` points at, or None."""
        return self.resolve_commit(f"refs/heads/{branch}")

    def default_branch(self) -> str | None:
        """What CodeCommit would call the repository's default branch, or None.

        In a clone that is the remote's (``origin/HEAD``). A working repository's HEAD only says
        what is checked out, so ``main`` or ``master`` win when they exist; HEAD's branch is the
        last resort (a bare repository's HEAD is its default branch).
        """
        candidates = []
        for ref in ("refs/remotes/origin/HEAD", "HEAD"):
            try:
                name = self.git("symbolic-ref", "-q", "--short", ref).decode().strip()
            except subprocess.CalledProcessError:
                continue
            candidates.append(name.removeprefix("origin/") if ref != "HEAD" else name)
            if ref != "HEAD":
                break
        else:
            candidates[:0] = ["main", "master"]
        for name in candidates:
            if name and self.branch_head(name):
                return name
        return None

    def tag_annotation(self, object_id: str) -> TagAnnotation | None:
        """``git cat-file tag``: the tagger and message of an annotated tag object; None otherwise."""
        if self.object_type(object_id) != "tag":
            return None
        raw = self.git("cat-file", "tag", object_id).decode("utf-8", errors="replace")
        header, _, message = raw.partition("\n\n")
        tagger = Person("", "", None)
        for line in header.splitlines():
            if line.startswith("tagger "):
                name, _, rest = line.removeprefix("tagger ").partition(" <")
                email, _, date = rest.partition("> ")
                tagger = Person(name, email, parse_git_date(date))
        return TagAnnotation(tagger, message.split("-----BEGIN PGP SIGNATURE-----", 1)[0].strip())

    def resolve_commit(self, specifier: str) -> str | None:
        """``git rev-parse <specifier>^{commit}``: a tag is peeled to its commit; None if unknown."""
        if specifier.startswith("-"):
            return None
        try:
            output = self.git("rev-parse", "--verify", "-q", f"{specifier}^{{commit}}", "--")
        except subprocess.CalledProcessError:
            return None
        return output.decode().split()[0] if output.strip() else None


def _parse_raw_diff(output: bytes) -> list[tuple[FileChange, str | None, str | None]]:
    """Parse ``git diff-tree --raw -z`` output: ``:<old mode> <new mode> <old> <new> <X>\\0<path>\\0``;
    each change with its blob ids before and after (None where there is none)."""
    parts = output.split(b"\x00")
    changes: list[tuple[FileChange, str | None, str | None]] = []
    for header, raw_path in zip(parts[0::2], parts[1::2], strict=False):
        if not header.startswith(b":"):
            continue
        old_mode, new_mode, old_id, new_id, status = header[1:].decode().split(" ")
        path = raw_path.decode("utf-8", errors="replace")
        change_type = {"A": ChangeType.ADDED, "D": ChangeType.DELETED}.get(status[:1], ChangeType.MODIFIED)
        mode = old_mode if change_type is ChangeType.DELETED else new_mode
        old_kind = None
        if change_type is ChangeType.MODIFIED and old_mode != new_mode:
            old_kind = EntryKind.from_mode(old_mode)
        change = FileChange(change_type, path, EntryKind.from_mode(mode), old_kind)
        changes.append(
            (change, None if set(old_id) == {"0"} else old_id, None if set(new_id) == {"0"} else new_id)
        )
    return changes
